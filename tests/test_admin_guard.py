"""The admin guard's decision, without HTTP (the HTTP behaviour is in test_admin.py)."""

from __future__ import annotations

import pytest

from mock_server.admin_guard import AdminGuard, host_name, is_loopback_name
from mock_server.settings import Settings


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("localhost:8000", "localhost"),
        ("LOCALHOST.", "localhost"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("evil.example:80", "evil.example"),
    ],
)
def test_host_name__drops_port_brackets_case_and_final_dot(host: str, name: str) -> None:
    assert host_name(host) == name


@pytest.mark.parametrize(
    ("name", "loopback"),
    [
        ("localhost", True),
        ("api.localhost", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost.evil.example", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_is_loopback_name(name: str, loopback: bool) -> None:
    assert is_loopback_name(name) is loopback


def test_guard__knows_the_public_url_and_listen_hosts_but_not_empty_or_wildcard_ones() -> None:
    assert AdminGuard(Settings(public_url="https://Mock.Example:9443/x", host="::1")).names == {"mock.example", "::1"}
    assert AdminGuard(Settings(host="0.0.0.0")).names == frozenset()  # a public_url without a host is refused
    with pytest.raises(ValueError, match="public_url: must be an http"):
        Settings(public_url="mock:8000")


def test_guard__a_read_with_a_foreign_origin_is_let_through_a_write_is_not() -> None:
    guard = AdminGuard(Settings())
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://evil.example")]
    assert guard.check("GET", "http", headers) is None
    refused = guard.check("POST", "http", headers)
    assert refused is not None and refused.status == 403
    own = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")]
    assert guard.check("POST", "http", own) is None
    assert guard.check("POST", "https", own) is not None


def test_guard__lets_in_process_test_clients_through_with_their_default_host() -> None:
    # Starlette's TestClient and ASGITransport examples send Host: testserver; a page
    # driving a browser through DNS rebinding sends its own domain instead.
    guard = AdminGuard(Settings())
    assert guard.check("POST", "http", [(b"host", b"testserver")]) is None
    assert guard.check("POST", "http", [(b"host", b"testserver.evil.example")]) is not None
