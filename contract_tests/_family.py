"""Each image model's limits from both sides, as probes derived from its documented facts.

``cases(contract)`` lists requests just inside and just outside every limit a model's file
states (prompt length, size values and pixel rules, tier, quality, ``n``, reference images,
typed fields). The contract suite sends them to each target (``test_family``); the project's
tests check them against the bundle's schema and a served mock. A case that should be
refused names the field the 400 must name (the mock names it in ``param``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from evolink_spec.family import ModelContract, PixelRule

PROMPT = "a cat playing in the grass"
UNSUPPORTED_RATIO = "7:5"
"""A ratio no model documents."""


@dataclass(frozen=True)
class Case:
    model: str
    label: str
    body: dict[str, Any]
    refused_param: str | None = None
    """None: the create must be accepted; else the field its 400 must name."""
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.model}:{self.label}"


def reference_url(contract: ModelContract, index: int = 0) -> str:
    inputs = contract.image_urls
    extension = inputs.extensions[0] if inputs is not None and inputs.extensions else "png"
    return f"https://example.com/reference-{index}.{extension}"


def base_body(contract: ModelContract) -> dict[str, Any]:
    body: dict[str, Any] = {"model": contract.name, "prompt": PROMPT}
    if contract.image_urls is not None and contract.image_urls.required:
        body["image_urls"] = [reference_url(contract)]
    return body


def _fits(rule: PixelRule, width: int, height: int) -> bool:
    return rule.problem(width, height) is None


def valid_pixels(rule: PixelRule) -> tuple[int, int]:
    """A pixel size the rule accepts (a common size first, else a square that fits)."""
    for width, height in ((1024, 1024), (1280, 1280), (2048, 2048), (1280, 720), (1536, 1024)):
        if _fits(rule, width, height):
            return width, height
    side = rule.multiple_of * math.ceil(math.sqrt(rule.total_min) / rule.multiple_of)
    if _fits(rule, side, side):
        return side, side
    raise AssertionError(f"no pixel size found for {rule}")


def _pixel_cases(rule: PixelRule) -> Iterator[tuple[str, tuple[int, int], bool]]:
    """(label, (width, height), accepted) at each bound of a pixel rule."""
    step = rule.multiple_of
    width, height = valid_pixels(rule)
    yield "pixels-inside", (width, height), True
    if step > 1:
        yield "pixels-not-multiple", (width + 1, height), False
    if rule.side_max is not None:
        top = rule.side_max
        # The longest side allowed, the other side chosen to keep total and aspect inside.
        for other in range(step * math.ceil(max(rule.side_min, 1) / step), top + 1, step):
            if _fits(rule, top, other):
                yield "side-max", (top, other), True
                yield "side-max-exceeded", (top + step, other), False
                break
    if rule.side_min > 1:
        low = rule.side_min
        for other in range(low, (rule.side_max or 4 * low) + 1, step):
            if _fits(rule, low, other):
                yield "side-min", (low, other), True
                yield "side-min-undercut", (low - 1, other), False
                break
    if rule.total_min > 1:
        best: tuple[int, int] | None = None
        for first in range(step * math.ceil(math.sqrt(rule.total_min) / step), 0, -step):
            second = step * math.ceil(rule.total_min / first / step)
            if _fits(rule, first, second) and not _fits(rule, first, second - step):
                best = (first, second)
                break
        if best is not None:
            yield "total-min", best, True
            yield "total-min-undercut", (best[0], best[1] - step), False
    if rule.total_max is not None:
        side = step * math.floor(math.sqrt(rule.total_max) / step)
        if _fits(rule, side, side):
            yield "total-max", (side, side), True
            yield "total-max-exceeded", (side + step, side + step), False
    if rule.max_aspect is not None:
        for short in range(step * math.ceil(max(rule.side_min, 16) / step), 5000, step):
            long_side = step * math.floor(short * rule.max_aspect / step)
            if _fits(rule, long_side, short) and not _fits(rule, long_side + step, short):
                yield "aspect-max", (long_side, short), True
                yield "aspect-exceeded", (long_side + step, short), False
                break


def _ends(values: tuple[str, ...], every: bool) -> tuple[str, ...]:
    """All ``values``, or (not ``every``) the first and the last: the list's two ends."""
    return values if every or len(values) <= 2 else (values[0], values[-1])


def cases(contract: ModelContract, *, every_value: bool = True) -> Iterator[Case]:
    """Every limit of one model, from both sides. ``every_value=False`` tries only the first
    and last of each list of accepted values (sizes, tiers, qualities): fewer requests for a
    live target, every limit still probed from both sides."""
    name = contract.name
    base = base_body(contract)

    def case(label: str, refused: str | None = None, **changes: Any) -> Case:
        return with_changes(label, refused, changes)

    def with_changes(label: str, refused: str | None, changes: dict[str, Any]) -> Case:
        body = {**base, **changes}
        return Case(name, label, {k: v for k, v in body.items() if v is not None}, refused)

    yield case("minimal")
    for alias in contract.aliases:
        yield case(f"alias-{alias}", model=alias)
    yield case("prompt-at-limit", prompt="x" * contract.prompt_max)
    yield case("prompt-over-limit", "prompt", prompt="x" * (contract.prompt_max + 1))
    yield case("prompt-missing", "prompt", prompt=None)
    if contract.size is not None:
        for value in _ends(contract.size.values, every_value):
            yield case(f"size-{value}", size=value)
        yield case("size-unsupported", "size", size=UNSUPPORTED_RATIO)
        rule = contract.size.pixels
        if rule is not None:
            for label, (width, height), accepted in _pixel_cases(rule):
                yield case(f"size-{label}-{width}x{height}", None if accepted else "size", size=f"{width}x{height}")
            if "×" in rule.separators:
                width, height = valid_pixels(rule)
                yield case("size-times-sign", size=f"{width}×{height}")
        elif not contract.size.fixed_pixels:
            yield case("size-pixels-refused", "size", size="1024x1024")
    if contract.tier is not None:
        for value in _ends(contract.tier.values, every_value):
            yield with_changes(f"{contract.tier.field}-{value}", None, {contract.tier.field: value})
        yield with_changes(f"{contract.tier.field}-unsupported", contract.tier.field, {contract.tier.field: "8K"})
    if contract.quality is not None:
        for value in _ends(contract.quality.values, every_value):
            yield case(f"quality-{value}", quality=value)
        yield case("quality-unsupported", "quality", quality="ultra")
    if contract.n is not None:
        count = contract.n
        allowed = count.values if count.values is not None else (count.minimum, count.maximum)
        for number in sorted(set(allowed)):
            yield case(f"n-{number}", n=number)
        top = max(allowed)
        yield case(f"n-{top + 1}", "n", n=top + 1)
        yield case("n-0", "n", n=0)
        if count.values is not None:
            missing = next(value for value in range(1, top) if value not in count.values) if top > 2 else None
            if missing is not None:
                yield case(f"n-{missing}-not-offered", "n", n=missing)
    inputs = contract.image_urls
    if inputs is not None:
        if inputs.max_items is not None:
            full = [reference_url(contract, index) for index in range(inputs.max_items)]
            yield case(f"image_urls-{inputs.max_items}", image_urls=full)
            over = full + [reference_url(contract, inputs.max_items)]
            yield case(f"image_urls-{inputs.max_items + 1}", "image_urls", image_urls=over)
        if inputs.min_items:
            yield case("image_urls-empty", "image_urls", image_urls=[])
        if inputs.required:
            yield case("image_urls-missing", "image_urls", image_urls=None)
        if inputs.extensions and "gif" not in inputs.extensions:
            yield case("image_urls-gif", "image_urls", image_urls=["https://example.com/reference.gif"])
    for field_name, schema in contract.fields.items():
        if schema.get("type") == "integer" and "maximum" in schema:
            yield with_changes(f"{field_name}-max", None, {field_name: schema["maximum"]})
            yield with_changes(f"{field_name}-over-max", field_name, {field_name: schema["maximum"] + 1})
        if schema.get("type") == "boolean":
            yield with_changes(f"{field_name}-true", None, {field_name: True})
            yield with_changes(f"{field_name}-not-boolean", field_name, {field_name: "yes"})


def minimal(contract: ModelContract, sent: str | None = None) -> Case:
    """The smallest create a model accepts: its name (or ``sent``, an alias of it), a prompt,
    and a reference image where one is required."""
    body = base_body(contract)
    if sent is not None:
        body["model"] = sent
    return Case(sent or contract.name, "minimal", body)
