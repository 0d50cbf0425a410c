"""Every ``ApiError`` the mock defines renders an envelope the bundle accepts for its status.

The classes are found by walking ``ApiError``'s subclasses after importing every module of
``mock_server`` (none is listed here), so a new error is checked the moment it exists. For
each one, the rendered body must be valid against the error schema of every operation that
documents its status (or, for a status the spec does not list, against every error schema
the bundle has), and where the spec's examples document a ``(code, type)`` pair the error
must use it: its ``type`` is one the spec gives for its status, and a code the spec names
comes with the spec's type at that status.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import mock_server
from evolink_spec import facts, load_bundle
from mock_server import errors

BUNDLE = load_bundle()
FACTS = facts()

# A value for each constructor argument an error requires, by the argument's name. A new
# error whose constructor needs another one fails below, asking for it here.
ARGUMENTS: dict[str, Any] = {"task_id": "task-unified-1700000000-abcdefgh"}


def _error_schemas() -> Iterator[tuple[int, dict[str, Any]]]:
    """``(status, schema)`` for each error answer of each operation in the bundle."""
    for item in BUNDLE["paths"].values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    yield int(status), response["content"]["application/json"]["schema"]


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # The schema's $refs point into the bundle's components, so they travel with it.
    return Draft202012Validator({**schema, "components": BUNDLE["components"]})


SCHEMAS_BY_STATUS: dict[int, list[Draft202012Validator]] = {}
for _status, _schema in _error_schemas():
    SCHEMAS_BY_STATUS.setdefault(_status, []).append(_validator(_schema))
PAIRS_BY_STATUS = FACTS.error_pairs
EXAMPLES = [(operation.id, example) for operation in FACTS.operations.values() for example in operation.errors.values()]
EVERY_ERROR_SCHEMA = [validator for validators in SCHEMAS_BY_STATUS.values() for validator in validators]
DOCUMENTED_CODES = {code for pairs in PAIRS_BY_STATUS.values() for code, _ in pairs}


def _every_error_class() -> list[type[errors.ApiError]]:
    for module in pkgutil.walk_packages(mock_server.__path__, "mock_server."):
        if not module.name.endswith("__main__"):  # running it would start the command
            importlib.import_module(module.name)
    found: list[type[errors.ApiError]] = [errors.ApiError]
    for cls in found:  # grows while it is walked: each class's subclasses join the end
        found += [sub for sub in cls.__subclasses__() if sub.__module__.startswith("mock_server.")]
    return sorted(set(found), key=lambda cls: (cls.__module__, cls.__name__))


def _build(cls: type[errors.ApiError]) -> errors.ApiError:
    required = [
        parameter.name
        for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    unknown = [name for name in required if name not in ARGUMENTS]
    assert not unknown, f"{cls.__name__} needs {unknown}: add a value to ARGUMENTS"
    return cls(**{name: ARGUMENTS[name] for name in required})


def _cases() -> Iterator[Any]:
    for cls in _every_error_class():
        if cls is errors.SpecifiedError:
            # Prefer: code= and rules answer a documented example as it is: each is a case.
            for operation_id, example in EXAMPLES:
                yield pytest.param(
                    lambda example=example: errors.SpecifiedError(example.status, example.body()),
                    id=f"SpecifiedError-{operation_id}-{example.status}",
                )
        else:
            yield pytest.param(lambda cls=cls: _build(cls), id=f"{cls.__module__}.{cls.__name__}")


CASES = list(_cases())


def test_cases__every_documented_error_status_is_covered() -> None:
    # The walk must find the errors the spec documents, or the test below proves little.
    statuses = {make().status for make in (case.values[0] for case in CASES)}
    assert set(SCHEMAS_BY_STATUS) <= statuses


@pytest.mark.parametrize("make", CASES)
def test_error__renders_an_envelope_valid_for_its_status(make: Any) -> None:
    error: errors.ApiError = make()
    body = json.loads(error.render())
    assert 400 <= error.status <= 599
    for validator in SCHEMAS_BY_STATUS.get(error.status, EVERY_ERROR_SCHEMA):
        assert [e.message for e in validator.iter_errors(body)] == []
    assert body["error"]["message"], "an error says what went wrong"


@pytest.mark.parametrize("make", CASES)
def test_error__uses_the_documented_code_and_type(make: Any) -> None:
    error: errors.ApiError = make()
    rendered = json.loads(error.render())["error"]
    pair = (rendered["code"], rendered["type"])
    documented = PAIRS_BY_STATUS.get(error.status)
    if documented is None:
        assert rendered["code"] not in DOCUMENTED_CODES, f"{pair}: a documented code at an undocumented status"
        return
    assert rendered["type"] in {kind for _, kind in documented}, f"{pair}: the spec's types at {error.status}"
    if rendered["code"] in DOCUMENTED_CODES:
        assert pair in documented, f"{pair}: the spec pairs this code otherwise at {error.status}"


@pytest.mark.parametrize("example", [example for _, example in EXAMPLES], ids=lambda example: str(example.status))
def test_specified_error__renders_the_example_exactly(example: Any) -> None:
    assert json.loads(errors.SpecifiedError(example.status, example.body()).render()) == example.body()
