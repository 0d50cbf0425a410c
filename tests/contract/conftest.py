"""The contract suite's own tests: their stand-ins speak the seed's one model (Nano Banana),
so every run here probes that model's facts only (``contract --models nano-banana-beta``);
the family's models are probed against the mock (``contract_tests/test_family.py``,
``tests/test_family_mock.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract_tests import _catalogue as catalogue


@pytest.fixture(autouse=True)
def nano_banana_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(catalogue.MODELS_VARIABLE, "nano-banana-beta")  # subprocesses inherit it
    catalogue.catalogue.cache_clear()
    yield
    catalogue.catalogue.cache_clear()
