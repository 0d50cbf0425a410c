"""The ``--config`` file: accounts, rules and a few settings, in YAML.

    seed: 7
    task_duration: 10           # optional: any of seed, task_duration, speed, clock, journal_max_bytes
    unknown_keys: allow         # or reject: keys not listed answer 401
    accounts:
      sk-two-tasks: {credits: 3.2}
      sk-no-banana: {models: []}
      sk-throttled: {rate_limit_per_minute: 3}
    rules:
      - match: {prompt_regex: "explode"}
        respond: {status: 500}

Every error names the file and the member at fault.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .accounts import AccountSpec
from .argtypes import finite_float, whole_number
from .rules import RuleBook, RuleError
from .settings import check_setting

SETTINGS_KEYS = ("seed", "task_duration", "speed", "clock", "journal_max_bytes")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class MockConfig:
    accounts: dict[str, AccountSpec] = field(default_factory=dict)
    unknown_keys: str = "allow"
    rules: list[Any] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def _account(data: Any, where: str) -> AccountSpec:
    if data is None:
        return AccountSpec()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping of credits, models, rate_limit_per_minute")
    unknown = sorted(set(data) - {"credits", "models", "rate_limit_per_minute"})
    if unknown:
        raise ConfigError(f"{where}: unknown member {unknown[0]!r} (known: credits, models, rate_limit_per_minute)")
    credits = data.get("credits")
    if credits is not None:
        try:
            credits = finite_float(credits, minimum=0, text=False)
        except ValueError as error:
            raise ConfigError(f"{where}.credits: {error}") from None
    models = data.get("models")
    if models is not None and (not isinstance(models, list) or not all(isinstance(m, str) for m in models)):
        raise ConfigError(f"{where}.models: must be a list of model names")
    limit = data.get("rate_limit_per_minute")
    if limit is not None:
        try:
            limit = whole_number(limit, minimum=1, text=False)
        except ValueError as error:
            raise ConfigError(f"{where}.rate_limit_per_minute: {error}") from None
    return AccountSpec(
        None if credits is None else float(credits),
        None if models is None else tuple(models),
        limit,
    )


def parse_config(data: Any, source: str = "config") -> MockConfig:
    """Check and convert a parsed config document; rules are checked by building them."""
    if data is None:
        return MockConfig()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    known = ("accounts", "unknown_keys", "rules", *SETTINGS_KEYS)
    unknown = sorted(set(data) - set(known))
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"{source}: unknown member {unknown[0]!r} ({hint}known: {', '.join(known)})")
    accounts_data = data.get("accounts") or {}
    if not isinstance(accounts_data, dict):
        raise ConfigError(f"{source}: accounts: must map API keys to accounts")
    accounts = {str(key): _account(value, f"{source}: accounts.{key}") for key, value in accounts_data.items()}
    unknown_keys = data.get("unknown_keys", "allow")
    if unknown_keys not in ("allow", "reject"):
        raise ConfigError(f"{source}: unknown_keys: must be allow or reject, got {unknown_keys!r}")
    rules = data.get("rules") or []
    try:
        RuleBook(rules)
    except RuleError as error:
        raise ConfigError(f"{source}: {error}") from None
    settings: dict[str, Any] = {}
    for key in SETTINGS_KEYS:
        if key in data:
            try:
                settings[key] = check_setting(key, data[key])
            except ValueError as error:
                raise ConfigError(f"{source}: {key}: {error}") from None
    return MockConfig(accounts, unknown_keys, list(rules), settings)


def load_config(path: str | Path) -> MockConfig:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{file}: cannot read: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{file}: not valid YAML: {error}") from None
    return parse_config(data, str(file))
