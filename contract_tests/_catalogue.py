"""The fact catalogue: every documented fact the suite checks, with a stable name and its source.

A fact is one promise of the contract, named so a report, a CI log and an issue can all
point at it (``create.size.accepted[16:9]``, ``callback.retry-delays``). Its source says
where the promise is written:

- ``bundle``: the bundled spec states it (a JSON pointer into ``spec/openapi.json``);
- ``overlay``: an action of ``spec/overlay.yaml`` states it (the action's target);
- ``notes``: the provider's documentation in prose, as ``docs/`` and the README record it
  (a section of the provider notes), where no schema can say it.

Facts the bundle states are derived from it (``catalogue()`` reads the bundle's enums,
limits and examples), so a change to the spec changes the catalogue without a Python edit.
``contract --list-facts`` prints it; the report's facts table shows each fact's verdict.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from evolink_spec import CREATE_PATH, TASK_PATH_PREFIX, Model

from ._invariants import ID_CREATED_SLACK
from ._spec_sources import (
    overlay_targets,
    request_property,
    request_schema,
    seed_request_property,
    spec_facts,
)

REQUEST_SCHEMA = "#/components/schemas/ImageGenerationRequest"
CANDIDATE_EXTENSIONS = ("jpeg", "jpg", "png", "webp", "JPG", "PNG", "gif", "bmp", "svg", "tiff")
"""Extensions tried against the bundle's ``image_urls`` pattern: those it matches are the
documented formats (accepted side), the others the refused side."""
CREATED_TOLERANCE = ID_CREATED_SLACK
"""Seconds ``created`` may differ from the suite's own clock when the create is answered."""
PUBLISHED_CLIENT_MEMBERS: dict[str, Any] = {
    "seed": 42,
    "nsfw_check": True,
    "n": 1,
    "quality": "standard",
    "mask_url": "https://contract-probe.invalid/mask.png",
}
"""Body members the seed does not list that the provider's published clients send (notes §6),
with harmless values (``.invalid`` never resolves, RFC 2606)."""
PUBLISHED_CLIENT_HEADERS: dict[str, str] = {
    "Idempotency-Key": "contract-probe-0001",
    "X-EvoLink-Client": "nanobanana-contract-suite",
}
"""Request headers published clients send (notes §6)."""

NOTES_CREATE = "notes §1 (create)"
NOTES_QUERY = "notes §2 (query)"
NOTES_CODES = "notes §3 (business codes)"
NOTES_CALLBACK = "notes §4 (callbacks)"
NOTES_OBSERVED = "notes §6 (published clients)"


@dataclass(frozen=True)
class Fact:
    """One documented promise.

    Args:
        name: stable name (``area.subject[value]``), used by the report and ``--list-facts``.
        statement: the promise, in one sentence.
        source: where it is written (``bundle: <pointer>``, ``overlay: <target>``, ``notes: ...``).
        probe: how the suite checks it: ``edge`` (a probe on each side, ``_edges``),
            ``callbacks`` (``--callbacks``), ``check:<name>`` (a check on every answer), or
            ``none`` (documented, but no run can probe it; ``why_not`` says why).
    """

    name: str
    statement: str
    source: str
    probe: str
    why_not: str = ""
    """For ``probe == "none"``: why no run can probe it (shown in the facts table)."""

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]


def _source(pointer: str, overlay_target: str | None = None, keyword: str | None = None) -> str:
    """``overlay: TARGET`` when the overlay's update at ``overlay_target`` sets ``keyword``;
    else ``bundle: POINTER``."""
    if overlay_target is not None:
        update = overlay_targets().get(overlay_target)
        if isinstance(update, dict) and (keyword is None or keyword in update):
            return f"overlay: {overlay_target}"
    return f"bundle: {pointer}"


def _property_target(name: str) -> str:
    return f"$.components.schemas.ImageGenerationRequest.properties.{name}"


def _enum_value_source(name: str, value: str) -> str:
    """A request enum value: from the seed, or added by the overlay."""
    seed_values = seed_request_property(name).get("enum", [])
    if value not in seed_values and overlay_targets().get(_property_target(name)) is not None:
        return f"overlay: {_property_target(name)}"
    return f"bundle: {REQUEST_SCHEMA}/properties/{name}/enum"


def documented_extensions() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(accepted, refused) file extensions, by matching the bundle's ``image_urls`` item pattern."""
    pattern = request_property("image_urls").get("items", {}).get("pattern")
    if not pattern:
        return (), ()
    compiled = re.compile(pattern)
    accepted = tuple(ext for ext in CANDIDATE_EXTENSIONS if compiled.search(f"https://x.invalid/ref.{ext}"))
    refused = tuple(ext for ext in CANDIDATE_EXTENSIONS if ext not in accepted)
    return accepted, refused


MODELS_VARIABLE = "NANOBANANA_CONTRACT_MODELS"
"""Comma-separated model names (or aliases): probe only these models' own facts
(``contract --models``); unset, every documented model."""


def selected_models() -> frozenset[str] | None:
    """The canonical names ``$NANOBANANA_CONTRACT_MODELS`` selects, or None for every model.
    Raises ``ValueError`` naming a name the spec does not document."""
    value = os.environ.get(MODELS_VARIABLE, "").strip()
    if not value:
        return None
    documented = spec_facts()
    chosen: set[str] = set()
    for name in filter(None, (part.strip() for part in value.split(","))):
        try:
            chosen.add(documented.model(name).name)
        except KeyError:
            known = ", ".join(sorted(documented.model_names))
            raise ValueError(f"unknown model {name!r} in {MODELS_VARIABLE}; documented: {known}") from None
    return frozenset(chosen) or None


def models() -> tuple[Model, ...]:
    """Every documented model (``evolink_spec``) the run selects, the default one first."""
    found = spec_facts().models
    default = spec_facts().default_model
    chosen = selected_models()
    kept = [model for model in found.values() if chosen is None or model.name in chosen]
    return tuple(sorted(kept, key=lambda model: model.name != default))


def canonical_model() -> str:
    """The model a create gets by default (the request schema's default)."""
    return spec_facts().default_model


def aliases() -> tuple[str, ...]:
    """Every documented alias of every model."""
    return tuple(alias for model in models() for alias in model.aliases)


def scoped(name: str, model: Model, value: str | None = None) -> str:
    """A per-model fact's name: ``name[value]`` with one model, ``name[model/value]`` (or
    ``name[model]``) once the spec documents several."""
    several = len(spec_facts().models) > 1
    if value is None:
        return f"{name}[{model.name}]" if several else name
    return f"{name}[{model.name}/{value}]" if several else f"{name}[{value}]"


def model_members(model: Model) -> dict[str, Any]:
    """The body members that reach ``model`` (none for the default one), with the one
    reference image a model that needs one must be sent (on a host that never resolves)."""
    members: dict[str, Any] = {} if model.name == canonical_model() else {"model": model.name}
    if model.image_urls is not None and model.image_urls.required:
        extension = model.image_urls.extensions[0] if model.image_urls.extensions else "png"
        members["image_urls"] = [f"https://contract-probe.invalid/ref-0.{extension}"]
    return members


def callback_url_limit() -> int:
    return spec_facts().callback_url.max_length


@dataclass(frozen=True)
class HostSpelling:
    """One spelling of a host ``callback_url`` must not reach."""

    kind: str
    """The class of address: loopback, private, link-local, unspecified."""
    host: str
    """As written in the URL's authority (brackets for IPv6)."""
    loopback: bool
    """The spelling means a loopback address: the probe points at the suite's dead loopback port."""


PRIVATE_HOSTS: tuple[HostSpelling, ...] = (
    HostSpelling("loopback", "127.0.0.1", True),
    HostSpelling("loopback", "127.1", True),
    HostSpelling("loopback", "2130706433", True),
    HostSpelling("loopback", "0x7f000001", True),
    HostSpelling("loopback", "0177.0.0.1", True),
    HostSpelling("loopback", "[::1]", True),
    HostSpelling("loopback", "[::ffff:127.0.0.1]", True),
    HostSpelling("loopback", "localhost", True),
    HostSpelling("loopback", "LOCALHOST.", True),
    HostSpelling("loopback", "probe.localhost", True),
    HostSpelling("private", "10.0.0.1", False),
    HostSpelling("private", "172.16.0.1", False),
    HostSpelling("private", "172.31.255.254", False),
    HostSpelling("private", "192.168.0.1", False),
    HostSpelling("private", "[fd00::1]", False),
    HostSpelling("link-local", "169.254.169.254", False),
    HostSpelling("link-local", "[fe80::1]", False),
    HostSpelling("unspecified", "0.0.0.0", False),
)
"""Each class of host the callback rules forbid (the bundle names 127.0.0.1, 10/8, 172.16/12 and
192.168/16 "and so on"), in the spellings resolvers accept."""


def _create_facts() -> list[Fact]:
    found: list[Fact] = []
    for model in models():
        for name in (model.name, *model.aliases):
            found.append(
                Fact(
                    f"create.model.accepted[{name}]",
                    f"a create with model {name} is accepted",
                    _enum_value_source("model", name),
                    "edge",
                )
            )
        for alias in model.aliases:
            found.append(
                Fact(
                    f"create.model.alias[{alias}]",
                    f"a create with the legacy name {alias} is answered as {model.name}",
                    f"overlay: {_property_target('model')}",
                    "edge",
                )
            )
    found.append(
        Fact(
            "create.model.refused-unknown",
            "a model outside the documented names is refused with 400",
            f"bundle: {REQUEST_SCHEMA}/properties/model/enum",
            "edge",
        )
    )
    for member in request_schema().get("required", []):
        found.append(
            Fact(
                f"create.required[{member}]",
                f"a create without {member} is refused with 400",
                f"bundle: {REQUEST_SCHEMA}/required",
                "edge",
            )
        )
    for model in models():
        for size in model.sizes:
            found.append(
                Fact(
                    scoped("create.size.accepted", model, size),
                    f"a create of {model.name} with size {size} is accepted",
                    f"bundle: {REQUEST_SCHEMA}/properties/size/enum",
                    "edge",
                )
            )
        if model.sizes:  # free pixel sizes only: no listed ratio to step outside of (the edges skip it too)
            found.append(
                Fact(
                    scoped("create.size.refused-unknown", model),
                    f"a create of {model.name} with a size outside its documented ratios is refused with 400",
                    f"bundle: {REQUEST_SCHEMA}/properties/size/enum",
                    "edge",
                )
            )
        prompt_limit = model.max_prompt_length
        found.append(
            Fact(
                scoped("create.prompt.max-length", model),
                f"a prompt of {prompt_limit} characters is accepted, {prompt_limit + 1} refused with 400",
                f"bundle: {REQUEST_SCHEMA}/properties/prompt/maxLength",
                "edge",
            )
        )
        images = model.max_image_urls
        if images is not None:  # a model that takes no reference images states no count
            found.append(
                Fact(
                    scoped("create.image_urls.max-items", model),
                    f"{images} reference images are accepted, {images + 1} refused with 400",
                    _source(
                        f"{REQUEST_SCHEMA}/properties/image_urls/maxItems", _property_target("image_urls"), "maxItems"
                    ),
                    "edge",
                )
            )
    accepted, refused = documented_extensions()
    items_source = _source(
        f"{REQUEST_SCHEMA}/properties/image_urls/items/pattern", _property_target("image_urls") + ".items", "pattern"
    )
    for ext in accepted:
        found.append(
            Fact(
                f"create.image_urls.format[{ext}]",
                f"a reference image ending .{ext} is accepted",
                items_source,
                "edge",
            )
        )
    for ext in refused:
        found.append(
            Fact(
                f"create.image_urls.format-refused[{ext}]",
                f"a reference image ending .{ext} is refused with 400",
                items_source,
                "edge",
            )
        )
    for member in PUBLISHED_CLIENT_MEMBERS:
        found.append(
            Fact(
                f"create.unknown-member[{member}]",
                f"a create carrying `{member}` (sent by published clients) is not refused",
                NOTES_OBSERVED,
                "edge",
            )
        )
    for header in PUBLISHED_CLIENT_HEADERS:
        found.append(
            Fact(
                f"create.client-header[{header}]",
                f"a create carrying the header {header} (sent by published clients) is not refused",
                NOTES_OBSERVED,
                "edge",
            )
        )
    found.append(
        Fact(
            "create.callback_url.https",
            "an https callback_url is accepted, an http one refused with 400",
            _source(f"{REQUEST_SCHEMA}/properties/callback_url/pattern", _property_target("callback_url"), "pattern"),
            "edge",
        )
    )
    url_limit = callback_url_limit()
    found.append(
        Fact(
            "create.callback_url.max-length",
            f"a callback_url of {url_limit} characters is accepted, {url_limit + 1} refused with 400",
            _source(
                f"{REQUEST_SCHEMA}/properties/callback_url/maxLength", _property_target("callback_url"), "maxLength"
            ),
            "edge",
        )
    )
    for spelling in PRIVATE_HOSTS:
        found.append(
            Fact(
                f"create.callback_url.private-host[{spelling.host}]",
                f"a callback_url to {spelling.host} ({spelling.kind}) is refused with 400",
                f"bundle: {REQUEST_SCHEMA}/properties/callback_url/description; {NOTES_CALLBACK}",
                "edge",
            )
        )
    found.append(
        Fact(
            "create.first-state",
            "the create answer is the task in its first state: status pending, progress 0",
            f"bundle: #/paths/{_pointer_path(CREATE_PATH)}/post/responses/200; {NOTES_CREATE}",
            "check:task_state_consistent",
        )
    )
    return found


def _pointer_path(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def _task_facts() -> list[Fact]:
    detail = "#/components/schemas/TaskDetailResponse"
    query = f"#/paths/{_pointer_path(TASK_PATH_PREFIX + '{task_id}')}/get"
    documented = spec_facts()
    found = [
        Fact(
            "task.id-form",
            "ids are task-unified-<unix seconds>-<8 lowercase letters or digits>; a query for an id without "
            "the task-unified- prefix is refused with 400 invalid_task_id",
            f"{NOTES_CREATE}; bundle: {query}/responses/400",
            "edge",
        ),
        Fact(
            "task.unknown-id-404",
            "a well-formed id no key created is answered 404",
            f"bundle: {query}/responses/404",
            "edge",
        ),
        Fact(
            "task.created-plausible",
            f"`created` is unix seconds within {CREATED_TOLERANCE} s of the suite's clock when the create is answered",
            f"bundle: {detail}/properties/created; {NOTES_CREATE}",
            "edge",
        ),
        Fact(
            "task.foreign-key-404",
            "a task is answered 404 to any key but the one that created it",
            NOTES_QUERY,
            "edge",
        ),
        Fact(
            "task.status-enum",
            f"status is one of {', '.join(documented.task_statuses)}",
            f"bundle: {detail}/properties/status/enum",
            "check:task_state_consistent",
        ),
        Fact(
            "task.business-codes",
            f"a failed task's error.code is one of the {len(documented.business_codes)} documented business codes",
            f"bundle: #/components/schemas/TaskFailure/properties/code/enum; {NOTES_CODES}",
            "check:task_state_consistent",
        ),
        Fact(
            "task.results-iff-completed",
            "results is present iff the task completed, with progress 100",
            f"bundle: {detail}/properties/results",
            "check:task_state_consistent",
        ),
        Fact(
            "task.can-cancel-when-finished",
            "task_info.can_cancel is false once the task finished",
            f"bundle: #/components/schemas/TaskDetailInfo; {NOTES_QUERY}",
            "check:task_state_consistent",
        ),
        Fact(
            "lifecycle.order",
            "status only moves pending -> processing -> completed|failed, progress never decreases",
            f"bundle: {detail}/properties/status; {NOTES_QUERY}",
            "check:lifecycle",
        ),
        Fact(
            "lifecycle.finishes",
            "a task reaches completed or failed (the provider estimates 45 s)",
            f"bundle: #/components/schemas/TaskInfo/properties/estimated_time; {NOTES_CREATE}",
            "check:lifecycle",
        ),
    ]
    return found


def _auth_facts() -> list[Fact]:
    source = "bundle: #/components/securitySchemes; #/paths/*/*/responses/401"
    return [
        Fact("auth.no-key-401", "a create and a query without a key are refused with 401", source, "edge"),
        Fact("auth.made-up-key-401", "a create and a query with a made-up key are refused with 401", source, "edge"),
        Fact(
            "auth.malformed-header-401",
            "a create and a query with a non-Bearer Authorization header are refused with 401",
            source,
            "edge",
        ),
    ]


def _error_facts() -> list[Fact]:
    found = []
    documented = spec_facts()
    for status, pairs in documented.error_pairs.items():
        where = [
            f"#/paths/{_pointer_path(operation.path)}/{operation.method.lower()}/responses/{status}"
            for operation in documented.operations.values()
            if status in operation.errors
        ]
        if status == 404:
            kinds = " or ".join(sorted({kind for _, kind in pairs}))
            statement = f"a 404 answer is the JSON envelope with type {kinds} (its code is the provider's silence)"
        else:
            shown = " or ".join(f"{code}/{kind}" for code, kind in sorted(pairs))
            statement = f"a {status} answer is the JSON envelope with code/type {shown}"
        found.append(
            Fact(f"error.envelope[{status}]", statement, "bundle: " + ", ".join(where), "check:error_envelope")
        )
    return found


def _callback_facts() -> list[Fact]:
    source = f"bundle: {REQUEST_SCHEMA}/properties/callback_url/description; {NOTES_CALLBACK}"
    return [
        Fact("callback.after-terminal", "no callback is sent before the task is terminal", source, "callbacks"),
        Fact(
            "callback.body-equals-poll",
            "the callback body equals what a poll of the task answers at that moment",
            source,
            "callbacks",
        ),
        Fact("callback.json-post", "a callback is a POST with a JSON body", source, "callbacks"),
        Fact(
            "callback.retry-delays",
            "after a failed attempt (non-2xx, timeout, redirect) the next comes 1 s, 2 s, then 4 s later",
            source,
            "callbacks",
        ),
        Fact(
            "callback.attempt-timeout", "an attempt times out after 10 s and counts as a failure", source, "callbacks"
        ),
        Fact("callback.max-attempts", "at most 4 attempts (3 retries)", source, "callbacks"),
        Fact("callback.stop-after-2xx", "nothing is sent after a 2xx answer", source, "callbacks"),
        Fact("callback.no-redirect", "a redirect is not followed (it is a failed attempt)", source, "callbacks"),
    ]


def _unprobeable_facts() -> list[Fact]:
    return [
        Fact(
            "create.image_urls.max-bytes",
            "each reference image is at most 10 MB",
            f"bundle: {REQUEST_SCHEMA}/properties/image_urls/description; {NOTES_CREATE}",
            "none",
            "a probe needs an image the target downloads from a host the suite serves, and probes never "
            "point anywhere real",
        ),
        Fact(
            "task.results-live-24h",
            "result links stay valid for 24 hours",
            NOTES_CREATE,
            "none",
            "a run lasts minutes, not a day",
        ),
        Fact(
            "callback.on-cancel",
            "a cancelled task calls its callback_url too",
            f"bundle: {REQUEST_SCHEMA}/properties/callback_url/description; {NOTES_CALLBACK}",
            "none",
            "the API documents no way to cancel a task",
        ),
        Fact(
            "callback.private-resolution",
            "a callback_url whose name resolves to a private address is refused or never called",
            NOTES_CALLBACK,
            "none",
            "a probe needs a DNS name the suite controls that resolves to a private address",
        ),
    ]


@cache
def catalogue() -> tuple[Fact, ...]:
    """Every fact, in a stable order: create, task, auth, errors, callbacks, then the unprobeable."""
    found = _create_facts() + _task_facts() + _auth_facts() + _error_facts() + _callback_facts() + _unprobeable_facts()
    names = [fact.name for fact in found]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"fact names must be unique: {sorted(duplicates)}")
    return tuple(found)


def by_name() -> dict[str, Fact]:
    return {fact.name: fact for fact in catalogue()}


def render_list() -> str:
    """``contract --list-facts``: one line per fact, name, how it is probed, and source."""
    entries = catalogue()
    width = max(len(fact.name) for fact in entries)
    lines = [f"{len(entries)} facts (name, probe, source: statement)"]
    for fact in entries:
        lines.append(f"{fact.name.ljust(width)}  {fact.probe:<28}  {fact.source}: {fact.statement}")
    return "\n".join(lines)
