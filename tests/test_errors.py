"""Every error the mock can raise renders the provider's envelope, as the bundle defines it,
including the statuses the spec does not list (405, 409, 413, 422)."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from evolink_spec import load_bundle
from mock_server import errors

ENVELOPE = Draft202012Validator(load_bundle()["components"]["schemas"]["ErrorResponse"])


def _all(cls: type[errors.ApiError]) -> list[type[errors.ApiError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all(sub)]
    return found


RAISED = [cls for cls in _all(errors.ApiError) if cls is not errors.SpecifiedError]


def _instance(cls: type[errors.ApiError]) -> errors.ApiError:
    if cls is errors.TaskNotFound:
        return errors.TaskNotFound("task-unified-1-abcdefgh")
    return cls()


@pytest.mark.parametrize("cls", RAISED, ids=lambda cls: cls.__name__)
def test_error__renders_the_envelope(cls: type[errors.ApiError]) -> None:
    error = _instance(cls)
    rendered = json.loads(error.render())
    assert not list(ENVELOPE.iter_errors(rendered))
    assert rendered["error"]["code"] == cls.code
    assert 400 <= error.status <= 599


@pytest.mark.parametrize(
    "error",
    [
        errors.IdempotencyKeyReused.for_key("order-42"),
        errors.IdempotencyKeyInUse.for_key("order-42"),
        errors.FileNotFound.unknown(),
        errors.FileNotFound.not_ready(),
        errors.FileNotFound.task_failed(),
        errors.FileNotFound.expired(),
    ],
    ids=lambda error: error.message[:30],
)
def test_error__named_constructors_render_the_envelope(error: errors.ApiError) -> None:
    assert not list(ENVELOPE.iter_errors(json.loads(error.render())))


def test_file_not_found__only_an_expired_link_says_expired() -> None:
    assert "expired" in errors.FileNotFound.expired().message
    for error in (errors.FileNotFound.unknown(), errors.FileNotFound.not_ready(), errors.FileNotFound.task_failed()):
        assert "expired" not in error.message
