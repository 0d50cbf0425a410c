"""Every example the spec gives, and every JSON fixture, paired with the schema it must satisfy.

Spec examples are found wherever the bundle has them: ``example``/``examples`` beside a
``schema`` (parameters, request and response media types) and ``example`` inside a schema
(its own value). Fixtures name their schema by file name (see ``_fixtures``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from evolink_spec import load_bundle

from ._fixtures import Fixture, fixtures_dir, parse_name

_SCHEMA_KEYS = frozenset({"type", "properties", "enum", "$ref", "items", "allOf", "oneOf", "anyOf", "const"})
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$")
_FORMATS = FormatChecker()


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or _URI.match(value) is not None


@dataclass(frozen=True)
class Example:
    where: str
    """Where it sits: a JSON pointer into the bundle, or a fixture's path."""
    schema: dict[str, Any]
    value: Any
    fixture: Fixture | None = None


def errors(example: Example) -> list[str]:
    """What is wrong with ``example`` against its schema (``$ref``s resolve within the bundle)."""
    root = {"components": load_bundle().get("components", {}), **example.schema}
    validator = Draft202012Validator(root, format_checker=_FORMATS)
    found = sorted(validator.iter_errors(example.value), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found]


def _walk(node: Any, pointer: str) -> Iterator[Example]:
    if isinstance(node, dict):
        if isinstance(node.get("schema"), dict):
            if "example" in node:
                yield Example(f"{pointer}/example", node["schema"], node["example"])
            for name, item in (node.get("examples") or {}).items():
                if isinstance(item, dict) and "value" in item:
                    yield Example(f"{pointer}/examples/{name}", node["schema"], item["value"])
        elif _SCHEMA_KEYS & node.keys() and "example" in node:
            schema = {key: value for key, value in node.items() if key != "example"}
            yield Example(f"{pointer}/example", schema, node["example"])
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")


def spec_examples() -> list[Example]:
    return list(_walk(load_bundle(), "#"))


def _operation(operation_id: str) -> dict[str, Any] | None:
    for item in load_bundle()["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return operation
    return None


def fixture_schema(fixture: Fixture) -> dict[str, Any]:
    """The schema a fixture must satisfy; ``LookupError`` naming the problem when there is none."""
    operation = _operation(fixture.operation)
    if operation is None:
        raise LookupError(f"no operation {fixture.operation!r} in the spec")
    if fixture.status is None:
        holder = operation.get("requestBody", {})
    else:
        holder = operation.get("responses", {}).get(str(fixture.status))
        if holder is None:
            raise LookupError(f"{fixture.operation} documents no {fixture.status} answer")
    schema = holder.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        raise LookupError(f"{fixture.operation} {fixture.status or 'request'} has no application/json schema")
    return dict(schema)


def fixture_paths(root: Path | None = None) -> list[Path]:
    return sorted((root or fixtures_dir()).rglob("*.json"))


def fixture_example(path: Path) -> Example | None:
    """The example a fixture file holds, or None when its name does not say what it is."""
    fixture = parse_name(path)
    if fixture is None:
        return None
    return Example(str(path), fixture_schema(fixture), fixture.load(), fixture)
