"""What the provider documents, read from the bundle in one place.

Paths, operation ids, documented statuses, error envelopes, the business codes, the models
with their sizes and aliases, the task id prefix and the ``callback_url`` limits all come
from ``spec/openapi.json``: a correction in ``spec/overlay.yaml`` reaches the mock and the
contract checks without a Python edit. ``read_facts(bundle)`` reads them; ``facts()`` is
the shipped bundle's, read once.

Python holds only what the spec cannot state, each checked against the bundle when this
module is imported (a mismatch raises ``SpecMismatch``):

- the names code reaches operations by (``CREATE_OPERATION``, ``TASK_OPERATION``);
- ``TaskStatus``, an enum for type checking, and the order of statuses (``STATUS_RANK``);
- ``TASK_ID``, the full id form (the spec states only its prefix);
- ``CALLBACK_SCHEME`` (the spec states it as a pattern).

Facts that differ by model are keyed by model (``Facts.models``): the image family, one
contract per model (``family.py``, from ``spec/models/``), each with its own sizes, limits,
estimate and credits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from typing import Any

from .bundle import load_bundle
from .family import Family, ModelContract, family_of

Model = ModelContract
"""One model of the family: its documented contract (``family.py``)."""

CREATE_OPERATION = "createImageGeneration"
TASK_OPERATION = "getTaskDetail"
CALLBACK_SCHEME = "https"


class SpecMismatch(RuntimeError):
    """A Python constant that no longer agrees with the bundle."""


class TaskStatus(StrEnum):
    """A task's ``status`` (``TaskDetailResponse.status``), in the spec's order."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED})
"""Statuses a task never leaves."""
STATUS_RANK: dict[str, int] = {
    TaskStatus.PENDING: 0,
    TaskStatus.PROCESSING: 1,
    TaskStatus.COMPLETED: 2,
    TaskStatus.FAILED: 2,
}
"""Status order: a task only moves to a status of equal or higher rank."""


@dataclass(frozen=True)
class ErrorExample:
    """The documented error envelope of one status of one operation (the spec's example)."""

    status: int
    code: str
    type: str
    message: str
    param: str | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return (self.code, self.type)

    def body(self) -> dict[str, Any]:
        """The envelope as the spec shows it: ``{"error": {"code", "message", "type"[, "param"]}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "type": self.type}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


@dataclass(frozen=True)
class Operation:
    """One documented operation: where it is, and what it answers."""

    id: str
    method: str
    """Upper case, as on the wire (``POST``)."""
    path: str
    """The path template (``/v1/tasks/{task_id}``)."""
    statuses: tuple[int, ...]
    """Every documented HTTP status, ascending."""
    errors: Mapping[int, ErrorExample]
    """The example error envelope of each documented error status."""

    @property
    def label(self) -> str:
        """``METHOD /path/{param}``, as schemathesis and the reports name an operation."""
        return f"{self.method} {self.path}"

    @property
    def path_prefix(self) -> str:
        """The path up to its first parameter (``/v1/tasks/``); the whole path when it has none."""
        return self.path.split("{", 1)[0]


@dataclass(frozen=True)
class CallbackUrlLimits:
    """The documented rules of ``callback_url``."""

    scheme: str
    max_length: int
    pattern: str


@dataclass(frozen=True)
class Facts:
    operations: Mapping[str, Operation]
    """By operation id."""
    models: Mapping[str, Model]
    """By canonical model name."""
    default_model: str
    """The canonical name of the model a create gets by default (the request schema's default)."""
    task_statuses: tuple[str, ...]
    business_codes: tuple[str, ...]
    """The ``code`` of a failed task (``TaskFailure.code``): strings, not HTTP statuses."""
    task_id_prefix: str
    callback_url: CallbackUrlLimits
    server_url: str
    """The provider's documented base URL (the first ``servers`` entry)."""

    def operation(self, operation_id: str) -> Operation:
        return self.operations[operation_id]

    @cached_property
    def model_names(self) -> dict[str, str]:
        """Every accepted model name (canonical or alias) to its canonical name."""
        return {alias: model.name for model in self.models.values() for alias in (model.name, *model.aliases)}

    def model(self, name: str) -> Model:
        """The model a name (canonical or alias) reaches; ``KeyError`` for any other."""
        return self.models[self.model_names[name]]

    @cached_property
    def family(self) -> Family:
        """The image family: each model's contract, reached by name or alias."""
        return Family(self.models)

    @cached_property
    def error_pairs(self) -> dict[int, frozenset[tuple[str, str]]]:
        """Documented ``(code, type)`` pairs per HTTP status, over every operation."""
        pairs: dict[int, set[tuple[str, str]]] = {}
        for operation in self.operations.values():
            for status, example in operation.errors.items():
                pairs.setdefault(status, set()).add(example.pair)
        return {status: frozenset(found) for status, found in sorted(pairs.items())}


def _schema(bundle: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = bundle["components"]["schemas"][name]
    return schema


def _error_example(status: int, response: dict[str, Any]) -> ErrorExample | None:
    for media in response.get("content", {}).values():
        examples = [media.get("example")] + [item.get("value") for item in media.get("examples", {}).values()]
        for example in examples:
            error = example.get("error") if isinstance(example, dict) else None
            if isinstance(error, dict) and "code" in error and "type" in error:
                return ErrorExample(status, error["code"], error["type"], error.get("message", ""), error.get("param"))
    return None


def _operations(bundle: dict[str, Any]) -> dict[str, Operation]:
    found: dict[str, Operation] = {}
    for path, item in bundle["paths"].items():
        for method, definition in item.items():
            if not isinstance(definition, dict) or "operationId" not in definition:
                continue
            statuses = sorted(int(status) for status in definition.get("responses", {}) if status.isdigit())
            errors = {
                status: example
                for status in statuses
                if status >= 400
                and (example := _error_example(status, definition["responses"][str(status)])) is not None
            }
            found[definition["operationId"]] = Operation(
                definition["operationId"], method.upper(), path, tuple(statuses), errors
            )
    return found


def _models(bundle: dict[str, Any]) -> dict[str, Model]:
    """The image family: one contract per model (``spec/models/``, carried by the bundle)."""
    return dict(family_of(bundle).models)


def _task_id_prefix(bundle: dict[str, Any]) -> str:
    """The prefix the ``task_id`` path parameter's pattern (``^task-unified-``) requires."""
    for item in bundle["paths"].values():
        for definition in item.values():
            for parameter in definition.get("parameters", []) if isinstance(definition, dict) else []:
                if parameter.get("name") == "task_id" and "pattern" in parameter.get("schema", {}):
                    pattern: str = parameter["schema"]["pattern"]
                    return pattern.removeprefix("^")
    raise SpecMismatch("no operation has a task_id parameter with a pattern")


def read_facts(bundle: dict[str, Any]) -> Facts:
    """The facts of a bundle (``facts()`` is the shipped bundle's)."""
    callback_url = _schema(bundle, "ImageGenerationRequest")["properties"]["callback_url"]
    return Facts(
        operations=_operations(bundle),
        models=_models(bundle),
        default_model=_schema(bundle, "ImageGenerationRequest")["properties"]["model"]["default"],
        task_statuses=tuple(_schema(bundle, "TaskDetailResponse")["properties"]["status"]["enum"]),
        business_codes=tuple(_schema(bundle, "TaskFailure")["properties"]["code"]["enum"]),
        task_id_prefix=_task_id_prefix(bundle),
        callback_url=CallbackUrlLimits(CALLBACK_SCHEME, callback_url["maxLength"], callback_url["pattern"]),
        server_url=bundle["servers"][0]["url"],
    )


@cache
def facts() -> Facts:
    """The facts of the bundle shipped with the package, read once per process."""
    return read_facts(load_bundle())


def check_constants(bundle: dict[str, Any]) -> None:
    """Raise ``SpecMismatch`` if a constant of this module disagrees with ``bundle``."""
    found = read_facts(bundle)
    for operation_id in (CREATE_OPERATION, TASK_OPERATION):
        if operation_id not in found.operations:
            raise SpecMismatch(f"the bundle has no operation {operation_id!r}")
    if tuple(TaskStatus) != found.task_statuses:
        raise SpecMismatch(f"TaskStatus is {tuple(TaskStatus)}, the bundle says {found.task_statuses}")
    pattern = re.compile(found.callback_url.pattern)
    if not pattern.match(f"{found.callback_url.scheme}://") or pattern.match("http://"):
        raise SpecMismatch(f"callback_url's pattern {found.callback_url.pattern!r} is not {CALLBACK_SCHEME} only")
    example = _schema(bundle, "ImageGenerationResponse")["properties"]["id"]["example"]
    if not task_id_form(found).match(example):
        raise SpecMismatch(f"the documented task id {example!r} does not have the form {task_id_form(found).pattern}")


def task_id_form(found: Facts) -> re.Pattern[str]:
    """``<prefix><unix seconds>-<8 lowercase letters or digits>``: the spec states only the prefix."""
    return re.compile(rf"^{re.escape(found.task_id_prefix)}(?P<created>\d{{9,11}})-[a-z0-9]{{8}}$")


check_constants(load_bundle())  # before the names below, so a mismatch says what it is
_FACTS = facts()
CREATE = _FACTS.operation(CREATE_OPERATION)
TASK = _FACTS.operation(TASK_OPERATION)
CREATE_PATH = CREATE.path
TASK_PATH_PREFIX = TASK.path_prefix
TASK_ID_PREFIX = _FACTS.task_id_prefix
BUSINESS_CODES = _FACTS.business_codes
TASK_ID = task_id_form(_FACTS)
"""``task-unified-<unix seconds>-<8 lowercase letters or digits>`` (``TaskDetailResponse.id``)."""
