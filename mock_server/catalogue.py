"""The models the mock serves: the documented image family, plus ``--extra-model`` names.

A create names a model; ``Catalogue.lookup`` says which contract checks it and which name
its answer carries. A documented name reaches its own contract (an alias answers with the
name it maps to, as documented). A name given with ``--extra-model`` (or any name, with
``--any-model``) is a model not yet in the catalogue: it runs under the seed's contract
(Nano Banana's limits, estimate and credits) and answers with the name sent.

Each model's default task duration is its documented estimate scaled as Nano Banana's is
(10 mock seconds for its 45 s estimate; see the README's *Choices*), never under 2 s so
a client polling every second or two still sees ``pending`` and ``processing``.
``markdown_table`` renders the README's table of the family from the same facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evolink_spec.family import Family, ModelContract, Plan

NANO_BANANA_DURATION = 10.0
"""Mock seconds a Nano Banana task takes by default (the README's choice)."""
NANO_BANANA_ESTIMATE = 45
"""Nano Banana's documented ``estimated_time``: the one the choice above was made for."""
MIN_DURATION = 2.0


def default_duration(estimated_time: int) -> float:
    """A model's default task duration: its estimate scaled as Nano Banana's, in whole seconds."""
    return max(MIN_DURATION, float(round(estimated_time * NANO_BANANA_DURATION / NANO_BANANA_ESTIMATE)))


@dataclass(frozen=True, slots=True)
class Served:
    """How the mock serves one model name."""

    contract: ModelContract
    """The contract a create is checked against and planned by."""
    name: str
    """The name the answers carry."""
    extra: bool = False
    """Accepted by ``--extra-model``/``--any-model``: run under the seed model's contract."""

    duration: float = field(init=False)
    """The model's default task duration (``default_duration`` of its estimate)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", default_duration(self.contract.answer.estimated_time))


PLANS_KEPT = 4096
"""Plans remembered by what decides them (the cache empties when full)."""


class Catalogue:
    """The documented family, and the names the settings accept beyond it."""

    def __init__(
        self, family: Family, seed_model: str, *, extra_models: Iterable[str] = (), any_model: bool = False
    ) -> None:
        self.family = family
        self.seed = family.model(seed_model)
        self.extra_models = tuple(name for name in extra_models if family.get(name) is None)
        self.any_model = any_model
        self._plans: dict[tuple[object, ...], Plan] = {}
        self._documented = {
            sent: Served(family.models[own], family.models[own].answered_name(sent))
            for sent, own in family.names.items()
        }

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a create may send, documented ones first (what a 400 on ``model`` lists)."""
        return (*self._documented, *self.extra_models)

    def plan(self, served: Served, body: Mapping[str, Any]) -> Plan:
        """``served.contract.plan(body)``, remembered by the members that decide it (model,
        size, tier, ``n``, how many reference images): a plan takes microseconds to work out,
        and most creates ask for what an earlier one did."""
        contract = served.contract
        tier = contract.tier
        urls = body.get("image_urls") if contract.images_total_max is not None else None
        key = (
            contract.name,
            body.get("model"),
            body.get("size"),
            body.get(tier.field) if tier is not None else None,
            body.get("n"),
            len(urls) if isinstance(urls, list) else None,
        )
        found = self._plans.get(key)
        if found is None:
            if len(self._plans) >= PLANS_KEPT:
                self._plans.clear()
            found = self._plans[key] = contract.plan(body)
        return found

    def lookup(self, sent: object) -> Served | None:
        """How ``sent`` is served, or None when the mock does not serve it."""
        if not isinstance(sent, str):
            return None
        found = self._documented.get(sent)
        if found is not None:
            return found
        if self.any_model or sent in self.extra_models:
            return Served(self.seed, sent, extra=True)
        return None


# -- the README's table -------------------------------------------------------------------


def _code(values: Iterable[object]) -> str:
    return ", ".join(f"`{value}`" for value in values)


def _sizes(contract: ModelContract) -> str:
    size = contract.size
    if size is None:
        return "no `size`: results are 1024x1024"
    parts = []
    if size.values:
        parts.append(_code(size.values))
    rule = size.pixels
    if rule is not None:
        text = ["`WxH`" + (" (or `W×H`)" if "×" in rule.separators else "")]
        if rule.side_max is not None or rule.side_min > 1:
            text.append(f"sides {rule.side_min}-{rule.side_max}" if rule.side_max else f"sides ≥ {rule.side_min}")
        if rule.multiple_of > 1:
            text.append(f"multiples of {rule.multiple_of}")
        if rule.total_min > 1 or rule.total_max is not None:
            text.append(
                f"{rule.total_min:,}-{rule.total_max:,} pixels" if rule.total_max else f"≥ {rule.total_min:,} pixels"
            )
        if rule.max_aspect is not None:
            text.append(f"at most {rule.max_aspect:g}:1")
        parts.append(", ".join(text))
    tier = contract.tier
    if tier is not None:
        scope = "with a ratio" if tier.applies_to == "ratio" else "with a ratio or `auto`"
        parts.append(f"`{tier.field}` {'/'.join(tier.values)} {scope} (default {tier.default})")
    default = f"; default `{size.default}`" if size.default is not None else ""
    return "; ".join(parts) + default


def _limits(contract: ModelContract) -> str:
    parts = [f"prompt ≤ {contract.prompt_max}"]
    if contract.n is not None:
        count = contract.n
        parts.append(
            f"`n` {'/'.join(map(str, count.values))}" if count.values else f"`n` {count.minimum}-{count.maximum}"
        )
    if contract.quality is not None:
        parts.append(f"`quality` {'/'.join(contract.quality.values)}")
    inputs = contract.image_urls
    if inputs is not None:
        count_text = f"{inputs.min_items or 0}-{inputs.max_items}" if inputs.max_items is not None else "any number"
        kinds = " ".join(f".{extension}" for extension in inputs.extensions)
        needed = "required, " if inputs.required else ""
        parts.append(f"`image_urls` {needed}{count_text}" + (f" ({kinds})" if kinds else ""))
    elif contract.inputs == "text-to-image":
        parts.append("text only")
    return "; ".join(parts)


def _money(contract: ModelContract) -> str:
    answer = contract.answer
    text = f"{answer.estimated_time} s, {answer.credits_reserved:g}"
    if answer.credits_times_n:
        text += " per image"
    if answer.credits_by_tier:
        text += " × " + "/".join(f"{value:g}" for value in answer.credits_by_tier.values()) + " by tier"
    return text


def markdown_table(family: Family) -> str:
    """The README's table of the family: one row per model, from its documented facts."""
    rows = [
        "| model | sizes | limits | estimate, credits | task duration | source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for contract in sorted(family.models.values(), key=lambda model: model.name):
        aliases = "".join(f" (alias `{alias}`)" for alias in contract.aliases)
        duration = f"{default_duration(contract.answer.estimated_time):g} s"
        rows.append(
            f"| `{contract.name}`{aliases} | {_sizes(contract)} | {_limits(contract)} | {_money(contract)} "
            f"| {duration} | [page]({contract.source_page}) |"
        )
    return "\n".join(rows) + "\n"
