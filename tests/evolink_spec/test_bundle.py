"""The vendored spec is the seed's YAML byte for byte; the bundle is valid, current, and
carries each documented correction."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from evolink_spec import (
    apply_overlay,
    build_bundle,
    load_bundle,
    parse_target,
    render_bundle,
    spec_dir,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec"
PAGE = SPEC / "provider" / "nanobanana-image-generate.page.txt"
# The provider's page as fetched (the project's seed 000_7a2120eee814ab40.txt): see spec/README.md.
PAGE_SHA256 = "c72cd6dcfeb52c582fa5e5694aaf7cc3e7c3926c084ce6a8aad3a7a21764fc96"
SEED = ROOT.parent / "shared" / "seeds" / "000_7a2120eee814ab40.txt"


def test_vendored_page__is_the_provider_page_as_fetched() -> None:
    assert hashlib.sha256(PAGE.read_bytes()).hexdigest() == PAGE_SHA256
    if SEED.is_file():  # beside the original workspace: the copy is still that file
        assert PAGE.read_bytes() == SEED.read_bytes()


def test_vendored_yaml__is_byte_identical_to_the_pages_openapi_block() -> None:
    text = PAGE.read_bytes().decode("utf-8")
    fenced = re.search(r"^````yaml[^\n]*\n(.*?)^````", text, re.S | re.M)
    assert fenced is not None
    assert (SPEC / "nanobanana-image-generate.yaml").read_bytes() == fenced.group(1).encode("utf-8")


def test_bundle__is_a_valid_openapi_31_document() -> None:
    document = load_bundle()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_bundle__is_current_with_its_sources() -> None:
    assert (SPEC / "openapi.json").read_text(encoding="utf-8") == render_bundle(build_bundle(SPEC))


def test_spec_dir__is_the_checkout_or_the_installed_copy() -> None:
    assert (spec_dir() / "openapi.json").is_file()


def test_bundle__serves_both_operations() -> None:
    paths = load_bundle()["paths"]
    assert paths["/v1/images/generations"]["post"]["operationId"] == "createImageGeneration"
    assert paths["/v1/tasks/{task_id}"]["get"]["operationId"] == "getTaskDetail"
    assert set(paths["/v1/tasks/{task_id}"]["get"]["responses"]) == {"200", "400", "401", "404", "429", "500"}


def test_overlay__records_each_correction_of_the_seed() -> None:
    request = load_bundle()["components"]["schemas"]["ImageGenerationRequest"]["properties"]
    assert request["model"]["enum"] == ["nano-banana-beta", "gemini-2.5-flash-image"]
    assert request["image_urls"]["maxItems"] == 5
    assert re.match(request["image_urls"]["items"]["pattern"], "https://x.test/a.WEBP?x=1")
    assert not re.match(request["image_urls"]["items"]["pattern"], "https://x.test/a.gif")
    assert request["size"]["default"] == "auto"
    assert request["callback_url"]["maxLength"] == 2048
    assert {"url": "/", "description": "Wherever this document is served (the mock, or a proxy)"} in load_bundle()[
        "servers"
    ]


def test_overlay__leaves_the_verbatim_file_untouched() -> None:
    seed = yaml.safe_load((SPEC / "nanobanana-image-generate.yaml").read_text(encoding="utf-8"))
    assert seed["components"]["schemas"]["ImageGenerationRequest"]["properties"]["model"]["enum"] == [
        "nano-banana-beta"
    ]


def test_every_overlay_action__explains_itself() -> None:
    overlay = yaml.safe_load((SPEC / "overlay.yaml").read_text(encoding="utf-8"))
    assert overlay["overlay"] == "1.0.0"
    assert all(action.get("description", "").strip() for action in overlay["actions"])


@pytest.mark.parametrize(
    ("target", "keys"),
    [
        ("$", []),
        ("$.components.schemas", ["components", "schemas"]),
        ("$.paths['/v1/tasks/{task_id}'].get", ["paths", "/v1/tasks/{task_id}", "get"]),
        ("$.paths['it\\'s']", ["paths", "it's"]),
    ],
)
def test_parse_target(target: str, keys: list[str]) -> None:
    assert parse_target(target) == keys


@pytest.mark.parametrize("target", ["components", "$..x", "$[0]", "$.a b"])
def test_parse_target__refuses_what_it_cannot_follow(target: str) -> None:
    with pytest.raises(ValueError):
        parse_target(target)


def test_apply_overlay__merges_appends_replaces_and_removes() -> None:
    document = {"a": {"list": [1], "value": 1, "keep": True, "gone": 0}}
    overlay = {
        "actions": [
            {"target": "$.a", "update": {"list": [2], "value": 2, "new": {"x": 1}}},
            {"target": "$.a.gone", "remove": True},
        ]
    }
    assert apply_overlay(document, overlay) == {"a": {"list": [1, 2], "value": 2, "keep": True, "new": {"x": 1}}}
    assert document == {"a": {"list": [1], "value": 1, "keep": True, "gone": 0}}


def test_apply_overlay__refuses_a_missing_target() -> None:
    with pytest.raises(KeyError, match="does not exist"):
        apply_overlay({"a": {}}, {"actions": [{"target": "$.a.b", "update": {}}]})
