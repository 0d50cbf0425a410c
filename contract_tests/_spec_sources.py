"""The spec documents the fact catalogue reads: the bundle, the verbatim seed, and the overlay.

One place that knows where they come from, so the catalogue (``_catalogue``) can say for
each fact whether the seed states it or an overlay action added it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from mock_server.spec import OVERLAY_FILE, SEED_FILE, load_bundle, spec_dir

REQUEST = "ImageGenerationRequest"


def bundle() -> dict[str, Any]:
    return load_bundle()


@cache
def _yaml(name: str) -> Any:
    with (spec_dir() / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def request_property(name: str) -> dict[str, Any]:
    """The bundle's schema of one create body member (empty when it has none)."""
    found: dict[str, Any] = bundle()["components"]["schemas"][REQUEST]["properties"].get(name, {})
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
