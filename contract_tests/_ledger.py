"""The verdict on each fact of the catalogue, per target: held, broken, or not probed (and why).

Probes write here as they judge (``held``, ``broken``, ``unprobed``). A broken verdict wins
over a held one (one broken sighting breaks the fact), and a held one over "not probed";
the first reason given is kept. Facts judged by checks on every answer (``check:NAME``)
get their verdict at the end, from the run's findings (``settle``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._catalogue import Fact, catalogue

HELD = "held"
BROKEN = "broken"
UNPROBED = "not probed"
_RANK = {UNPROBED: 0, HELD: 1, BROKEN: 2}


@dataclass
class Verdict:
    state: str
    detail: str = ""


class Ledger:
    """Verdicts by (target name, fact name)."""

    def __init__(self) -> None:
        self.verdicts: dict[tuple[str, str], Verdict] = {}

    def _set(self, target: str, fact: str, state: str, detail: str) -> None:
        known = self.verdicts.get((target, fact))
        if known is None or _RANK[state] > _RANK[known.state]:
            self.verdicts[(target, fact)] = Verdict(state, detail)

    def held(self, target: str, fact: str, detail: str = "") -> None:
        self._set(target, fact, HELD, detail)

    def broken(self, target: str, fact: str, detail: str) -> None:
        self._set(target, fact, BROKEN, detail)

    def unprobed(self, target: str, fact: str, reason: str) -> None:
        self._set(target, fact, UNPROBED, reason)

    def get(self, target: str, fact: str) -> Verdict | None:
        return self.verdicts.get((target, fact))

    def settle(self, target: str, broken_checks: Iterable[tuple[str, str, str]], ran: bool, reason: str) -> None:
        """Give every fact of ``target`` a verdict: ``check:`` facts from the findings
        (``(check, title, what the target did)``), the rest "not probed" with ``reason`` unless judged already."""
        broken = list(broken_checks)
        known = {fact.name for fact in catalogue()}
        for check, title, actual in broken:
            for name in facts_of(check, title, actual):
                if name in known:
                    self.broken(target, name, f"{title}: {actual}")
        for fact in catalogue():
            if fact.probe == "none":
                self.unprobed(target, fact.name, fact.why_not)
            elif fact.probe.startswith("check:"):
                self._settle_check(target, fact, broken, ran, reason)
            elif self.get(target, fact.name) is None:
                self.unprobed(target, fact.name, reason)

    def _settle_check(
        self, target: str, fact: Fact, broken: list[tuple[str, str, str]], ran: bool, reason: str
    ) -> None:
        check = fact.probe.removeprefix("check:")
        hits = [
            f"{title}: {actual}" for name, title, actual in broken if name == check and _concerns(fact, title, actual)
        ]
        if hits:
            self.broken(target, fact.name, hits[0])
        elif ran:
            self.held(target, fact.name, f"no answer broke `{check}`")
        else:
            self.unprobed(target, fact.name, reason)

    def for_target(self, target: str) -> list[tuple[Fact, Verdict]]:
        return [
            (fact, self.verdicts.get((target, fact.name), Verdict(UNPROBED, "not reached"))) for fact in catalogue()
        ]


_TITLE_WORDS = {
    "create.first-state": ("first state",),
    "task.status-enum": ("Status outside",),
    "task.business-codes": ("business code",),
    "task.results-iff-completed": ("esults", "progress 100", "Progress is not"),
    "task.can-cancel-when-finished": ("cancellable",),
    "lifecycle.order": ("backwards", "decreased", "changed status", "another task"),
    "lifecycle.finishes": ("never finished", "not answered", "not downloadable"),
}


def _concerns(fact: Fact, title: str, actual: str) -> bool:
    """Whether a finding is about ``fact`` (a check covers several facts)."""
    if fact.name.startswith("error.envelope["):
        status = fact.name[len("error.envelope[") : -1]
        return f"for {status}" in title or actual.startswith(status)
    words = _TITLE_WORDS.get(fact.name)
    return words is None or any(word in title for word in words)


CHECK_FACTS = {
    "task_id_form": ("task.id-form",),
    "created_plausible": ("task.created-plausible",),
    "foreign_task_invisible": ("task.foreign-key-404",),
}
AUTH_FACTS = {
    "no Authorization header": "auth.no-key-401",
    "a malformed header": "auth.malformed-header-401",
    "a made-up key": "auth.made-up-key-401",
}


def facts_of(check: str, title: str, actual: str) -> list[str]:
    """The catalogue's facts a finding (its check, title and what the target did) breaks."""
    if check in ("edges", "callbacks"):
        return [title.split(": ", 1)[0]]
    if check in CHECK_FACTS:
        return list(CHECK_FACTS[check])
    if check in ("auth_required", "ignored_auth"):
        return [fact for label, fact in AUTH_FACTS.items() if label in title] or ["auth.made-up-key-401"]
    return [fact.name for fact in catalogue() if fact.probe == f"check:{check}" and _concerns(fact, title, actual)]
