"""The image family: each model's documented contract as typed facts.

Every image model is created through the same ``POST /v1/images/generations``; only
``model`` differs, and with it the limits. ``spec/models/<model>.yaml`` holds one model's
facts, written from the provider's page for it (see ``spec/README.md``).
``add_family(document, directory)`` puts them into the bundle: each model gets a request
schema (``ImageGenerationRequest`` stays the seed's Nano Banana one) carrying its facts under
``x-evolink-model``, and the create operation takes ``ImageFamilyRequest``, a ``oneOf``
keyed on ``model``. ``family_of(bundle)`` reads the facts back from a bundle, so at run time
the bundle is the only file read.

A schema states most of a model's contract; what it cannot state (a pixel size's total and
aspect, both sides' multiple) is ``ModelContract.size_problem``. What a create costs and
makes (answered name, result sizes, credits, estimate) is ``ModelContract.plan``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MODELS_DIR = "models"
FACTS_KEY = "x-evolink-model"
FAMILY_SCHEMA = "ImageFamilyRequest"
SEED_SCHEMA = "ImageGenerationRequest"
"""The seed's request schema: the Nano Banana model's, kept as the seed and overlay make it."""
CREATE_PATH = "/v1/images/generations"

Pixels = tuple[int, int]


class FamilyError(ValueError):
    """A model file that does not describe a model, or that disagrees with the seed."""


def _ratio(text: str) -> tuple[int, int]:
    width, _, height = text.partition(":")
    return int(width), int(height)


def _round_to(value: float, step: int) -> int:
    return max(step, int(round(value / step)) * step)


def _floor_to(value: float, step: int) -> int:
    return max(step, int(value // step) * step)


def _ci(text: str) -> str:
    """``jpeg`` as a case-insensitive pattern: ``[Jj][Pp][Ee][Gg]``."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in text)


@dataclass(frozen=True, slots=True)
class PixelRule:
    """The rule a free ``WIDTHxHEIGHT`` size must meet."""

    separators: tuple[str, ...] = ("x",)
    side_min: int = 1
    side_max: int | None = None
    multiple_of: int = 1
    total_min: int = 1
    total_max: int | None = None
    max_aspect: float | None = None
    """The long side at most this many times the short one."""

    @property
    def pattern(self) -> str:
        """The form alone (the schema's part): digits, a separator, digits."""
        joined = "|".join(re.escape(separator) for separator in self.separators)
        return f"^[1-9][0-9]{{0,5}}({joined})[1-9][0-9]{{0,5}}$"

    def parse(self, value: str) -> Pixels | None:
        match = re.match(self.pattern, value)
        if match is None:
            return None
        width, height = value.split(match.group(1))
        return int(width), int(height)

    def problem(self, width: int, height: int) -> str | None:
        """Why a width and height break the rule, or None."""
        top = self.side_max
        if width < self.side_min or height < self.side_min or (top is not None and max(width, height) > top):
            limit = f"from {self.side_min} to {top}" if top is not None else f"at least {self.side_min}"
            return f"each side must be {limit} pixels"
        if width % self.multiple_of or height % self.multiple_of:
            return f"each side must be a multiple of {self.multiple_of} pixels"
        total = width * height
        if total < self.total_min or (self.total_max is not None and total > self.total_max):
            upper = f" to {self.total_max:,}" if self.total_max is not None else ""
            return f"width x height must be from {self.total_min:,}{upper} pixels (got {total:,})"
        if self.max_aspect is not None and max(width, height) > self.max_aspect * min(width, height):
            return f"the long side may be at most {self.max_aspect:g} times the short side"
        return None


@dataclass(frozen=True, slots=True)
class SizeRule:
    """What ``size`` accepts for one model."""

    default: str | None
    auto: bool = False
    ratios: tuple[str, ...] = ()
    fixed_pixels: tuple[str, ...] = ()
    named: Mapping[str, Pixels] = field(default_factory=dict)
    pixels: PixelRule | None = None

    @property
    def values(self) -> tuple[str, ...]:
        """Every exact value ``size`` accepts (free pixel sizes aside)."""
        return (("auto",) if self.auto else ()) + self.ratios + self.fixed_pixels + tuple(self.named)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.pixels is None:
            schema["enum"] = list(self.values)
        elif self.values:
            schema["anyOf"] = [{"enum": list(self.values)}, {"pattern": self.pixels.pattern}]
        else:
            schema["pattern"] = self.pixels.pattern
        if self.default is not None:
            schema["default"] = self.default
        return schema

    def pixels_of(self, value: str) -> Pixels | None:
        """The width and height an explicit pixel value asks for (fixed or free), or None."""
        if value in self.named:
            return None
        if value in self.fixed_pixels:
            width, _, height = value.partition("x")
            return int(width), int(height)
        return self.pixels.parse(value) if self.pixels is not None and value not in self.values else None


@dataclass(frozen=True, slots=True)
class Tier:
    """A resolution tier (``1K``, ``2K``...) and the field that carries it."""

    field: str
    values: tuple[str, ...]
    default: str
    applies_to: str = "ratio"
    """``ratio`` (ignored for ``auto`` and explicit pixels) or ``ratio-and-auto``."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A field with a set of values and a default (``quality: low/medium/high``)."""

    values: tuple[str, ...]
    default: str


@dataclass(frozen=True, slots=True)
class Count:
    """How many images a task makes (``n``)."""

    default: int = 1
    minimum: int = 1
    maximum: int = 1
    values: tuple[int, ...] | None = None

    def schema(self) -> dict[str, Any]:
        if self.values is not None:
            return {"type": "integer", "enum": list(self.values), "default": self.default}
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum, "default": self.default}


@dataclass(frozen=True, slots=True)
class ImageInputs:
    """The reference images a create may (or must) send in ``image_urls``."""

    required: bool = False
    min_items: int | None = None
    max_items: int | None = None
    max_megabytes: int | None = None
    extensions: tuple[str, ...] = ()
    side_min: int | None = None
    side_max: int | None = None

    @property
    def pattern(self) -> str | None:
        """A link's form: a path ending in a documented extension (any letter case), before an
        optional query or fragment (as the seed's overlay states it for Nano Banana)."""
        if not self.extensions:
            return None
        return rf"^[^?#]*\.({'|'.join(_ci(extension) for extension in self.extensions)})([?#].*)?$"

    def schema(self) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "string", "format": "uri"}
        if self.pattern is not None:
            item["pattern"] = self.pattern
        schema: dict[str, Any] = {"type": "array", "items": item}
        if self.min_items is not None:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema


@dataclass(frozen=True, slots=True)
class CreateAnswer:
    """What the create answer says about time and money."""

    estimated_time: int
    billing_rule: str
    credits_reserved: float
    credits_times_n: bool = False
    credits_by_tier: Mapping[str, float] = field(default_factory=dict)
    pixel_tiers: tuple[tuple[int, str], ...] = ()
    """For explicit pixels: the billing tier of each total pixel count (up to, tier)."""

    def credits(self, asked: int, tier: str | None) -> float:
        """Credits reserved for ``asked`` images (the ``n`` sent: pages say the service reserves
        for ``n`` and bills the images made) at a billing ``tier``."""
        amount = self.credits_reserved * (asked if self.credits_times_n else 1)
        amount *= self.credits_by_tier.get(tier, 1.0) if tier is not None else 1.0
        return round(amount, 6)

    def billing_tier(self, pixels: Pixels) -> str | None:
        total = pixels[0] * pixels[1]
        for limit, tier in self.pixel_tiers:
            if total <= limit:
                return tier
        return self.pixel_tiers[-1][1] if self.pixel_tiers else None


@dataclass(frozen=True, slots=True)
class OutputRule:
    """How big each result image is (what the page states, or the mock's documented choice)."""

    rule: str
    """``table`` (pixels per ratio), ``budget`` (pixels per tier), ``anchor`` (an edge per
    tier), ``named`` (the size's named pixels), ``pixels`` (as asked), ``fixed`` (one size)."""
    table: Mapping[str, Pixels] = field(default_factory=dict)
    budgets: Mapping[str, int] = field(default_factory=dict)
    anchors: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    multiple_of: int = 1
    side_min: int | None = None
    side_max: int | None = None
    total_max: int | None = None
    auto: str = "1:1"
    fixed: Pixels = (1024, 1024)

    def of_ratio(self, ratio: str, tier: str | None) -> Pixels:
        if self.rule == "table":
            return self.table.get(ratio, self.table.get(self.auto, self.fixed))
        if self.rule == "fixed":
            return self.fixed
        wide, high = _ratio(ratio)
        step = self.multiple_of
        if self.rule == "anchor":
            anchor = self.anchors.get(tier) if tier is not None else None
            edge, length = anchor if anchor is not None else next(iter(self.anchors.values()))
            long_side = length if edge == "long" else length * max(wide, high) / min(wide, high)
            short_side = length if edge == "short" else length * min(wide, high) / max(wide, high)
            width, height = (long_side, short_side) if wide >= high else (short_side, long_side)
        else:  # budget
            found = self.budgets.get(tier) if tier is not None else None
            budget = found if found is not None else next(iter(self.budgets.values()))
            width, height = math.sqrt(budget * wide / high), math.sqrt(budget * high / wide)
        pixels = (_round_to(width, step), _round_to(height, step))
        return self._bounded(pixels)

    def _bounded(self, pixels: Pixels) -> Pixels:
        width, height = pixels
        step = self.multiple_of
        if self.side_max is not None and max(width, height) > self.side_max:
            scale = self.side_max / max(width, height)
            width, height = _floor_to(width * scale, step), _floor_to(height * scale, step)
        if self.total_max is not None and width * height > self.total_max:
            scale = math.sqrt(self.total_max / (width * height))
            width, height = _floor_to(width * scale, step), _floor_to(height * scale, step)
        if self.side_min is not None and min(width, height) < self.side_min:
            scale = self.side_min / min(width, height)
            width, height = math.ceil(width * scale), math.ceil(height * scale)
        return width, height


@dataclass(frozen=True, slots=True)
class Plan:
    """What one create of a model makes and costs."""

    model: str
    """The name the answer carries (an alias answers with the name it maps to)."""
    images: tuple[Pixels, ...]
    credits: float
    estimated_time: int
    tier: str | None

    @property
    def size(self) -> str:
        """Each result's ``WIDTHxHEIGHT``."""
        width, height = self.images[0]
        return f"{width}x{height}"


@dataclass(frozen=True, slots=True)
class ModelContract:
    """One model's documented contract."""

    name: str
    title: str
    schema_name: str
    aliases: Mapping[str, str]
    prompt_max: int
    answer: CreateAnswer
    output: OutputRule
    inputs: str = "image-optional"
    size: SizeRule | None = None
    tier: Tier | None = None
    quality: Choice | None = None
    n: Count | None = None
    image_urls: ImageInputs | None = None
    images_total_max: int | None = None
    fields: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sources: tuple[Mapping[str, Any], ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The model file as written (the bundle carries it under ``x-evolink-model``)."""

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a create may send for this model: its own, then its aliases."""
        return (self.name, *self.aliases)

    @property
    def sizes(self) -> tuple[str, ...]:
        """Every exact ``size`` value (free pixel sizes aside); () when the model has no ``size``."""
        return self.size.values if self.size is not None else ()

    @property
    def default_size(self) -> str | None:
        return self.size.default if self.size is not None else None

    @property
    def max_image_urls(self) -> int | None:
        return self.image_urls.max_items if self.image_urls is not None else None

    @property
    def max_prompt_length(self) -> int:
        return self.prompt_max

    @property
    def source_page(self) -> str:
        page: str = self.sources[0]["page"] if self.sources else ""
        return page

    def answered_name(self, sent: str) -> str:
        return self.aliases.get(sent, self.name)

    def request_schema(self, callback_url: Mapping[str, Any]) -> dict[str, Any]:
        """The model's request body as JSON Schema (``callback_url`` is the seed's, shared)."""
        properties: dict[str, Any] = {
            "model": {"type": "string", "enum": list(self.names), "default": self.name},
            "prompt": {"type": "string", "maxLength": self.prompt_max},
        }
        if self.size is not None:
            properties["size"] = self.size.schema()
        if self.tier is not None:
            properties[self.tier.field] = {
                "type": "string",
                "enum": list(self.tier.values),
                "default": self.tier.default,
            }
        if self.quality is not None:
            properties["quality"] = {
                "type": "string",
                "enum": list(self.quality.values),
                "default": self.quality.default,
            }
        if self.n is not None:
            properties["n"] = self.n.schema()
        if self.image_urls is not None:
            properties["image_urls"] = self.image_urls.schema()
        for name, schema in self.fields.items():
            properties[name] = dict(schema)
        # The seed's rule, without its (Chinese) prose: the seed's schema documents it once.
        properties["callback_url"] = {k: copy.deepcopy(v) for k, v in callback_url.items() if k != "description"}
        required = ["model", "prompt"] + (["image_urls"] if self.image_urls and self.image_urls.required else [])
        return {
            "type": "object",
            "description": f"{self.title}: see {self.source_page} (spec/models/{self.name}.yaml)",
            "required": required,
            "properties": properties,
            FACTS_KEY: copy.deepcopy(dict(self.facts)),
        }

    def size_problem(self, body: Mapping[str, Any]) -> str | None:
        """Why the body's ``size`` breaks a rule its schema cannot state, or None."""
        size = body.get("size")
        if self.size is None or self.size.pixels is None or not isinstance(size, str) or size in self.size.values:
            return None
        pixels = self.size.pixels.parse(size)
        if pixels is None:
            return None  # the schema's pattern has already refused it
        problem = self.size.pixels.problem(*pixels)
        return f"Invalid value for 'size': {size!r}: {problem}" if problem is not None else None

    def plan(self, body: Mapping[str, Any]) -> Plan:
        """What a create with this (valid) body makes: answered name, result sizes, credits."""
        sent = body.get("model")
        model = self.answered_name(sent) if isinstance(sent, str) else self.name
        pixels, tier = self._pixels_and_tier(body)
        asked = self._asked(body)
        return Plan(
            model=model,
            images=(pixels,) * self._made(body, asked),
            credits=self.answer.credits(asked, tier),
            estimated_time=self.answer.estimated_time,
            tier=tier,
        )

    def _asked(self, body: Mapping[str, Any]) -> int:
        """The images asked for: ``n`` when the model has it, else one."""
        n = body.get("n")
        if self.n is None:
            return 1
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else self.n.default

    def _made(self, body: Mapping[str, Any], asked: int) -> int:
        """The images made: as asked, within a cap on inputs plus outputs (Seedream's 15)."""
        urls = body.get("image_urls")
        if self.images_total_max is not None and isinstance(urls, list):
            return max(1, min(asked, self.images_total_max - len(urls)))
        return asked

    def _tier(self, body: Mapping[str, Any]) -> str | None:
        if self.tier is None:
            return None
        asked = body.get(self.tier.field)
        return asked if isinstance(asked, str) and asked in self.tier.values else self.tier.default

    def _pixels_and_tier(self, body: Mapping[str, Any]) -> tuple[Pixels, str | None]:
        output = self.output
        if output.rule == "fixed" or self.size is None:
            return output.fixed, self._tier(body)
        asked = body.get("size")
        size = asked if isinstance(asked, str) else self.size.default
        if size is None:
            return output.of_ratio(output.auto, self._tier(body)), self._tier(body)
        if size in self.size.named:
            return self.size.named[size], size
        explicit = self.size.pixels_of(size)
        if explicit is not None:
            tier = self.answer.billing_tier(explicit) if self.answer.pixel_tiers else self._tier(body)
            return explicit, tier
        tier = self._tier(body)
        if size == "auto":
            # auto bills at the default tier when the tier applies to ratios only (gpt-image-2's 1K)
            auto_tier = tier if self.tier is not None and self.tier.applies_to == "ratio-and-auto" else None
            chosen = auto_tier or (self.tier.default if self.tier is not None else None)
            return output.of_ratio(output.auto, chosen), chosen
        return output.of_ratio(size, tier), tier


@dataclass(frozen=True, slots=True)
class Family:
    """Every documented model, by name; aliases reach the model they belong to."""

    models: Mapping[str, ModelContract]

    @property
    def names(self) -> dict[str, str]:
        """Every accepted name (own or alias) to the model's own name."""
        return {sent: model.name for model in self.models.values() for sent in model.names}

    def model(self, sent: str) -> ModelContract:
        """The model a sent name reaches; ``KeyError`` for an unknown one."""
        return self.models[self.names[sent]]

    def get(self, sent: object) -> ModelContract | None:
        if not isinstance(sent, str):
            return None
        own = self.names.get(sent)
        return self.models[own] if own is not None else None


# -- reading model files --------------------------------------------------------------------


def schema_name(model: str) -> str:
    """``gpt-image-2`` -> ``GptImage2Request`` (``doubao-seedream-4.5`` -> ``DoubaoSeedream45Request``)."""
    parts = re.split(r"[^A-Za-z0-9]+", model)
    return "".join(part[:1].upper() + part[1:] for part in parts if part) + "Request"


def _pixels(value: Sequence[int]) -> Pixels:
    return int(value[0]), int(value[1])


def contract_from_facts(facts: Mapping[str, Any], *, seed_model: str | None = None) -> ModelContract:
    """A model file's facts as a ``ModelContract`` (``seed_model``: the model whose schema is the seed's)."""
    try:
        name = str(facts["model"])
        size = facts.get("size")
        size_rule = None
        if size is not None:
            pixels = size.get("pixels")
            size_rule = SizeRule(
                default=size.get("default"),
                auto=bool(size.get("auto", False)),
                ratios=tuple(size.get("ratios", ())),
                fixed_pixels=tuple(size.get("fixed_pixels", ())),
                named={key: _pixels(value) for key, value in size.get("named", {}).items()},
                pixels=PixelRule(
                    separators=tuple(pixels.get("separators", ("x",))),
                    side_min=int(pixels.get("side_min", 1)),
                    side_max=pixels.get("side_max"),
                    multiple_of=int(pixels.get("multiple_of", 1)),
                    total_min=int(pixels.get("total_min", 1)),
                    total_max=pixels.get("total_max"),
                    max_aspect=pixels.get("max_aspect"),
                )
                if pixels is not None
                else None,
            )
        tier = facts.get("tier")
        quality = facts.get("quality")
        n = facts.get("n")
        urls = facts.get("image_urls")
        inputs = str(facts.get("inputs", "image-optional"))
        answer = facts["create_answer"]
        output = facts.get("output", {"rule": "fixed"})
        return ModelContract(
            name=name,
            title=str(facts.get("title", name)),
            schema_name=SEED_SCHEMA if name == seed_model else schema_name(name),
            aliases={str(alias): str(target) for alias, target in (facts.get("aliases") or {}).items()},
            prompt_max=int(facts["prompt"]["max_length"]),
            inputs=inputs,
            size=size_rule,
            tier=Tier(
                str(tier["field"]), tuple(tier["values"]), str(tier["default"]), str(tier.get("applies_to", "ratio"))
            )
            if tier is not None
            else None,
            quality=Choice(tuple(quality["values"]), str(quality["default"])) if quality is not None else None,
            n=Count(
                default=int(n.get("default", 1)),
                minimum=int(n.get("min", 1)),
                maximum=int(n.get("max", 1)),
                values=tuple(n["values"]) if "values" in n else None,
            )
            if n is not None
            else None,
            image_urls=ImageInputs(
                required=inputs == "image-required",
                min_items=urls.get("min_items"),
                max_items=urls.get("max_items"),
                max_megabytes=urls.get("max_megabytes"),
                extensions=tuple(urls.get("extensions", ())),
                side_min=urls.get("side_min"),
                side_max=urls.get("side_max"),
            )
            if urls is not None
            else None,
            images_total_max=facts.get("images_total_max"),
            fields={str(key): dict(value) for key, value in (facts.get("fields") or {}).items()},
            answer=CreateAnswer(
                estimated_time=int(answer["estimated_time"]),
                billing_rule=str(answer["billing_rule"]),
                credits_reserved=float(answer["credits_reserved"]),
                credits_times_n=bool(answer.get("credits_times_n", False)),
                credits_by_tier={str(k): float(v) for k, v in (answer.get("credits_by_tier") or {}).items()},
                pixel_tiers=tuple((int(limit), str(tier)) for limit, tier in answer.get("pixel_tiers", ())),
            ),
            output=OutputRule(
                rule=str(output["rule"]),
                table={ratio: _pixels(value) for ratio, value in (output.get("table") or {}).items()},
                budgets={str(k): int(v) for k, v in (output.get("budgets") or {}).items()},
                anchors={str(k): (str(v[0]), int(v[1])) for k, v in (output.get("anchors") or {}).items()},
                multiple_of=int(output.get("multiple_of", 1)),
                side_min=output.get("side_min"),
                side_max=output.get("side_max"),
                total_max=output.get("total_max"),
                auto=str(output.get("auto", "1:1")),
                fixed=_pixels(output["pixels"])
                if "pixels" in output and isinstance(output["pixels"], list)
                else (1024, 1024),
            ),
            sources=tuple(facts.get("sources", ())),
            facts=facts,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise FamilyError(f"model file for {facts.get('model', '?')!r} is not a model contract: {error!r}") from error


def read_model_files(directory: Path) -> list[dict[str, Any]]:
    """The facts of every ``models/*.yaml`` of a spec folder, in name order."""
    found: list[dict[str, Any]] = []
    for path in sorted((directory / MODELS_DIR).glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            # JSON-safe: YAML reads an unquoted 2026-12-01 as a date; the bundle holds text.
            facts = json.loads(json.dumps(yaml.safe_load(handle), default=str))
        if not isinstance(facts, dict) or facts.get("model") != path.stem:
            raise FamilyError(f"{path.name} must describe the model {path.stem!r}")
        found.append(facts)
    return found


# -- the family in the bundle -----------------------------------------------------------------


def _seed_model(document: Mapping[str, Any]) -> str:
    model = document["components"]["schemas"][SEED_SCHEMA]["properties"]["model"]
    name: str = model.get("default", model["enum"][0])
    return name


def check_seed_agrees(seed_schema: Mapping[str, Any], contract: ModelContract) -> None:
    """The seed's model file restates the (overlaid) seed: raise ``FamilyError`` where it does not."""
    properties = seed_schema["properties"]
    found = {
        "names": sorted(properties["model"]["enum"]),
        "prompt": properties["prompt"]["maxLength"],
        "sizes": sorted(properties["size"]["enum"]),
        "image_urls": properties["image_urls"].get("maxItems"),
    }
    written = {
        "names": sorted(contract.names),
        "prompt": contract.prompt_max,
        "sizes": sorted(contract.size.values) if contract.size else [],
        "image_urls": contract.image_urls.max_items if contract.image_urls else None,
    }
    for key, value in found.items():
        if written[key] != value:
            raise FamilyError(f"models/{contract.name}.yaml says {key} {written[key]!r}, the seed {value!r}")


def add_family(document: dict[str, Any], directory: Path) -> dict[str, Any]:
    """The bundle with the whole family: a schema per model, ``ImageFamilyRequest`` (a ``oneOf``
    keyed on ``model``) as the create operation's body, and an example per model."""
    result = copy.deepcopy(document)
    files = read_model_files(directory)
    if not files:
        return result
    schemas = result["components"]["schemas"]
    seed = _seed_model(result)
    callback_url = schemas[SEED_SCHEMA]["properties"]["callback_url"]
    contracts = [contract_from_facts(facts, seed_model=seed) for facts in files]
    if seed not in {contract.name for contract in contracts}:
        raise FamilyError(f"no models/{seed}.yaml for the seed's model")
    contracts.sort(key=lambda contract: (contract.name != seed, contract.name))  # the seed's model first
    mapping: dict[str, str] = {}
    for contract in contracts:
        reference = f"#/components/schemas/{contract.schema_name}"
        if contract.name == seed:
            check_seed_agrees(schemas[SEED_SCHEMA], contract)
            schemas[SEED_SCHEMA][FACTS_KEY] = copy.deepcopy(dict(contract.facts))
        else:
            if contract.schema_name in schemas:
                raise FamilyError(f"components.schemas.{contract.schema_name} already exists")
            schemas[contract.schema_name] = contract.request_schema(callback_url)
        for sent in contract.names:
            if sent in mapping:
                raise FamilyError(f"the model name {sent!r} belongs to two model files")
            mapping[sent] = reference
    order = [contract.name for contract in contracts]
    by_name = {contract.name: contract for contract in contracts}
    schemas[FAMILY_SCHEMA] = {
        "description": (
            "The image family: one request schema per model, chosen by `model` "
            "(spec/models/, one file per model, each from the provider's page for it)."
        ),
        "oneOf": [{"$ref": f"#/components/schemas/{by_name[name].schema_name}"} for name in order],
        "discriminator": {"propertyName": "model", "mapping": mapping},
    }
    body = result["paths"][CREATE_PATH]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = {"$ref": f"#/components/schemas/{FAMILY_SCHEMA}"}
    examples = body.setdefault("examples", {})
    for name in order[1:]:
        examples[f"model_{re.sub(r'[^A-Za-z0-9]+', '_', name)}"] = {
            "summary": by_name[name].title,
            "value": _example(by_name[name]),
        }
    return result


def _example(contract: ModelContract) -> dict[str, Any]:
    value: dict[str, Any] = {"model": contract.name, "prompt": "A cat playing in the grass"}
    if contract.image_urls is not None and contract.image_urls.required:
        extension = contract.image_urls.extensions[0] if contract.image_urls.extensions else "png"
        value["image_urls"] = [f"https://example.com/image1.{extension}"]
    return value


def family_of(bundle: Mapping[str, Any]) -> Family:
    """The family a bundle documents (one model, the seed's, before the family is added)."""
    schemas = bundle["components"]["schemas"]
    seed = _seed_model(bundle)
    family = schemas.get(FAMILY_SCHEMA)
    references = [item["$ref"].rsplit("/", 1)[-1] for item in family["oneOf"]] if family else [SEED_SCHEMA]
    models: dict[str, ModelContract] = {}
    for name in references:
        facts = schemas[name].get(FACTS_KEY)
        if facts is None:
            raise FamilyError(f"components.schemas.{name} carries no {FACTS_KEY}")
        contract = contract_from_facts(facts, seed_model=seed)
        models[contract.name] = contract
    return Family(models)
