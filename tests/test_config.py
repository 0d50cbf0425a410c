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
        ({"acounts": {}}, "did you mean 'accounts'?"),
        ({"accounts": {"k": {"credits": -1}}}, "accounts.k.credits: must be 0 or more, got -1"),
        ({"accounts": {"k": {"credits": float("nan")}}}, "accounts.k.credits: must be a finite number, got nan"),
        ({"accounts": {"k": {"credits": float("inf")}}}, "accounts.k.credits: must be a finite number, got inf"),
        ({"accounts": {"k": {"credits": "5"}}}, "accounts.k.credits: must be a number, got '5'"),
        ({"accounts": {"k": {"credits": "lots"}}}, "accounts.k.credits"),
        ({"accounts": {"k": {"models": "nano"}}}, "accounts.k.models: must be a list"),
        (
            {"accounts": {"k": {"rate_limit_per_minute": 0}}},
            "accounts.k.rate_limit_per_minute: must be a whole number 1",
        ),
        ({"accounts": {"k": {"rate_limit_per_minute": 2.5}}}, "accounts.k.rate_limit_per_minute: must be a whole"),
        ({"accounts": {"k": {"limit": 1}}}, "accounts.k: unknown member 'limit'"),
        ({"accounts": ["k"]}, "accounts: must map API keys"),
        ({"unknown_keys": "maybe"}, "unknown_keys: must be allow or reject"),
        ({"rules": [{"respond": {"status": 499}}]}, "rules[0].respond.status"),
        ({"rules": {"a": 1}}, "rules: must be a list"),
        ({"rules": [{"task": {"duration": float("inf")}}]}, "rules[0].task.duration: must be a finite number, got inf"),
        ({"rules": [{"task": {"duration": float("nan")}}]}, "rules[0].task.duration: must be a finite number, got nan"),
        ({"rules": [{"task": {"duration": "5"}}]}, "rules[0].task.duration: must be a number, got '5'"),
        ({"clock": "virtaul"}, "my.yaml: clock: must be 'real' or 'virtual', got 'virtaul'"),
        ({"seed": "abc"}, "my.yaml: seed: must be a whole number, got 'abc'"),
        ({"seed": 1.5}, "my.yaml: seed: must be a whole number, got 1.5"),
        ({"speed": float("nan")}, "my.yaml: speed: must be a finite number, got nan"),
        ({"task_duration": float("inf")}, "my.yaml: task_duration: must be a finite number, got inf"),
        ({"speed": 0}, "my.yaml: speed: must be greater than 0"),
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


def test_load__refuses_yaml_nan_and_inf_naming_the_file_and_member(tmp_path: Path) -> None:
    config = tmp_path / "odd.yaml"
    config.write_text("speed: .nan\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"odd\.yaml: speed: must be a finite number, got nan"):
        load_config(config)
    config.write_text("accounts:\n  k: {credits: .inf}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"odd\.yaml: accounts\.k\.credits: must be a finite number, got inf"):
        load_config(config)


def test_settings__come_back_in_their_type() -> None:
    assert parse_config({"seed": 7, "task_duration": 2, "clock": "virtual"}).settings == {
        "seed": 7,
        "task_duration": 2.0,
        "clock": "virtual",
    }
