"""The spec files: where they live, and how the bundle is built from them and loaded.

The bundle (``spec/openapi.json``) is the verbatim seed, plus the written query spec,
plus the overlay of corrections, plus the image family (``spec/models/``). It is
committed, so every tool loads the same file;
``build_bundle()`` rebuilds it and a test proves the committed copy is current.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .family import add_family

SEED_FILE = "nanobanana-image-generate.yaml"
QUERY_FILE = "task-detail.yaml"
OVERLAY_FILE = "overlay.yaml"
BUNDLE_FILE = "openapi.json"

_SEGMENT = re.compile(r"\.([A-Za-z_][\w-]*)|\['((?:[^'\\]|\\.)*)'\]")


def spec_dir() -> Path:
    """The folder holding the spec files: inside the installed package, or the checkout's."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "spec", here.parent / "spec"):
        if (candidate / BUNDLE_FILE).is_file():
            return candidate
    raise FileNotFoundError(f"no {BUNDLE_FILE} beside {here}")


def bundle_path() -> Path:
    return spec_dir() / BUNDLE_FILE


@cache
def load_bundle() -> dict[str, Any]:
    """The bundled document, parsed once per process. Callers must not mutate it."""
    with bundle_path().open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


@cache
def bundle_bytes() -> bytes:
    """The bundle as served at /openapi.json (compact, like every answer of the mock)."""
    return json.dumps(load_bundle(), ensure_ascii=False, separators=(",", ":")).encode()


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def parse_target(target: str) -> list[str]:
    """Split an overlay target (``$.a.b['c/d']``) into its keys."""
    if not target.startswith("$"):
        raise ValueError(f"overlay target must start with '$': {target!r}")
    keys: list[str] = []
    position = 1
    while position < len(target):
        match = _SEGMENT.match(target, position)
        if match is None:
            raise ValueError(f"unsupported overlay target syntax at {target[position:]!r} in {target!r}")
        keys.append(match.group(1) if match.group(1) is not None else re.sub(r"\\(.)", r"\1", match.group(2)))
        position = match.end()
    return keys


def _merge(target: Any, update: Any, where: str) -> Any:
    if isinstance(target, dict) and isinstance(update, dict):
        for key, value in update.items():
            target[key] = _merge(target[key], value, f"{where}.{key}") if key in target else copy.deepcopy(value)
        return target
    if isinstance(target, list):
        return target + (copy.deepcopy(update) if isinstance(update, list) else [copy.deepcopy(update)])
    return copy.deepcopy(update)


def apply_overlay(document: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Apply Overlay 1.0 ``update``/``remove`` actions (a JSONPath subset) to a copy of ``document``."""
    result = copy.deepcopy(document)
    for action in overlay.get("actions", []):
        keys = parse_target(action["target"])
        parent: Any = None
        node: Any = result
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                raise KeyError(f"overlay target {action['target']!r} does not exist")
            parent, node = node, node[key]
        if action.get("remove"):
            if parent is None:
                raise ValueError("the overlay cannot remove the whole document")
            del parent[keys[-1]]
        elif "update" in action:
            merged = _merge(node, action["update"], action["target"])
            if parent is None:
                result = merged
            else:
                parent[keys[-1]] = merged
    return result


def _merge_query_spec(seed: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(seed)
    for path, item in query["paths"].items():
        if path in document["paths"]:
            raise ValueError(f"path {path} is in both the seed and the query spec")
        document["paths"][path] = item
    for section, entries in query.get("components", {}).items():
        target = document.setdefault("components", {}).setdefault(section, {})
        for name, value in entries.items():
            if name in target and section != "securitySchemes":
                raise ValueError(f"components.{section}.{name} is in both the seed and the query spec")
            target.setdefault(name, value)
    return document


def build_bundle(directory: Path | None = None) -> dict[str, Any]:
    """Build the bundle from the verbatim seed, the written query spec and the overlay, then
    the image family (``models/``: one schema per model; the create takes any of them)."""
    folder = directory or spec_dir()
    merged = _merge_query_spec(_read_yaml(folder / SEED_FILE), _read_yaml(folder / QUERY_FILE))
    return add_family(apply_overlay(merged, _read_yaml(folder / OVERLAY_FILE)), folder)


def render_bundle(document: dict[str, Any]) -> str:
    """The committed form of the bundle: stable, readable JSON."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def write_bundle(directory: Path) -> Path:
    path = directory / BUNDLE_FILE
    path.write_text(render_bundle(build_bundle(directory)), encoding="utf-8")
    return path
