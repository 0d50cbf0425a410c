"""Where the JSON fixtures live, and what each one is an example of.

A fixture's name says what it is: ``<operationId>.request.<label>.json`` is a request
body, ``<operationId>.<status>.<label>.json`` an answer with that HTTP status. Installed,
the fixtures ship inside the package (``contract_tests/fixtures``); in a checkout they are
the repository's ``fixtures/`` folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES = "examples"
_NAME = re.compile(
    r"^(?P<operation>[A-Za-z][A-Za-z0-9]*)\.(?P<kind>request|\d{3})\.(?P<label>[a-z0-9][a-z0-9-]*)\.json$"
)


def fixtures_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "fixtures", here.parent / "fixtures"):
        if (candidate / EXAMPLES).is_dir():
            return candidate
    raise FileNotFoundError(f"no fixtures/{EXAMPLES} beside {here}")


@dataclass(frozen=True)
class Fixture:
    path: Path
    operation: str
    status: int | None
    """None for a request body."""
    label: str

    def load(self) -> Any:
        return json.loads(self.path.read_text(encoding="utf-8"))


def parse_name(path: Path) -> Fixture | None:
    match = _NAME.match(path.name)
    if match is None:
        return None
    kind = match["kind"]
    return Fixture(path, match["operation"], None if kind == "request" else int(kind), match["label"])


def request_bodies(operation: str) -> list[Any]:
    """The request bodies among the examples, for ``operation``."""
    examples = fixtures_dir() / EXAMPLES
    found = (parse_name(path) for path in sorted(examples.glob("*.json")))
    return [f.load() for f in found if f is not None and f.operation == operation and f.status is None]
