"""The request journal: what the client sent and what it got, for verification."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import example, given, strategies as st

from mock_server import Settings, create_app
from mock_server.app import mock_of
from mock_server.cli import build_parser, settings_from
from mock_server.config import MockConfig, parse_config
from mock_server.journal import MAX_HEADER_VALUE, JournalEntry, RequestJournal, decode_body, mask
from tests.conftest import AUTH, CREATE, KEY, START, body

pytestmark = pytest.mark.anyio


async def test_journal__records_method_path_key_body_status_and_time(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "abc"}
    created = (await client.post(CREATE, json=body(size="1:1"), headers=headers)).json()
    await client.get(f"/v1/tasks/{created['id']}", headers=AUTH)
    await client.post(CREATE, content=b"{oops", headers={**AUTH, "Content-Type": "application/json"})
    entries = (await client.get("/__mock/requests")).json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", CREATE, 200),
        ("GET", f"/v1/tasks/{created['id']}", 200),
        ("POST", CREATE, 400),
    ]
    first = entries[0]
    assert first["key"] == mask(KEY) == "sk-...ner"
    assert first["headers"]["authorization"] == "Bearer sk-...ner"
    assert first["body"] == body(size="1:1")
    assert (first["body_format"], first["body_note"]) == ("json", None)
    assert first["headers"]["idempotency-key"] == "abc"
    assert first["time"] == START
    assert first["task_id"] == created["id"]
    assert entries[2]["body"] == "{oops"
    assert entries[2]["body_format"] == "text" and entries[2]["body_note"].startswith("not valid JSON")


async def test_journal__filters_and_limits(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await client.post(CREATE, json=body(), headers=AUTH)
    await client.get("/v1/tasks/nope", headers={"Authorization": "Bearer sk-other"})
    only_gets = (await client.get("/__mock/requests", params={"method": "get"})).json()
    assert only_gets["count"] == 1 and only_gets["requests"][0]["key"] == "sk...er"
    assert (await client.get("/__mock/requests", params={"status": 400})).json()["count"] == 1
    assert (await client.get("/__mock/requests", params={"path": "/v1/tasks/*"})).json()["count"] == 1
    assert (await client.get("/__mock/requests", params={"key": KEY, "limit": 2})).json()["count"] == 2
    assert (await client.get("/__mock/requests", params={"key": "sk-...ner"})).json()["count"] == 3
    assert (await client.get("/__mock/requests", params={"key": "sk-test-other"})).json()["count"] == 0
    assert (await client.get("/__mock/requests", params={"limit": "x"})).status_code == 400


async def test_journal__skips_admin_calls_and_clears(client: httpx.AsyncClient) -> None:
    await client.post(CREATE, json=body(), headers=AUTH)
    await client.get("/__mock/tasks")
    assert (await client.get("/__mock/requests")).json()["count"] == 1
    await client.delete("/__mock/requests")
    assert (await client.get("/__mock/requests")).json()["count"] == 0


async def test_reset__clears_the_journal(client: httpx.AsyncClient) -> None:
    await client.post(CREATE, json=body(), headers=AUTH)
    await client.post("/__mock/reset")
    assert (await client.get("/__mock/requests")).json()["count"] == 0


def test_journal__keeps_only_the_newest_entries() -> None:
    journal = RequestJournal(capacity=3)
    for index in range(5):
        journal.record(_entry(f"/{index}"))
    assert [entry["path"] for entry in journal.entries()] == ["/2", "/3", "/4"]


def _entry(path: str = "/", headers: list[tuple[bytes, bytes]] | None = None, body: bytes = b"") -> JournalEntry:
    return JournalEntry(0.0, "POST", path, b"", headers or [], body, 200, None, 0.1)


def test_journal__keeps_only_what_fits_in_its_bytes() -> None:
    journal = RequestJournal(capacity=100, max_bytes=11_000)
    for index in range(10):
        journal.record(_entry(f"/{index}", body=b"x" * 3000))
    assert [entry["path"] for entry in journal.entries()] == ["/7", "/8", "/9"]
    assert journal.bytes <= 11_000


def test_journal__cuts_long_header_values_and_says_so() -> None:
    journal = RequestJournal()
    journal.record(_entry(headers=[(b"x-big", b"a" * 16_384), (b"x-small", b"b")]))
    [entry] = journal.entries()
    assert entry["headers"]["x-small"] == "b"
    assert entry["headers"]["x-big"] == "a" * MAX_HEADER_VALUE + "...[cut: 16384 bytes]"
    assert journal.bytes < 3000


def test_journal__masks_every_secret_header() -> None:
    journal = RequestJournal()
    secrets = [
        (b"authorization", b"Bearer sk-live-0123456789abcdef"),
        (b"proxy-authorization", b"Basic dXNlcjpwYXNzd29yZA=="),
        (b"cookie", b"session=0123456789abcdef"),
        (b"x-api-key", b"0123456789abcdef"),
        (b"x-mock-admin-token", b"0123456789abcdef"),
    ]
    journal.record(_entry(headers=secrets))
    [entry] = journal.entries()
    assert entry["headers"] == {
        "authorization": "Bearer sk-l...cdef",
        "proxy-authorization": "Basic dXNl...ZA==",
        "cookie": "sess...cdef",
        "x-api-key": "0123...cdef",
        "x-mock-admin-token": "0123...cdef",
    }
    assert entry["key"] == "sk-l...cdef"
    assert "0123456789" not in json.dumps(entry)


@pytest.mark.parametrize(
    ("secret", "masked"), [("sk-live-0123456789abcdef", "sk-l...cdef"), ("sk-test", "s...t"), ("k", "..."), ("", "...")]
)
def test_mask__keeps_at_most_a_quarter_and_four_characters_each_end(secret: str, masked: str) -> None:
    assert mask(secret) == masked


def test_journal__filters_by_the_full_key_even_when_masked_forms_collide() -> None:
    journal = RequestJournal()
    journal.record(_entry("/a", headers=[(b"authorization", b"Bearer sk-live-aaaa-0000-abcd")]))
    journal.record(_entry("/b", headers=[(b"authorization", b"Bearer sk-live-bbbb-0000-abcd")]))
    assert [e["path"] for e in journal.entries(key="sk-live-bbbb-0000-abcd")] == ["/b"]
    assert [e["path"] for e in journal.entries(key="sk-l...abcd")] == ["/a", "/b"]


def test_decode_body__json_text_or_none() -> None:
    assert decode_body(b'{"a":1}', "application/json") == ({"a": 1}, "json", None)
    assert decode_body(b"plain", "text/plain") == ("plain", "text", None)
    assert decode_body(b"", "application/json") == (None, None, None)
    cut = decode_body(b"x" * 1000, "application/json", 100_000)
    assert cut == ("x" * 1000, "text", "cut: the first 1000 of 100000 bytes")


HOSTILE = [
    pytest.param(b'{"seed": 18446744073709551616}', "Integer exceeds 64-bit range", id="int-2**64"),
    pytest.param(b'{"seed": -9223372036854775809}', "Integer exceeds 64-bit range", id="int-below-i64"),
    pytest.param(b'{"prompt": "\\ud800"}', "surrogates not allowed", id="lone-surrogate"),
    pytest.param(b"[" * 300 + b"]" * 300, "Recursion limit reached", id="nested-300"),
    pytest.param(b"[" * 5000 + b"]" * 5000, "not valid JSON", id="nested-5000"),
    pytest.param(b'{"seed": 1e400}', "out of range", id="float-overflow"),
    pytest.param(b'{"seed": NaN}', "NaN is not a JSON number", id="nan"),
]


@pytest.mark.parametrize(("raw", "reason"), HOSTILE)
async def test_journal__renders_a_body_json_cannot_carry_as_text(
    client: httpx.AsyncClient, raw: bytes, reason: str
) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    await client.post(CREATE, content=raw, headers=headers)
    await client.post(CREATE, json=body(), headers=AUTH)
    answer = await client.get("/__mock/requests")
    assert answer.status_code == 200
    hostile, fine = answer.json()["requests"]
    assert hostile["body"] == raw.decode()
    assert hostile["body_format"] == "text"
    assert reason in hostile["body_note"]
    assert fine["body"] == body()


@given(st.binary(max_size=300))
def test_journal__every_entry_renders_whatever_bytes_arrived(raw: bytes) -> None:
    _renders(raw)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters() | st.characters(categories=["Cs"])),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=20,
)


@given(_JSON, st.integers(min_value=0, max_value=300))
@example(None, 254)  # fits orjson's 255 levels alone, not inside its entry
def test_journal__every_entry_renders_whatever_json_arrived(value: Any, depth: int) -> None:
    """Hostile JSON: integers beyond 64 bits, lone surrogates (category ``Cs``), and values
    buried ``depth`` lists deep."""
    raw = json.dumps(value).encode()
    _renders(b"[" * depth + raw + b"]" * depth)


def _renders(raw: bytes) -> None:
    journal = RequestJournal()
    journal.record(_entry(headers=[(b"content-type", b"application/json"), (b"x-odd", raw[:50])], body=raw))
    document = json.loads(journal.page()[0][0].render())
    assert document["body_bytes"] == len(raw)
    if document["body_format"] == "json":
        assert document["body"] == json.loads(raw)
    elif raw:
        assert document["body"] == raw.decode("utf-8", errors="replace")


async def test_requests__pages_newest_first_with_a_cursor(client: httpx.AsyncClient) -> None:
    for index in range(7):
        await client.get(f"/v1/tasks/task-unified-{index}", headers=AUTH)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    pages = 0
    while True:
        answer = (await client.get("/__mock/requests", params=params)).json()
        pages += 1
        seen = [entry["path"] for entry in answer["requests"]] + seen
        if answer["next_cursor"] is None:
            break
        params["cursor"] = answer["next_cursor"]
    assert pages == 3
    assert seen == [f"/v1/tasks/task-unified-{index}" for index in range(7)]


async def test_requests__answers_at_most_100_by_default(client: httpx.AsyncClient) -> None:
    for _ in range(101):
        await client.get("/nowhere")
    answer = (await client.get("/__mock/requests")).json()
    assert answer["count"] == 100 and answer["next_cursor"] is not None
    assert answer["requests"][0]["id"] == 2


def test_journal__a_filtered_page_looks_at_a_bounded_number_of_entries() -> None:
    journal = RequestJournal()
    journal.record(_entry("/wanted"))
    for _ in range(50):
        journal.record(_entry("/other"))
    found, cursor = journal.page(path="/wanted", limit=10, scan=20)
    assert found == [] and cursor is not None
    found, cursor = journal.page(path="/wanted", limit=10, before=cursor, scan=100)
    assert [entry.path for entry in found] == ["/wanted"] and cursor is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "-1"}, "Query parameter 'limit' must be a whole number from 1 to 1000, got '-1'"),
        ({"limit": "0"}, "Query parameter 'limit' must be a whole number from 1 to 1000, got '0'"),
        ({"limit": "1001"}, "Query parameter 'limit' must be a whole number from 1 to 1000, got '1001'"),
        ({"limit": "x"}, "Query parameter 'limit' must be a whole number from 1 to 1000, got 'x'"),
        ({"status": "abc"}, "Query parameter 'status' must be a whole number from 100 to 599, got 'abc'"),
        ({"cursor": "abc"}, "Query parameter 'cursor' is not one this listing gave"),
    ],
)
async def test_requests__refuses_bad_paging_with_the_right_message(
    client: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    answer = await client.get("/__mock/requests", params=params)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(message)


async def test_journal__refuses_two_authorization_headers_and_journals_no_key(client: httpx.AsyncClient) -> None:
    headers = [("Authorization", "Bearer sk-first-key-0001"), ("Authorization", "Bearer sk-second-key-0002")]
    answer = await client.post(CREATE, json=body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["message"].startswith("Ambiguous credentials")
    poll = await client.get("/v1/tasks/task-unified-1", headers=headers)
    assert poll.status_code == 401
    assert (await client.get("/__mock/tasks")).json()["count"] == 0
    entries = (await client.get("/__mock/requests")).json()["requests"]
    assert [(e["status"], e["key"]) for e in entries] == [(401, None), (401, None)]
    assert entries[0]["headers"]["authorization"] == "Bearer sk-f...0001, Bearer sk-s...0002"


def test_journal_max_bytes__from_option_variable_and_config_file() -> None:
    parser = build_parser()
    from_option = settings_from(MockConfig(), parser.parse_args(["serve", "--journal-max-bytes", "5000"]), {})
    assert from_option.journal_max_bytes == 5000
    from_env = settings_from(MockConfig(), parser.parse_args(["serve"]), {"MOCK_JOURNAL_MAX_BYTES": "6000"})
    assert from_env.journal_max_bytes == 6000
    from_file = settings_from(parse_config({"journal_max_bytes": 7000}), parser.parse_args(["serve"]), {})
    assert from_file.journal_max_bytes == 7000
    assert mock_of(create_app(from_file)).journal.max_bytes == 7000
    with pytest.raises(ValueError, match="journal_max_bytes: must be a whole number 1 or more, got 0"):
        Settings(journal_max_bytes=0)


def test_journal__a_page_holds_about_four_mib_of_entries_at_most() -> None:
    journal = RequestJournal()
    for index in range(100):
        journal.record(_entry(f"/{index}", body=b"x" * 60_000))
    found, cursor = journal.page(limit=1000)
    assert len(found) == 70 and found[-1].path == "/99" and cursor is not None
    found, cursor = journal.page(limit=1000, before=cursor)
    assert len(found) == 30 and found[0].path == "/0" and cursor is None


def test_entries__in_process_reads_every_kept_entry_whatever_its_size() -> None:
    journal = RequestJournal()
    for index in range(100):
        journal.record(_entry(f"/{index}", body=b"x" * 60_000))
    assert len(journal.entries()) == 100
