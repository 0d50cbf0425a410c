"""The facts are the bundle's, and the few Python constants are checked against it."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import pytest

import evolink_spec
from evolink_spec import (
    BUSINESS_CODES,
    CREATE,
    CREATE_PATH,
    TASK,
    TASK_ID,
    TASK_ID_PREFIX,
    TASK_PATH_PREFIX,
    ErrorExample,
    SpecMismatch,
    TaskStatus,
    check_constants,
    facts,
    load_bundle,
    read_facts,
)


def _bundle() -> dict[str, Any]:
    return copy.deepcopy(load_bundle())


def test_operations__are_the_bundles() -> None:
    assert (CREATE.id, CREATE.method, CREATE.path) == ("createImageGeneration", "POST", "/v1/images/generations")
    assert (TASK.id, TASK.method, TASK.path) == ("getTaskDetail", "GET", "/v1/tasks/{task_id}")
    assert (CREATE.label, TASK.label) == ("POST /v1/images/generations", "GET /v1/tasks/{task_id}")
    assert CREATE_PATH == "/v1/images/generations"
    assert TASK_PATH_PREFIX == "/v1/tasks/"
    assert CREATE.statuses == (200, 400, 401, 402, 403, 429, 500)
    assert TASK.statuses == (200, 400, 401, 404, 429, 500)


def test_error_examples__carry_each_status_envelope() -> None:
    assert CREATE.errors[402] == ErrorExample(
        402, "insufficient_quota", "insufficient_quota", "Insufficient quota. Please top up your account."
    )
    assert TASK.errors[400].body() == {
        "error": {
            "code": "invalid_task_id",
            "message": "Invalid task ID format: must start with task-unified-",
            "type": "invalid_request_error",
            "param": "task_id",
        }
    }
    assert set(CREATE.errors) == {400, 401, 402, 403, 429, 500}


def test_facts__come_from_the_bundle() -> None:
    found = facts()
    assert found.task_statuses == ("pending", "processing", "completed", "failed")
    assert "content_policy_violation" in BUSINESS_CODES and len(BUSINESS_CODES) == 13
    assert found.business_codes == BUSINESS_CODES
    assert found.error_pairs[400] == {
        ("invalid_request", "invalid_request_error"),
        ("invalid_task_id", "invalid_request_error"),
    }
    assert found.error_pairs[402] == {("insufficient_quota", "insufficient_quota")}
    assert found.server_url == "https://api.evolink.ai"
    assert (found.callback_url.scheme, found.callback_url.max_length) == ("https", 2048)
    assert TASK_ID_PREFIX == "task-unified-"


def test_models__are_keyed_by_canonical_name_and_reached_by_alias() -> None:
    found = facts()
    assert list(found.models)[0] == "nano-banana-beta"  # the seed's model first, then the family
    assert {"gpt-image-2", "z-image-turbo", "gemini-3-pro-image-preview"} <= set(found.models)
    model = found.model("gemini-2.5-flash-image")
    assert model.name == "nano-banana-beta"
    assert tuple(model.aliases) == ("gemini-2.5-flash-image",)
    assert model.sizes == ("auto", "1:1", "2:3", "3:2", "4:3", "3:4", "16:9", "9:16")
    assert (model.default_size, model.max_image_urls, model.max_prompt_length) == ("auto", 5, 2000)
    assert found.model_names["gemini-2.5-flash-image"] == found.model_names["nano-banana-beta"] == "nano-banana-beta"
    assert found.model_names["gpt-image-2"] == "gpt-image-2"
    assert found.family.model("gemini-2.5-flash-image") is model
    with pytest.raises(KeyError):
        found.model("nano-banana-2")


def test_model_alias__is_the_one_the_seed_describes() -> None:
    model = load_bundle()["components"]["schemas"]["ImageGenerationRequest"]["properties"]["model"]
    for alias in facts().model("nano-banana-beta").aliases:
        assert f"`{alias}`" in model["description"]


@pytest.mark.parametrize(
    ("task_id", "matches"),
    [
        ("task-unified-1757165031-uyujaw3d", True),
        ("task-unified-1757165031-UYUJAW3D", False),
        ("task-unified-1757165031-uyujaw3", False),
        ("task-1757165031-uyujaw3d", False),
    ],
)
def test_task_id__has_the_documented_form(task_id: str, matches: bool) -> None:
    assert bool(TASK_ID.match(task_id)) is matches


def test_check_constants__accepts_the_shipped_bundle() -> None:
    check_constants(load_bundle())


def test_check_constants__refuses_a_status_the_enum_lacks() -> None:
    bundle = _bundle()
    bundle["components"]["schemas"]["TaskDetailResponse"]["properties"]["status"]["enum"].append("cancelled")
    with pytest.raises(SpecMismatch, match="TaskStatus"):
        check_constants(bundle)


def test_check_constants__refuses_a_renamed_operation() -> None:
    bundle = _bundle()
    bundle["paths"][CREATE_PATH]["post"]["operationId"] = "createImage"
    with pytest.raises(SpecMismatch, match="createImageGeneration"):
        check_constants(bundle)


def test_check_constants__refuses_a_callback_pattern_that_allows_http() -> None:
    bundle = _bundle()
    bundle["components"]["schemas"]["ImageGenerationRequest"]["properties"]["callback_url"]["pattern"] = "^https?://"
    with pytest.raises(SpecMismatch, match="https only"):
        check_constants(bundle)


def test_check_constants__refuses_a_task_id_example_of_another_form() -> None:
    bundle = _bundle()
    bundle["components"]["schemas"]["ImageGenerationResponse"]["properties"]["id"]["example"] = "task-unified-x"
    with pytest.raises(SpecMismatch, match="task id"):
        check_constants(bundle)


def test_read_facts__follows_a_correction_of_the_bundle() -> None:
    bundle = _bundle()
    bundle["components"]["schemas"]["TaskFailure"]["properties"]["code"]["enum"].append("new_code")
    bundle["components"]["schemas"]["ImageGenerationRequest"]["properties"]["callback_url"]["maxLength"] = 100
    found = read_facts(bundle)
    assert found.business_codes[-1] == "new_code"
    assert found.callback_url.max_length == 100


def test_task_status__is_the_bundles_enum() -> None:
    assert tuple(TaskStatus) == facts().task_statuses


def test_evolink_spec__depends_on_neither_the_mock_nor_the_suite() -> None:
    package = Path(evolink_spec.__file__).parent
    imported = set()
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    stdlib = {
        "__future__",
        "collections",
        "copy",
        "dataclasses",
        "enum",
        "functools",
        "json",
        "math",
        "pathlib",
        "re",
        "typing",
    }
    assert imported <= stdlib | {"yaml"}
