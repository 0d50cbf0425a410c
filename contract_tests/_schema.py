"""The schemathesis schema of one target and generation mode, configured for its budget.

In-process, the schema is loaded from the mock itself (``from_asgi("/openapi.json", app)``);
a live target is checked against the bundle shipped with the package (the real API serves
no spec), with its base URL. Either way it is the same document.

Positive data never carries ``callback_url``. The schema allows any https URL there, but a
target that accepts one would call it back: the real API would contact a made-up host, and
the mock refuses private or loopback hosts (``127.0.0.1``, ``localhost``, ...) that the
schema cannot exclude, and resolves the others over DNS. Negative data keeps it: a target
that honours the contract refuses those bodies before calling anything.

Positive data never carries a pixel ``size`` its model refuses either: the schema states a
``WIDTHxHEIGHT`` form, but not the rules on the pair (a total, an aspect, a multiple; see
``evolink_spec.family``), so such a size is replaced by the model's default.
"""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from schemathesis import BaseSchema, Case, GenerationMode, HookContext

from evolink_spec import CREATE_OPERATION, TASK_OPERATION, facts

from . import checks
from ._profiles import PROFILES, Profile
from ._target import Target

_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
"""positive_data_acceptance's default statuses; each operation adds its documented refusals."""


def fit_pixel_size(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the model's default size instead of a pixel size the model refuses (the
    rules on the pair that a schema cannot state; ``evolink_spec.family``)."""
    model = facts().family.get(body.get("model"))
    if model is None or model.size_problem(body) is None:
        return body
    fitted = {name: value for name, value in body.items() if name != "size"}
    if model.default_size is not None:
        fitted["size"] = model.default_size
    return fitted


def is_positive(case: Case[Any]) -> bool:
    return case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE


def positive_body(context: HookContext, case: Case[Any]) -> Case[Any]:
    """``map_case`` hook: positive bodies lose ``callback_url`` and keep only a pixel size their
    model accepts (see the module docstring)."""
    if is_positive(case) and isinstance(case.body, dict):
        case.body = fit_pixel_size({name: value for name, value in case.body.items() if name != "callback_url"})
    return case


def _first_create_example_only(context: HookContext, examples: list[Case[Any]]) -> None:
    """``before_add_examples`` hook on a paid budget: of the create's examples, only the spec's
    request example is sent (the others are assembled from property examples)."""
    operation = context.operation
    if operation is not None and operation.definition.raw.get("operationId") == CREATE_OPERATION:
        del examples[1:]


def _operations(target: Target, mode: GenerationMode, profile: Profile) -> list[dict[str, Any]]:
    paid_limited = target.limits.max_paid_tasks is not None
    task: dict[str, Any] = {
        "include-operation-id": TASK_OPERATION,
        "generation": {"max-examples": profile.task_examples},
        # A malformed id answers 400 invalid_task_id, as the spec documents; error_envelope checks the pair.
        "checks": {"positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "400"]}},
    }
    create: dict[str, Any] = {
        "include-operation-id": CREATE_OPERATION,
        "generation": {"max-examples": profile.create_examples},
        # 402: the key's credits ran out, a documented refusal of valid data.
        "checks": {"positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "402"]}},
    }
    if mode == GenerationMode.NEGATIVE:
        # The coverage phase walks every boundary of every branch of the family's oneOf (one
        # schema per image model): minutes of cases. test_family probes each model's limits
        # from both sides instead; fuzzing still sends negative data to the create.
        create["phases"] = {"coverage": {"enabled": False}}
    if paid_limited and mode == GenerationMode.POSITIVE:
        # Each accepted create costs money: only the spec's own request example is sent.
        create["phases"] = {
            "examples": {"enabled": True, "fill-missing": False},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": False},
        }
    return [task, create]


def schema_config(target: Target, mode: GenerationMode, *, seed: int, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schemathesis configuration of one target and mode, as a config-file dictionary."""
    profile = PROFILES[target.profile]
    # object_level_authorization needs identities the suite does not configure; auth_required and
    # foreign_task_invisible cover its ground through the budget.
    disabled = set(exclude) | {"object_level_authorization"}
    if target.accepts_any_key or target.limits.guarded:
        # ignored_auth probes with a made-up key, outside the suite's session (so its budget).
        disabled.add("ignored_auth")
    config: dict[str, Any] = {
        "seed": seed,
        "generation": {
            "mode": mode.value,
            "database": "none",
            "no-shrink": not target.replayable,
        },
        "phases": {
            # The spec's examples are valid data: sending them in the negative run would create tasks.
            "examples": {"enabled": mode == GenerationMode.POSITIVE},
            "coverage": {"enabled": mode == GenerationMode.NEGATIVE or profile.positive_coverage},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": {name: {"enabled": False} for name in sorted(disabled)},
        "request-timeout": 30,
        "operations": _operations(target, mode, profile),
    }
    if target.api_key:
        config["auth"] = {"openapi": {"bearerAuth": {"bearer": target.api_key}}}
    if not target.in_process:
        config["base-url"] = target.base_url
        config["tls-verify"] = target.ca_file or True
    return config


def build_schema(target: Target, mode: GenerationMode, *, seed: int, exclude: tuple[str, ...] = ()) -> BaseSchema:
    """A schemathesis schema for ``target``, generating ``mode`` data, with the suite's checks loaded."""
    assert checks.__all__  # the custom checks are registered by importing the module
    config = schemathesis.Config.from_dict(schema_config(target, mode, seed=seed, exclude=exclude))
    if target.in_process:
        schema = schemathesis.openapi.from_asgi("/openapi.json", target.app, config=config)
    else:
        from evolink_spec import load_bundle

        schema = schemathesis.openapi.from_dict(copy.deepcopy(load_bundle()), config=config)
    schema.hook("map_case")(positive_body)
    if target.limits.max_paid_tasks is not None:
        schema.hook("before_add_examples")(_first_create_example_only)
    return schema
