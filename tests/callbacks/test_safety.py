"""Where callbacks may go: every refused address class, the opt-ins, and the checks at delivery."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mock_server import Settings, VirtualClock
from mock_server.app import mock_of
from mock_server.callbacks.safety import (
    CallbackPolicy,
    Unresolvable,
    UnsafeCallback,
    ip_literal,
    non_public,
    normalize_host,
    system_resolver,
)
from mock_server.cli import build_parser, settings_from
from mock_server.config import MockConfig
from tests.conftest import AUTH, CREATE, body

pytestmark = pytest.mark.anyio


async def offline(host: str, port: int) -> list[str]:
    """The resolver of a machine without network: no name resolves (and no DNS traffic leaves)."""
    raise Unresolvable(f"{host} does not resolve (Name or service not known)")


@pytest.fixture
async def apps(app_factory: Callable[..., Starlette]) -> AsyncIterator[Callable[..., Starlette]]:
    made: list[Starlette] = []

    def make(**changes: Any) -> Starlette:
        app = app_factory(**changes)
        mock_of(app).callbacks.policy.resolver = offline
        made.append(app)
        return app

    yield make
    for app in made:
        await mock_of(app).callbacks.aclose(grace=0)


@pytest.fixture
async def http(
    apps: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_factory(apps()) as client:
        yield client


async def create(client: httpx.AsyncClient, url: str) -> httpx.Response:
    return await client.post(CREATE, json=body(callback_url=url), headers=AUTH)


def fixed_resolver(*answers: list[str]) -> Callable[[str, int], Any]:
    """A resolver answering each lookup with the next list (the last one repeats)."""
    queue = list(answers)

    async def resolve(host: str, port: int) -> list[str]:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return resolve


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "http://hooks.example.com/done",
            "callback URLs must use https (for a local http receiver, start the mock with --allow-callback-host HOST)",
        ),
        ("https://x.test/" + "a" * 2040, "at most 2048 allowed"),
        ("HTTPS://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://127.8.9.10:8443/hook", "loopback address"),
        ("https://10.1.2.3/hook", "private address"),
        ("https://172.16.0.1/hook", "private address"),
        ("https://172.31.255.254/hook", "private address"),
        ("https://192.168.1.1/hook", "private address"),
        ("https://169.254.169.254/latest/meta-data", "link-local address"),
        ("https://0.0.0.0/hook", "unspecified address"),
        ("https://224.0.0.1/hook", "multicast address"),
        ("https://240.0.0.1/hook", "reserved address"),
        ("https://255.255.255.255/hook", "reserved address"),
        ("https://100.64.0.1/hook", "non-public address"),
        ("https://198.18.0.1/hook", "private address"),
        ("https://[::1]/hook", "::1 is a loopback address"),
        ("https://[::]/hook", "unspecified address"),
        ("https://[fe80::1]/hook", "link-local address"),
        ("https://[fe80::1%25eth0]/hook", "link-local address"),
        ("https://[fc00::1]/hook", "private address"),
        ("https://[fd12:3456::1]/hook", "private address"),
        ("https://[fec0::1]/hook", "site-local address"),
        ("https://[ff02::1]/hook", "multicast address"),
        ("https://[2001:db8::1]/hook", "private address"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback (as 127.0.0.1) address"),
        ("https://[::ffff:10.0.0.1]/hook", "private (as 10.0.0.1) address"),
        ("https://[::ffff:7f00:1]/hook", "loopback (as 127.0.0.1) address"),
        ("https://[64:ff9b::a00:1]/hook", "private (as 10.0.0.1) address"),
        ("https://[2002:a00:1::1]/hook", "private (as 10.0.0.1) address"),
        ("https://[::127.0.0.1]/hook", "reserved address"),
        ("https://localhost/hook", "localhost is a loopback host"),
        ("https://LocalHost.:8443/hook", "localhost is a loopback host"),
        ("https://api.localhost/hook", "api.localhost is a loopback host"),
        ("https://2130706433/hook", "127.0.0.1 is a loopback address"),
        ("https://0x7f000001/hook", "127.0.0.1 is a loopback address"),
        ("https://017700000001/hook", "127.0.0.1 is a loopback address"),
        ("https://0x7f.1/hook", "127.0.0.1 is a loopback address"),
        ("https://127.1/hook", "127.0.0.1 is a loopback address"),
        ("https://0177.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://0xa.0x0.0x0.0x1/hook", "10.0.0.1 is a private address"),
        ("https://167772161/hook", "10.0.0.1 is a private address"),
        ("https://0/hook", "0.0.0.0 is a unspecified address"),
        ("https://1.2.3.4.5/hook", "not a valid IPv4 address"),
        ("https://999.1.1.1/hook", "not a valid IPv4 address"),
        ("https://hooks.example.com:0/hook", "port 0 is not a valid port"),
        ("http://127.0.0.1:9000/hook", "for a local http receiver, start the mock with --allow-callback-host HOST"),
    ],
)
async def test_create__refuses_callback_urls_the_provider_refuses(
    http: httpx.AsyncClient, url: str, reason: str
) -> None:
    response = await create(http, url)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["type"], error["param"]) == (
        "invalid_request",
        "invalid_request_error",
        "callback_url",
    )
    assert reason in error["message"]
    assert (await http.get("/__mock/tasks")).json()["count"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/done",  # offline it does not resolve: nothing proves it private
        "https://8.8.8.8/hook",
        "https://[2606:4700::1111]:8443/hook?x=1",
        "https://[::ffff:8.8.8.8]/hook",
        "https://0x08080808/hook",
    ],
)
async def test_create__accepts_public_and_unresolvable_hosts(http: httpx.AsyncClient, url: str) -> None:
    assert (await create(http, url)).status_code == 200


async def test_create__refuses_a_name_that_resolves_to_a_private_address(
    apps: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    app = apps()
    mock_of(app).callbacks.policy.resolver = fixed_resolver(["93.184.216.34", "10.0.0.7"])
    async with client_factory(app) as client:
        response = await create(client, "https://internal.example/hook")
    assert response.status_code == 400
    assert "internal.example resolves to 10.0.0.7, a private address" in response.json()["error"]["message"]


async def test_create__accepts_a_name_whose_lookup_hangs_after_the_dns_timeout(
    apps: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    async def hang(host: str, port: int) -> list[str]:
        await asyncio.sleep(3600)
        return []

    app = apps()
    policy = mock_of(app).callbacks.policy
    policy.resolver, policy.dns_timeout = hang, 0.05
    async with client_factory(app) as client:
        response = await asyncio.wait_for(create(client, "https://slow-dns.example/hook"), 2)
    assert response.status_code == 200


async def test_delivery__checks_the_address_again_dns_rebinding(
    apps: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient], clock: VirtualClock
) -> None:
    app = apps()
    callbacks = mock_of(app).callbacks
    callbacks.policy.resolver = fixed_resolver(["93.184.216.34"], ["127.0.0.1"])
    async with client_factory(app) as client:
        task_id = (await create(client, "https://rebind.example/hook")).json()["id"]
        clock.advance(10)
        for _ in range(400):
            if callbacks.journal.entries(task_id):
                break
            await asyncio.sleep(0.005)
    [entry] = callbacks.journal.entries(task_id)
    assert entry["error"].startswith("refused: rebind.example resolves to 127.0.0.1, a loopback address")
    assert entry["next"]["action"] == "retry"


async def test_delivery__a_name_that_does_not_resolve_fails_and_retries(
    apps: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient], clock: VirtualClock
) -> None:
    app = apps()
    callbacks = mock_of(app).callbacks
    callbacks.policy.resolver = fixed_resolver([])
    async with client_factory(app) as client:
        task_id = (await create(client, "https://gone.example/hook")).json()["id"]
        clock.advance(10)
        for _ in range(400):
            if callbacks.journal.entries(task_id):
                break
            await asyncio.sleep(0.005)
    [entry] = callbacks.journal.entries(task_id)
    assert (entry["error"], entry["next"]["action"]) == ("dns: gone.example has no address", "retry")


# -- the opt-ins ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "url", "status"),
    [
        (("127.0.0.1",), "http://127.0.0.1:8080/hook", 200),
        (("127.0.0.1",), "https://127.0.0.1:8443/hook", 200),
        (("127.0.0.1",), "http://127.1:8080/hook", 200),
        (("localhost",), "http://LOCALHOST:8080/hook", 200),
        (("10.0.0.5",), "https://10.0.0.5/hook", 200),
        (("::1",), "http://[::1]:8080/hook", 200),
        (("127.0.0.1",), "http://localhost:8080/hook", 400),
        (("127.0.0.1",), "https://10.0.0.5/hook", 400),
        (("127.0.0.1",), "ftp://127.0.0.1/hook", 400),
        (("127.0.0.1",), "http://127.0.0.1/" + "a" * 2040, 400),
    ],
)
async def test_allow_list__lets_the_listed_hosts_through_over_http_or_https(
    apps: Callable[..., Starlette],
    client_factory: Callable[[Starlette], httpx.AsyncClient],
    allowed: tuple[str, ...],
    url: str,
    status: int,
) -> None:
    async with client_factory(apps(allow_callback_hosts=allowed)) as client:
        response = await create(client, url)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"]["param"] == "callback_url"


async def test_allow_list__a_listed_name_may_resolve_to_a_private_address(
    apps: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    app = apps(allow_callback_hosts=("hooks.internal",))
    policy = mock_of(app).callbacks.policy
    policy.resolver = fixed_resolver(["10.0.0.7"])
    async with client_factory(app) as client:
        assert (await create(client, "http://hooks.internal/hook")).status_code == 200
    assert await policy.resolve(policy.parse("http://hooks.internal/hook")) == ["10.0.0.7"]


def test_allow_list__comes_from_the_cli_and_the_environment() -> None:
    args = build_parser().parse_args(
        ["serve", "--allow-callback-host", "127.0.0.1", "--allow-callback-host", "localhost", "--callback-ca-file", "c"]
    )
    settings = settings_from(MockConfig(), args, environ={})
    assert (settings.allow_callback_hosts, settings.callback_ca_file) == (("127.0.0.1", "localhost"), "c")
    env = {"MOCK_ALLOW_CALLBACK_HOSTS": "127.0.0.1, hooks.test", "MOCK_CALLBACK_CA_FILE": "/ca.pem"}
    from_env = Settings.from_env(env)
    assert (from_env.allow_callback_hosts, from_env.callback_ca_file) == (("127.0.0.1", "hooks.test"), "/ca.pem")
    assert settings_from(MockConfig(), build_parser().parse_args(["serve"]), environ=env).allow_callback_hosts == (
        "127.0.0.1",
        "hooks.test",
    )


# -- the rules on their own -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("169.254.1.1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("ff05::2", "multicast"),
        ("::ffff:192.168.0.1", "private (as 192.168.0.1)"),
        ("2001::1", "reserved (as 255.255.255.254)"),  # Teredo: its client address is non-public
    ],
)
def test_non_public__names_the_address_class(address: str, reason: str | None) -> None:
    assert non_public(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7F000001", None),  # hosts are lower-cased before this check
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("hooks.example.com", None),
        ("1e100.net", None),
        ("::1", "::1"),
    ],
)
def test_ip_literal__reads_every_form_resolvers_accept(host: str, address: str | None) -> None:
    literal = ip_literal(host)
    assert (str(literal) if literal is not None else None) == address


def test_normalize_host__compares_hosts_in_one_form() -> None:
    assert normalize_host("[::1]") == "::1"
    assert normalize_host("LocalHost.") == "localhost"
    assert normalize_host("0x7f.1") == "127.0.0.1"


def test_parse__keeps_path_query_and_port_and_refuses_odd_characters() -> None:
    policy = CallbackPolicy(["127.0.0.1"])
    target = policy.parse("http://127.0.0.1:8080/hooks/done?task=1")
    assert (target.host, target.port, target.target, target.host_header) == (
        "127.0.0.1",
        8080,
        "/hooks/done?task=1",
        "127.0.0.1:8080",
    )
    assert policy.parse("https://hooks.example.com").target == "/"
    assert policy.parse("https://[2606:4700::1]/x").host_header == "[2606:4700::1]"
    for bad in (
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\r\nX-Evil: 1",
        "https://exa\u00efmple.com/",
    ):
        with pytest.raises(UnsafeCallback):
            policy.parse(bad)


async def test_system_resolver__looks_up_off_the_loop_and_reports_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "127.0.0.1" in await system_resolver("localhost", 443)  # from /etc/hosts: no DNS traffic
    assert await system_resolver("127.0.0.1", 443) == ["127.0.0.1"]

    async def fails(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fails)
    with pytest.raises(Unresolvable, match="gone.example does not resolve"):
        await system_resolver("gone.example", 443)
