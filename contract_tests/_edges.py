"""Edge probes: every limit, enum, alias, format and rule of the catalogue, probed on both sides.

Outside an edge (a size that is not documented, a prompt one character too long, an
``http`` callback, a callback to ``127.1``...) a create must be refused with 400 in the
documented envelope; refusals cost nothing, so each is sent alone. Inside an edge (every
model, alias and size, the longest prompt, the most reference images, each format,
members and headers published clients send, the longest https callback URL) a create must
be accepted, and an accepted create costs a task on a paid target. So independent inside
facts share one create (``pack``), and a create that is refused is split in halves until
the refused fact stands alone (``_send_group``). Every create goes through the run's
budget: what it cannot pay for is reported as not probed, with the reason.

Probes are harmless on a target that drifts: links point at ``.invalid`` hosts (RFC 2606:
they never resolve), and a private-host callback points at a loopback port nothing listens
on (``DeadPort``: a socket bound but never listening), so a target that wrongly accepts one
calls nobody.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

from evolink_spec import CREATE_PATH, TASK_ID, TASK_PATH_PREFIX

from ._catalogue import (
    CREATED_TOLERANCE,
    PRIVATE_HOSTS,
    PUBLISHED_CLIENT_HEADERS,
    PUBLISHED_CLIENT_MEMBERS,
    HostSpelling,
    callback_url_limit,
    canonical_model,
    documented_extensions,
    model_members,
    models,
    scoped,
)
from ._failures import BudgetExhausted, ContractViolation
from ._invariants import excerpt, parse_json
from ._ledger import Ledger
from ._report import Recorder
from ._spec_sources import request_schema, spec_facts
from ._target import UNKNOWN_TASK_ID, Client

PROBE_HOST = "contract-probe.invalid"
BASE_PROMPT = "contract probe: a small red square on a white background"
MALFORMED_TASK_ID = "contract-probe-not-a-task"
CHECK = "edges"


def base_body() -> dict[str, Any]:
    return {"model": canonical_model(), "prompt": BASE_PROMPT}


def padded_url(length: int, scheme: str = "https") -> str:
    """An URL on the probe host of exactly ``length`` characters."""
    head = f"{scheme}://{PROBE_HOST}/hook?pad="
    return head + "a" * max(0, length - len(head))


def prompt_of(length: int) -> str:
    text = (BASE_PROMPT + ". ") * (length // len(BASE_PROMPT) + 2)
    return text[:length]


# -- the dead port --------------------------------------------------------------------------


class DeadPort:
    """A loopback port nothing listens on, for as long as this object lives: a socket bound
    to it but never listening, so no other program can take it and every connection is refused."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])

    def close(self) -> None:
        self._socket.close()


_DEAD: DeadPort | None = None


def dead_port() -> int:
    global _DEAD
    if _DEAD is None:
        _DEAD = DeadPort()
    return _DEAD.port


def host_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host spelling means (numeric IPv4 forms included); None for a name."""
    bare = host.strip("[]").rstrip(".")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def same_host(spelling: HostSpelling, allowed: Iterable[str]) -> bool:
    """Whether ``spelling`` names one of the ``allowed`` hosts (the callback receiver's host,
    which the target was told to allow), so refusing it is not expected."""
    address = host_address(spelling.host)
    for host in allowed:
        other = host_address(host)
        if address is not None and address == other:
            return True
        if address is None and other is None and spelling.host.lower().rstrip(".") == host.lower().rstrip("."):
            return True
    return False


# -- probes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A request just outside an edge: it must be refused with ``status``."""

    fact: str
    label: str
    method: str = "POST"
    body: Any = None
    task_id: str | None = None
    status: int = 400
    code: str | None = None


@dataclass(frozen=True)
class Inside:
    """A change to a valid create just inside an edge: the create must still be accepted."""

    facts: tuple[str, ...]
    label: str
    members: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    answered_model: str | None = None
    """The model the answer must name (an alias is answered as the canonical name)."""

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.members) | frozenset(f"header:{name.lower()}" for name in self.headers)


def _with(**changes: Any) -> dict[str, Any]:
    body = base_body()
    for name, value in changes.items():
        if value is _DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return body


_DROP = object()


UNDOCUMENTED_SIZE = "7:5"
"""A ratio no model of the family lists, and no ``WIDTHxHEIGHT`` pixel size."""


def refusals(skip_hosts: Iterable[str] = ()) -> list[Refusal]:
    """Every probe just outside an edge, each in its own request."""
    found = [
        Refusal("create.model.refused-unknown", "an undocumented model", body=_with(model="nano-banana-contract-x"))
    ]
    for member in request_schema().get("required", []):
        found.append(Refusal(f"create.required[{member}]", f"no {member}", body=_with(**{member: _DROP})))
    for model in models():
        on = model_members(model)
        of = f" ({model.name})" if on else ""
        if model.sizes:  # a model whose size is only free pixels lists no ratio to step outside of
            found.append(
                Refusal(
                    scoped("create.size.refused-unknown", model),
                    f"an undocumented size{of}",
                    body=_with(**on, size=UNDOCUMENTED_SIZE),
                )
            )
        prompt_limit = model.max_prompt_length
        found.append(
            Refusal(
                scoped("create.prompt.max-length", model),
                f"a prompt of {prompt_limit + 1} characters{of}",
                body=_with(**on, prompt=prompt_of(prompt_limit + 1)),
            )
        )
        images = model.max_image_urls
        if images is not None:  # a model that takes no reference images states no count
            urls = [f"https://{PROBE_HOST}/ref-{index}.png" for index in range(images + 1)]
            found.append(
                Refusal(
                    scoped("create.image_urls.max-items", model),
                    f"{images + 1} reference images{of}",
                    body=_with(**{**on, "image_urls": urls}),
                )
            )
    for ext in documented_extensions()[1]:
        found.append(
            Refusal(
                f"create.image_urls.format-refused[{ext}]",
                f"a .{ext} reference image",
                body=_with(image_urls=[f"https://{PROBE_HOST}/ref.{ext}"]),
            )
        )
    found.append(
        Refusal("create.callback_url.https", "an http callback_url", body=_with(callback_url=padded_url(60, "http")))
    )
    url_limit = callback_url_limit()
    found.append(
        Refusal(
            "create.callback_url.max-length",
            f"a callback_url of {url_limit + 1} characters",
            body=_with(callback_url=padded_url(url_limit + 1)),
        )
    )
    port = dead_port()
    for spelling in PRIVATE_HOSTS:
        if same_host(spelling, skip_hosts):
            continue
        url = f"https://{spelling.host}:{port}/contract-probe"
        found.append(
            Refusal(
                f"create.callback_url.private-host[{spelling.host}]",
                f"a callback_url to {spelling.host} ({spelling.kind})",
                body=_with(callback_url=url),
            )
        )
    found.append(
        Refusal(
            "task.id-form",
            f"a query for an id without the {spec_facts().task_id_prefix} prefix",
            method="GET",
            task_id=MALFORMED_TASK_ID,
            code="invalid_task_id",
        )
    )
    found.append(
        Refusal("task.unknown-id-404", "a query for an unknown id", method="GET", task_id=UNKNOWN_TASK_ID, status=404)
    )
    return found


def skipped_for_receiver(skip_hosts: Iterable[str]) -> list[str]:
    """Private-host facts not probed because the host is the callback receiver's (``--callbacks``)."""
    return [
        f"create.callback_url.private-host[{spelling.host}]"
        for spelling in PRIVATE_HOSTS
        if same_host(spelling, skip_hosts)
    ]


def insides() -> list[Inside]:
    """Every change just inside an edge; ``pack`` shares creates between independent ones."""
    found: list[Inside] = []
    for model in models():
        for name in (model.name, *model.aliases):
            alias = name != model.name
            found.append(
                Inside(
                    (f"create.model.accepted[{name}]", *((f"create.model.alias[{name}]",) if alias else ())),
                    f"model {name}",
                    {**model_members(model), "model": name},
                    answered_model=model.name if alias else None,
                )
            )
        on = model_members(model)
        of = f" ({model.name})" if on else ""
        found += [
            Inside((scoped("create.size.accepted", model, size),), f"size {size}{of}", {**on, "size": size})
            for size in model.sizes
        ]
        prompt_limit = model.max_prompt_length
        found.append(
            Inside(
                (scoped("create.prompt.max-length", model),),
                f"a prompt of {prompt_limit} characters{of}",
                {**on, "prompt": prompt_of(prompt_limit)},
            )
        )
        if model.max_image_urls is not None:
            urls = [f"https://{PROBE_HOST}/ref-{index}.png" for index in range(model.max_image_urls)]
            found.append(
                Inside(
                    (scoped("create.image_urls.max-items", model),),
                    f"{model.max_image_urls} reference images{of}",
                    {**on, "image_urls": urls},
                )
            )
    for ext in documented_extensions()[0]:
        found.append(
            Inside(
                (f"create.image_urls.format[{ext}]",),
                f"a .{ext} reference image",
                {"image_urls": [f"https://{PROBE_HOST}/ref.{ext}"]},
            )
        )
    for member, value in PUBLISHED_CLIENT_MEMBERS.items():
        found.append(Inside((f"create.unknown-member[{member}]",), f"member {member}", {member: value}))
    for header, value in PUBLISHED_CLIENT_HEADERS.items():
        found.append(Inside((f"create.client-header[{header}]",), f"header {header}", headers={header: value}))
    url_limit = callback_url_limit()
    found.append(
        Inside(
            ("create.callback_url.https", "create.callback_url.max-length"),
            f"an https callback_url of {url_limit} characters",
            {"callback_url": padded_url(url_limit)},
        )
    )
    return found


def pack(probes: list[Inside]) -> list[list[Inside]]:
    """Independent probes share a create: each group changes every field at most once."""
    groups: list[list[Inside]] = []
    for probe in probes:
        for group in groups:
            if not any(probe.fields & other.fields for other in group):
                group.append(probe)
                break
        else:
            groups.append([probe])
    return groups


# -- running them -----------------------------------------------------------------------------


@dataclass
class EdgeRun:
    """The probes of one target: where verdicts and findings go, and what the run learnt."""

    client: Client
    ledger: Ledger
    recorder: Recorder
    clock: Callable[[], float]
    """The suite's own clock for ``created`` (unix seconds; the mock's clock in-process)."""
    found: list[ContractViolation] = field(default_factory=list)
    accepted_ids: list[str] = field(default_factory=list)
    creates: int = 0

    @property
    def target(self) -> str:
        return self.client.target.name

    def broken(self, fact: str, title: str, expected: str, actual: str, request: requests.PreparedRequest) -> None:
        violation = ContractViolation(
            check=CHECK, operation=_operation(request), title=f"{fact}: {title}", expected=expected, actual=actual
        )
        self.ledger.broken(self.target, fact, f"{title}: {actual}")
        self.recorder.add_violation(self.client.target, violation, request)
        self.found.append(violation)

    # -- refusals --

    def run_refusals(self, probes: list[Refusal]) -> None:
        for probe in probes:
            try:
                answer = self._send_refusal(probe)
            except BudgetExhausted as exc:
                self.ledger.unprobed(self.target, probe.fact, f"{probe.label}: not sent ({exc})")
                continue
            self._judge_refusal(probe, answer)

    def _send_refusal(self, probe: Refusal) -> requests.Response:
        if probe.method == "GET":
            return self.client.get_task(str(probe.task_id))
        return self.client.create(probe.body)

    def _judge_refusal(self, probe: Refusal, answer: requests.Response) -> None:
        status = answer.status_code
        code = _error_code(answer)
        expected = f"{probe.label} is refused with {probe.status}" + (f" {probe.code}" if probe.code else "")
        if status == probe.status and (probe.code is None or code == probe.code):
            if probe.status == 400 and probe.code is None:
                pairs = spec_facts().error_pairs.get(400, frozenset())
                if pairs and code not in {pair[0] for pair in pairs}:
                    self.broken(
                        probe.fact,
                        f"{probe.label} refused with an undocumented code",
                        expected + " (code " + " or ".join(sorted({p[0] for p in pairs})) + ")",
                        f"{status}: {excerpt(answer.content)}",
                        answer.request,
                    )
                    return
            self.ledger.held(self.target, probe.fact, f"{probe.label}: {status}")
            return
        if status in (402, 429) or status >= 500:
            self.ledger.unprobed(self.target, probe.fact, f"{probe.label}: answered {status}, not a verdict")
            if status >= 500:
                self.broken(
                    probe.fact,
                    f"{probe.label} answered {status}",
                    expected,
                    f"{status}: {excerpt(answer.content)}",
                    answer.request,
                )
            return
        title = f"{probe.label} accepted" if status < 300 else f"{probe.label} answered {status}"
        if 200 <= status < 300 and probe.method == "POST":
            self._remember_task(answer)
        self.broken(probe.fact, title, expected, f"{status}: {excerpt(answer.content)}", answer.request)

    # -- accepted side --

    def run_insides(self, probes: list[Inside], other_key: str | None) -> None:
        for group in pack(probes):
            self._send_group(group)
        self._check_foreign(other_key)

    def _send_group(self, group: list[Inside]) -> None:
        body = base_body()
        headers: dict[str, str] = {}
        for probe in group:
            body.update(probe.members)
            headers.update(probe.headers)
        labels = ", ".join(probe.label for probe in group)
        try:
            answer = self.client.request(
                "POST", self.client.url(CREATE_PATH), json=body, headers={**self.client.auth(), **headers}
            )
        except BudgetExhausted as exc:
            for probe in group:
                for fact in probe.facts:
                    self.ledger.unprobed(self.target, fact, f"{probe.label}: not sent ({exc})")
            return
        self.creates += 1
        status = answer.status_code
        if 200 <= status < 300:
            self._judge_accepted(group, answer)
            return
        if status in (401, 402, 403, 429) or status >= 500:
            reason = f"a valid create with {labels} answered {status}: {excerpt(answer.content, 120)}"
            for probe in group:
                for fact in probe.facts:
                    self.ledger.unprobed(self.target, fact, reason)
            return
        if len(group) > 1:
            middle = len(group) // 2
            self._send_group(group[:middle])
            self._send_group(group[middle:])
            return
        probe = group[0]
        for fact in probe.facts:
            self.broken(
                fact,
                f"valid create with {probe.label} refused",
                f"a create with {probe.label} is accepted (the contract allows it)",
                f"{status}: {excerpt(answer.content)}",
                answer.request,
            )

    def _judge_accepted(self, group: list[Inside], answer: requests.Response) -> None:
        now = self.clock()
        try:
            task = parse_json(answer.content)
        except ValueError:
            task = None
        if not isinstance(task, dict):
            for probe in group:
                for fact in probe.facts:
                    self.broken(
                        fact,
                        "create answer is not a JSON object",
                        "a 200 answer is the task",
                        excerpt(answer.content),
                        answer.request,
                    )
            return
        for probe in group:
            for fact in probe.facts:
                if (
                    probe.answered_model is not None
                    and fact.startswith("create.model.alias[")
                    and (task.get("model") != probe.answered_model)
                ):
                    self.broken(
                        fact,
                        f"alias answered as {task.get('model')!r}",
                        f"a create with {probe.label} is answered as {probe.answered_model}",
                        f"model {task.get('model')!r}",
                        answer.request,
                    )
                else:
                    self.ledger.held(self.target, fact, f"accepted ({answer.status_code})")
        self._judge_task(task, answer, now)

    def _judge_task(self, task: dict[str, Any], answer: requests.Response, now: float) -> None:
        task_id = task.get("id")
        if isinstance(task_id, str) and TASK_ID.match(task_id):
            self.ledger.held(self.target, "task.id-form", f"id {task_id}")
            self.accepted_ids.append(task_id)
        else:
            self.broken(
                "task.id-form",
                "task id of the wrong form",
                "ids look like task-unified-<unix seconds>-<8 lowercase letters or digits>",
                f"id {task_id!r}",
                answer.request,
            )
            if isinstance(task_id, str) and task_id:
                self.accepted_ids.append(task_id)
        created = task.get("created")
        expected = f"created is unix seconds within {CREATED_TOLERANCE} s of the suite's clock ({int(now)})"
        if isinstance(created, bool) or not isinstance(created, int):
            self.broken(
                "task.created-plausible", "`created` is not an integer", expected, repr(created), answer.request
            )
        elif abs(created - now) > CREATED_TOLERANCE:
            self.broken(
                "task.created-plausible",
                "`created` implausible against the suite's clock",
                expected,
                f"created {created}, {created - now:+.0f} s off",
                answer.request,
            )
        else:
            self.ledger.held(self.target, "task.created-plausible", f"{created - now:+.0f} s off the suite's clock")

    def _remember_task(self, answer: requests.Response) -> None:
        try:
            task = parse_json(answer.content)
        except ValueError:
            return
        if isinstance(task, dict) and isinstance(task.get("id"), str):
            self.accepted_ids.append(task["id"])

    def _check_foreign(self, other_key: str | None) -> None:
        fact = "task.foreign-key-404"
        if not self.accepted_ids:
            self.ledger.unprobed(self.target, fact, "no task was created to ask for")
            return
        if not other_key:
            self.ledger.unprobed(self.target, fact, "no second key (--other-api-key)")
            return
        task_id = self.accepted_ids[0]
        try:
            answer = self.client.get_task(task_id, key=other_key)
        except BudgetExhausted as exc:
            self.ledger.unprobed(self.target, fact, f"not sent ({exc})")
            return
        if answer.status_code == 404:
            self.ledger.held(self.target, fact, "404")
        elif answer.status_code == 401:
            self.ledger.unprobed(self.target, fact, "the other key was refused with 401, so isolation was not shown")
        else:
            self.broken(
                fact,
                "another key's task not answered 404",
                "a task is answered 404 to any key but the one that created it",
                f"{answer.status_code}: {excerpt(answer.content)}",
                answer.request,
            )


def _error_code(answer: requests.Response) -> str | None:
    try:
        body = parse_json(answer.content)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _operation(request: requests.PreparedRequest) -> str:
    path = str(request.path_url).split("?", 1)[0]
    return (
        f"{request.method} {TASK_PATH_PREFIX}{{task_id}}"
        if path.startswith(TASK_PATH_PREFIX)
        else f"{request.method} {path}"
    )


def wall_clock() -> float:
    return time.time()


def mock_clock(client: Client) -> Callable[[], float]:
    """The mock's own clock (``GET /__mock/clock``): the suite's clock for an in-process mock."""

    def now() -> float:
        answer = client.request("GET", client.url("/__mock/clock"))
        return float(answer.json()["now"])

    return now
