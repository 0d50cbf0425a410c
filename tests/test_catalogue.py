"""The models the mock serves: the documented family by name and alias, --extra-model names
run under the seed's contract, each model's default duration, and the README's table."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.catalogue import Catalogue, default_duration, markdown_table
from tests.evolink_spec.test_family import FAMILY

README = Path(__file__).resolve().parent.parent / "README.md"


def test_a_documented_name__is_served_by_its_own_contract_and_answered_with_its_name() -> None:
    served = Catalogue(FAMILY, "nano-banana-beta").lookup("gpt-image-2")
    assert served is not None and not served.extra
    assert served.contract.name == served.name == "gpt-image-2"


def test_an_alias__answers_with_the_name_it_maps_to() -> None:
    served = Catalogue(FAMILY, "nano-banana-beta").lookup("gemini-2.5-flash-image")
    assert served is not None and served.name == "nano-banana-beta" and served.contract.name == "nano-banana-beta"


def test_an_extra_model__runs_under_the_seed_contract_and_answers_with_the_name_sent() -> None:
    catalogue = Catalogue(FAMILY, "nano-banana-beta", extra_models=("nano-banana-pro",))
    served = catalogue.lookup("nano-banana-pro")
    assert served is not None and served.extra and served.name == "nano-banana-pro"
    assert served.contract.name == "nano-banana-beta"
    assert catalogue.names[-1] == "nano-banana-pro"


def test_an_extra_model_that_is_documented__keeps_its_own_contract() -> None:
    catalogue = Catalogue(FAMILY, "nano-banana-beta", extra_models=("z-image-turbo",))
    served = catalogue.lookup("z-image-turbo")
    assert served is not None and not served.extra and served.contract.name == "z-image-turbo"
    assert catalogue.names.count("z-image-turbo") == 1


@pytest.mark.parametrize("sent", ["not-a-model", "", None, 3])
def test_an_unknown_name__is_not_served(sent: object) -> None:
    assert Catalogue(FAMILY, "nano-banana-beta").lookup(sent) is None


def test_any_model__serves_every_string_name() -> None:
    served = Catalogue(FAMILY, "nano-banana-beta", any_model=True).lookup("whatever-v9")
    assert served is not None and served.extra and served.name == "whatever-v9"


@pytest.mark.parametrize(("estimate", "seconds"), [(45, 10.0), (100, 22.0), (30, 7.0), (10, 2.0), (1, 2.0)])
def test_default_duration__scales_the_estimate_as_nano_bananas_ten_seconds_for_45(
    estimate: int, seconds: float
) -> None:
    assert default_duration(estimate) == seconds


def test_the_readme__carries_the_familys_table_as_the_facts_make_it() -> None:
    assert markdown_table(FAMILY) in README.read_text(encoding="utf-8")


def test_plan__is_remembered_by_what_decides_it_and_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue = Catalogue(FAMILY, "nano-banana-beta")
    served = catalogue.lookup("gpt-image-2")
    assert served is not None
    first = catalogue.plan(served, {"model": "gpt-image-2", "prompt": "a", "size": "16:9"})
    again = catalogue.plan(served, {"model": "gpt-image-2", "prompt": "another prompt", "size": "16:9"})
    assert again is first
    other = catalogue.plan(served, {"model": "gpt-image-2", "prompt": "a", "size": "16:9", "n": 2})
    assert other is not first and len(other.images) == 2 and other.credits == 5.0
    monkeypatch.setattr("mock_server.catalogue.PLANS_KEPT", 2)
    catalogue.plan(served, {"model": "gpt-image-2", "prompt": "a", "size": "1:1"})
    assert catalogue.plan(served, {"model": "gpt-image-2", "prompt": "a", "size": "16:9"}) is not first
