"""The image family's contracts: each model file loads, becomes a schema in the bundle,
agrees with the seed where it restates it, and plans what the provider documents."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from contract_tests._family import Case, cases
from evolink_spec import build_bundle, load_bundle
from evolink_spec.family import (
    FACTS_KEY,
    FAMILY_SCHEMA,
    SEED_SCHEMA,
    FamilyError,
    ModelContract,
    contract_from_facts,
    family_of,
    read_model_files,
    schema_name,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec"
CLIENT_DEFAULTS = (
    "gpt-image-2",
    "z-image-turbo",
    "gemini-3.1-flash-lite-image",
    "gemini-3-pro-image-preview",
    "gemini-2.5-flash-image",
    "nano-banana-beta",
)
"""The models the published clients default to (issue 17): each must be in the family."""


BUNDLE = load_bundle()
FAMILY = family_of(BUNDLE)
CASES = [case for contract in FAMILY.models.values() for case in cases(contract)]


def _schema_of(contract: ModelContract) -> dict[str, Any]:
    schema: dict[str, Any] = BUNDLE["components"]["schemas"][contract.schema_name]
    return schema


def test_every_model_file__describes_its_model_and_loads() -> None:
    files = read_model_files(SPEC)
    assert len(files) >= 17
    for facts in files:
        contract = contract_from_facts(facts)
        assert contract.sources and contract.source_page.startswith("https://")
        assert all(source["read"] == "2026-12-01" for source in contract.sources)
        assert contract.answer.estimated_time > 0 and contract.answer.credits_reserved > 0


def test_the_family__holds_every_model_a_published_client_defaults_to() -> None:
    for name in CLIENT_DEFAULTS:
        assert FAMILY.get(name) is not None, name
    assert FAMILY.model("gemini-2.5-flash-image").name == "nano-banana-beta"


def test_the_bundle_with_the_family__is_a_valid_openapi_document() -> None:
    validate(copy.deepcopy(BUNDLE))
    body = BUNDLE["paths"]["/v1/images/generations"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": f"#/components/schemas/{FAMILY_SCHEMA}"}
    family = BUNDLE["components"]["schemas"][FAMILY_SCHEMA]
    assert family["discriminator"]["propertyName"] == "model"
    assert set(family["discriminator"]["mapping"]) == set(FAMILY.names)
    assert len(family["oneOf"]) == len(FAMILY.models)


def test_each_model_schema__carries_the_facts_it_was_made_from() -> None:
    for facts in read_model_files(SPEC):
        contract = FAMILY.model(facts["model"])
        assert _schema_of(contract)[FACTS_KEY] == facts


def test_the_seed_model__keeps_the_seeds_schema() -> None:
    seed = FAMILY.model("nano-banana-beta")
    assert seed.schema_name == SEED_SCHEMA
    assert "gemini-2.5-flash-image" in _schema_of(seed)["properties"]["model"]["enum"]


def test_a_seed_model_file_that_disagrees_with_the_seed__is_refused(tmp_path: Path) -> None:
    for name in ("nanobanana-image-generate.yaml", "task-detail.yaml", "overlay.yaml"):
        shutil.copy(SPEC / name, tmp_path / name)
    (tmp_path / "models").mkdir()
    for facts in read_model_files(SPEC):
        if facts["model"] == "nano-banana-beta":
            facts = {**facts, "prompt": {"max_length": 1000}}
        (tmp_path / "models" / f"{facts['model']}.yaml").write_text(json.dumps(facts), encoding="utf-8")
    with pytest.raises(FamilyError, match="prompt"):
        build_bundle(tmp_path)


def test_a_model_file_named_for_another_model__is_refused(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "gpt-image-2.yaml").write_text("model: z-image-turbo\n", encoding="utf-8")
    with pytest.raises(FamilyError, match="gpt-image-2"):
        read_model_files(tmp_path)


def test_schema_names__are_pascal_case_without_punctuation() -> None:
    assert schema_name("gpt-image-2") == "GptImage2Request"
    assert schema_name("doubao-seedream-4.5") == "DoubaoSeedream45Request"
    assert schema_name("wan2.5-text-to-image") == "Wan25TextToImageRequest"


def _verdict(case: Case) -> str | None:
    """The field a create with this body is refused for (schema first, then the pixel rule), or None."""
    contract = FAMILY.get(case.body.get("model"))
    assert contract is not None
    errors = sorted(Draft202012Validator(_schema_of(contract)).iter_errors(case.body), key=lambda e: e.path)
    if errors:
        error = errors[0]
        if error.validator == "required":
            return str(next(name for name in error.validator_value if name not in error.instance))
        return str(error.absolute_path[0]) if error.absolute_path else "body"
    return "size" if contract.size_problem(case.body) is not None else None


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_models_limits__hold_from_both_sides_in_the_bundle(case: Case) -> None:
    assert _verdict(case) == case.refused_param


@pytest.mark.parametrize(
    ("model", "body", "pixels", "credits"),
    [
        # gpt-image-2's page: 4K at 1:1 is scaled to 2880x2880; 4K at 2:1 is 3840x1920.
        ("gpt-image-2", {"size": "1:1", "resolution": "4K"}, (2880, 2880), 2.5),
        ("gpt-image-2", {"size": "2:1", "resolution": "4K"}, (3840, 1920), 2.5),
        ("gpt-image-2", {"size": "16:9", "resolution": "2K", "n": 3}, (2048, 1152), 7.5),
        ("gpt-image-2", {}, (1024, 1024), 2.5),
        ("gpt-image-2", {"size": "1536×1024"}, (1536, 1024), 2.5),
        # gpt-image-2-beta: 2K costs 1.7 times the base, explicit pixels bill by their total.
        ("gpt-image-2-beta", {"size": "1:1", "resolution": "2K"}, (2048, 2048), 4.25),
        ("gpt-image-2-beta", {"size": "3840x2160"}, (3840, 2160), 6.5),
        ("nano-banana-beta", {"size": "16:9"}, (1344, 768), 1.6),
        ("gemini-2.5-flash-image", {}, (1024, 1024), 1.6),
        ("gemini-3-pro-image-preview", {}, (2048, 2048), 1.6),
        ("gemini-3.1-flash-lite-image", {"size": "1:1"}, (1024, 1024), 8.7),
        ("z-image-turbo", {"size": "1024x768"}, (1024, 768), 0.026),
        ("doubao-seedream-4.5", {"size": "4K", "n": 2}, (4096, 4096), 3.6),
        ("wan2.5-text-to-image", {}, (1280, 1280), 1.0),
        ("gpt-4o-image", {"size": "2:3", "n": 4}, (1024, 1536), 10.0),
    ],
)
def test_plan__makes_the_documented_sizes_and_reserves_the_documented_credits(
    model: str, body: dict[str, Any], pixels: tuple[int, int], credits: float
) -> None:
    plan = FAMILY.model(model).plan({"model": model, **body})
    assert plan.images[0] == pixels
    assert len(plan.images) == body.get("n", 1)
    assert plan.credits == credits
    assert plan.model == FAMILY.model(model).name


def test_plan__caps_seedreams_images_at_fifteen_with_the_references() -> None:
    contract = FAMILY.model("doubao-seedream-4.5")
    body = {"model": contract.name, "n": 5, "image_urls": [f"https://e.com/{i}.png" for i in range(12)]}
    plan = contract.plan(body)
    assert len(plan.images) == 3
    assert plan.credits == 9.0  # reserved for the n asked


def test_plan__answers_each_model_with_its_own_estimate() -> None:
    estimates = {name: FAMILY.model(name).plan({"model": name}).estimated_time for name in CLIENT_DEFAULTS}
    assert estimates == {
        "gpt-image-2": 100,
        "z-image-turbo": 10,
        "gemini-3.1-flash-lite-image": 45,
        "gemini-3-pro-image-preview": 45,
        "gemini-2.5-flash-image": 45,
        "nano-banana-beta": 45,
    }
