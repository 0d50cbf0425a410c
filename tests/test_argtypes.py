"""The one number parser, and every surface that reads a number through it refusing NaN
and infinities with a clear message (options, variables and config members are in
test_cli, test_settings and test_config)."""

from __future__ import annotations

import argparse
import re

import httpx
import pytest

from mock_server.argtypes import NumberError, finite_float, non_negative_int, positive_float, whole_number
from mock_server.preferences import parse_prefer
from tests.conftest import AUTH, CREATE, body

NON_FINITE_TEXT = ["nan", "NaN", "-nan", "inf", "+inf", "-inf", "Infinity", "1e999", "-1e999"]
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("text", NON_FINITE_TEXT)
def test_finite_float__refuses_non_finite_text(text: str) -> None:
    with pytest.raises(NumberError, match=f"^must be a finite number, got {re.escape(text)}$"):
        finite_float(text)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 10**400])
def test_finite_float__refuses_non_finite_numbers(value: float) -> None:
    with pytest.raises(NumberError, match="^must be a finite number, got "):
        finite_float(value)


@pytest.mark.parametrize(
    ("value", "bounds", "message"),
    [
        ("-1", {"minimum": 0}, "must be 0 or more, got -1"),
        ("0", {"above": 0}, "must be greater than 0, got 0"),
        (7, {"minimum": 0, "maximum": 5}, "must be from 0 to 5, got 7"),
        ("x", {}, "must be a number, got 'x'"),
        (True, {}, "must be a number, got True"),
        ("5", {"text": False}, "must be a number, got '5'"),
        (None, {}, "must be a number, got None"),
    ],
)
def test_finite_float__says_what_is_wanted(value: object, bounds: dict[str, object], message: str) -> None:
    with pytest.raises(NumberError) as raised:
        finite_float(value, **bounds)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_finite_float__reads_text_and_numbers() -> None:
    assert (finite_float(" 2.5 "), finite_float(3), finite_float(0.5, above=0)) == (2.5, 3.0, 0.5)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nan", "must be a whole number, got 'nan'"),
        ("inf", "must be a whole number, got 'inf'"),
        (float("nan"), "must be a whole number, got nan"),
        ("2.5", "must be a whole number, got '2.5'"),
        ("\u00b2", "must be a whole number, got '\u00b2'"),  # "²".isdigit() is True
        ("\u0663", "must be a whole number, got '\u0663'"),  # Arabic-Indic three: int() would read it
        (False, "must be a whole number, got False"),
        ("-1", "must be a whole number 0 or more, got -1"),
    ],
)
def test_whole_number__refuses_what_is_not_one(value: object, message: str) -> None:
    with pytest.raises(NumberError) as raised:
        whole_number(value, minimum=0)
    assert str(raised.value) == message


def test_argparse_types__print_the_reason() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--speed", type=positive_float)
    parser.add_argument("--count", type=non_negative_int)
    with pytest.raises(argparse.ArgumentError, match="argument --speed: must be a finite number, got nan"):
        parser.parse_args(["--speed", "nan"])
    with pytest.raises(argparse.ArgumentError, match="argument --count: must be a whole number 0 or more, got -2"):
        parser.parse_args(["--count", "-2"])
    assert parser.parse_args(["--speed", "2", "--count", "3"]) == argparse.Namespace(speed=2.0, count=3)


@pytest.mark.parametrize(
    "header",
    ["task-duration=nan", "task-duration=inf", "task-duration=1e999", "delay-ms=inf", "delay-ms=nan", "code=inf"],
)
def test_prefer__refuses_non_finite_values(header: str) -> None:
    with pytest.raises(Exception, match=f"Invalid Prefer header: {header}: ") as raised:
        parse_prefer([header])
    assert raised.value.status == 400  # type: ignore[attr-defined]


@pytest.mark.parametrize("header", ["delay-ms=\u00b2", "code=\u00b2", "delay-ms=\u0663"])
def test_prefer__refuses_digits_int_cannot_read(header: str) -> None:
    """Starlette decodes header bytes as latin-1, so byte 0xB2 arrives as "²"."""
    with pytest.raises(Exception, match="Invalid Prefer header") as raised:
        parse_prefer([header])
    assert raised.value.status == 400  # type: ignore[attr-defined]


@pytest.mark.anyio
@pytest.mark.parametrize("raw", ["1e999", "-1e999", "NaN", "Infinity"])
async def test_clock_advance__refuses_non_finite_seconds(client: httpx.AsyncClient, raw: str) -> None:
    before = (await client.get("/__mock/clock")).json()["now"]
    answer = await client.post("/__mock/clock/advance", content=f'{{"seconds": {raw}}}', headers=JSON)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert (await client.get("/__mock/clock")).json()["now"] == before


@pytest.mark.anyio
@pytest.mark.parametrize(
    "rule",
    [
        '{"task": {"duration": 1e999}}',
        '{"task": {"duration": -1e999}}',
        '{"callback": {"delay": 1e999}}',
        '{"match": {"probability": 1e999}, "latency_ms": 1}',
    ],
)
async def test_rules__refuse_non_finite_members(client: httpx.AsyncClient, rule: str) -> None:
    answer = await client.post("/__mock/rules", content=rule, headers=JSON)
    assert answer.status_code == 400
    assert "Invalid rule: rules[0]." in answer.json()["error"]["message"]
    assert (await client.get("/__mock/rules")).json()["rules"] == []
    assert (await client.post(CREATE, json=body(), headers=AUTH)).status_code == 200


@pytest.mark.anyio
async def test_admin_query_numbers__refuse_digits_int_cannot_read(client: httpx.AsyncClient) -> None:
    answer = await client.get("/__mock/requests", params={"limit": "\u00b2"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "limit"
