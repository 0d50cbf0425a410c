"""The --config file: accepted shapes, and errors that name the file and the member."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.accounts import AccountSpec
from mock_server.config import ConfigError, load_config, parse_config

SCENARIOS = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios"


def test_example__loads_with_accounts_rules_and_seed() -> None:
    config = load_config(SCENARIOS / "example.yaml")
    assert config.accounts == {
        "sk-two-tasks": AccountSpec(credits=3.2),
        "sk-no-banana": AccountSpec(models=()),
        "sk-throttled": AccountSpec(rate_limit_per_minute=3),
    }
    assert config.settings == {"seed": 7}
    assert len(config.rules) == 3


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "the top level must be a mapping"),
        ({"acounts": {}}, "unknown member 'acounts'"),
        ({"accounts": {"k": {"credits": -1}}}, "accounts.k.credits: must be a number, 0 or more"),
        ({"accounts": {"k": {"credits": "lots"}}}, "accounts.k.credits"),
        ({"accounts": {"k": {"models": "nano"}}}, "accounts.k.models: must be a list"),
        ({"accounts": {"k": {"rate_limit_per_minute": 0}}}, "accounts.k.rate_limit_per_minute"),
        ({"accounts": {"k": {"limit": 1}}}, "accounts.k: unknown member 'limit'"),
        ({"accounts": ["k"]}, "accounts: must map API keys"),
        ({"unknown_keys": "maybe"}, "unknown_keys: must be allow or reject"),
        ({"rules": [{"respond": {"status": 499}}]}, "rules[0].respond.status"),
        ({"rules": {"a": 1}}, "rules: must be a list"),
    ],
)
def test_parse__names_the_member_at_fault(document: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "my.yaml")
    assert str(raised.value).startswith("my.yaml")
    assert message in str(raised.value)


def test_load__reports_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_config(broken)


def test_empty_file__is_an_empty_config(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_config(empty) == parse_config({})
