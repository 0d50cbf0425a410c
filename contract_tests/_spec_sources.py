"""The spec the fact catalogue reads: ``evolink_spec``'s facts, plus the seed and the overlay.

``evolink_spec`` holds the facts both the mock and the suite use (models, sizes, limits,
errors). The catalogue also says, for each fact, whether the verbatim seed states it or an
overlay action added it, and reads what ``evolink_spec`` does not model (the ``image_urls``
item pattern): both from here, so one place knows where the documents live.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from evolink_spec import Facts, facts, load_bundle, read_facts
from evolink_spec.bundle import OVERLAY_FILE, SEED_FILE, spec_dir

REQUEST = "ImageGenerationRequest"


def bundle() -> dict[str, Any]:
    return load_bundle()


def spec_facts() -> Facts:
    """The facts of ``bundle()`` (the shipped bundle's, read once, unless a test swapped the bundle)."""
    document = bundle()
    return facts() if document is load_bundle() else read_facts(document)


@cache
def _yaml(name: str) -> Any:
    with (spec_dir() / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def request_schema() -> dict[str, Any]:
    found: dict[str, Any] = bundle()["components"]["schemas"][REQUEST]
    return found


def request_property(name: str) -> dict[str, Any]:
    """The bundle's schema of one create body member (empty when it has none)."""
    found: dict[str, Any] = request_schema()["properties"].get(name, {})
    return found


def seed_request_property(name: str) -> dict[str, Any]:
    """The verbatim seed's schema of one create body member, before the overlay."""
    found: dict[str, Any] = _yaml(SEED_FILE)["components"]["schemas"][REQUEST]["properties"].get(name, {})
    return found


@cache
def overlay_targets() -> dict[str, Any]:
    """Each overlay action's target and its update (``None`` for a removal)."""
    actions = _yaml(OVERLAY_FILE).get("actions", [])
    return {str(action["target"]): action.get("update") for action in actions}
