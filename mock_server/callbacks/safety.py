"""Where a callback may go: the provider's rules for ``callback_url``, and the opt-in for local receivers.

By default (as the provider): ``https`` only, at most 2048 characters, and never to a
host that is, or resolves to, a loopback, private, link-local, multicast, reserved or
unspecified address. That covers IPv4 and IPv6, IPv4 inside IPv6 (``::ffff:127.0.0.1``,
NAT64, 6to4, Teredo), the name ``localhost`` and its subdomains, and the integer forms of
IPv4 that resolvers accept (``2130706433``, ``0x7f.1``, ``017700000001``, ``127.1``).

The check runs at creation and again before every delivery attempt, on the addresses the
attempt then connects to (no second lookup in between), so a name that later resolves to
a private address is never called (DNS rebinding). Lookups run off the event loop
(``loop.getaddrinfo``) and give up after ``dns_timeout`` seconds. A name that does not
resolve at creation is accepted, since nothing proves it private (the mock usually runs
offline); its delivery attempts then fail and retry like any unreachable receiver.

Hosts on the allow-list (``--allow-callback-host``) skip the scheme and address rules:
callbacks go there over http or https, private or not.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from evolink_spec import facts

from ..errors import InvalidRequest

MAX_URL_LENGTH = facts().callback_url.max_length
DNS_TIMEOUT = 2.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
# The labels of inet_aton's forms: decimal, octal (leading 0) or hex (0x) numbers.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_ADVICE = "callbacks never go to private networks (to call a local receiver, start the mock with --allow-callback-host)"
HTTPS_ONLY = "callback URLs must use https (for a local http receiver, start the mock with --allow-callback-host HOST)"
"""The refusal of any other scheme, from the spec's pattern (validation) and from ``parse`` alike."""


class UnsafeCallback(ValueError):
    """A callback target the rules refuse; the message says why."""


class Unresolvable(OSError):
    """A callback host that does not resolve (or not in time)."""


@dataclass(frozen=True)
class CallbackTarget:
    """A parsed ``callback_url``: where to connect and what to send in the request line."""

    url: str
    scheme: str
    host: str
    """Lower case, no brackets or trailing dot; IPv4 in dotted form whatever form the URL used."""
    port: int
    target: str
    """Path and query, as sent in the request line."""
    allowed: bool
    """On the allow-list: the scheme and address rules do not apply."""
    literal: IPAddress | None = None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form a resolver reads as a number; else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    labels = host.split(".")
    if all(_NUMERIC_LABEL.match(label) for label in labels):
        try:
            if len(labels) > 4:
                raise OSError
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise UnsafeCallback(f"{host} is not a valid IPv4 address") from None
    return None


def non_public(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (None when it is)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is None and address in _NAT64:
            mapped = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if mapped is not None:
            reason = non_public(mapped)
            return f"{reason} (as {mapped})" if reason else None
        embedded = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None and non_public(embedded):
            return f"{non_public(embedded)} (as {embedded})"
        if address.is_site_local:
            return "site-local"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def normalize_host(host: str) -> str:
    """The form hosts are compared in: lower case, no brackets, no trailing dot, dotted IPv4."""
    host = host.strip().lower().strip("[]").removesuffix(".")
    try:
        literal = ip_literal(host)
    except UnsafeCallback:
        return host
    return str(literal) if literal is not None else host


async def system_resolver(host: str, port: int) -> list[str]:
    """Addresses of ``host`` from the system resolver, looked up off the event loop."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise Unresolvable(f"{host} does not resolve ({error.strerror})") from None
    addresses: list[str] = []
    for _, _, _, _, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class CallbackPolicy:
    """The rules for callback targets, with the allow-list and the resolver they use."""

    def __init__(
        self, allowed_hosts: Iterable[str] = (), *, resolver: Resolver | None = None, dns_timeout: float = DNS_TIMEOUT
    ) -> None:
        self.allowed_hosts = frozenset(normalize_host(host) for host in allowed_hosts)
        self.resolver: Resolver = resolver or system_resolver
        self.dns_timeout = dns_timeout

    def exempt_from_spec(self, value: object) -> bool:
        """An ``http://`` URL to an allowed host: the spec's https pattern does not apply to it."""
        if not isinstance(value, str) or not value[:7].lower() == "http://" or len(value) > MAX_URL_LENGTH:
            return False
        try:
            return self.parse(value).allowed
        except UnsafeCallback:
            return False

    def parse(self, url: str) -> CallbackTarget:
        """The target of ``url``, or ``UnsafeCallback`` if its form breaks a rule."""
        if len(url) > MAX_URL_LENGTH:
            raise UnsafeCallback(f"too long: {len(url)} characters, at most {MAX_URL_LENGTH} allowed")
        if not all("!" <= char <= "~" for char in url):
            raise UnsafeCallback("not a valid URL (only printable ASCII, no spaces)")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UnsafeCallback("not a valid URL (bad host or port)") from None
        scheme = parts.scheme.lower()
        raw_host = unquote(parts.hostname or "")
        if not raw_host:
            raise UnsafeCallback("the URL has no host")
        host = normalize_host(raw_host)
        allowed = host in self.allowed_hosts
        if scheme not in ("http", "https") or (scheme == "http" and not allowed):
            raise UnsafeCallback(HTTPS_ONLY)
        literal = ip_literal(host)
        if literal is None and not _HOST_NAME.match(host):
            raise UnsafeCallback(f"{raw_host!r} is not a valid host name")
        if port == 0:
            raise UnsafeCallback("port 0 is not a valid port")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        port = port or (443 if scheme == "https" else 80)
        callback = CallbackTarget(url, scheme, host, port, target, allowed, literal)
        if not allowed:
            if host == "localhost" or host.endswith(".localhost"):
                raise UnsafeCallback(f"{host} is a loopback host: {_ADVICE}")
            reason = non_public(literal) if literal is not None else None
            if reason is not None:
                raise UnsafeCallback(f"{host} is a {reason} address: {_ADVICE}")
        return callback

    async def resolve(self, target: CallbackTarget) -> list[str]:
        """The addresses to connect to, each checked; ``Unresolvable`` or ``UnsafeCallback`` if none may be used."""
        if target.literal is not None:
            return [str(target.literal)]
        try:
            addresses = await asyncio.wait_for(self.resolver(target.host, target.port), self.dns_timeout)
        except TimeoutError:
            raise Unresolvable(f"{target.host} did not resolve within {self.dns_timeout:g} s") from None
        if not addresses:
            raise Unresolvable(f"{target.host} has no address")
        if not target.allowed:
            for address in addresses:
                reason = non_public(ipaddress.ip_address(address))
                if reason is not None:
                    raise UnsafeCallback(f"{target.host} resolves to {address}, a {reason} address: {_ADVICE}")
        return addresses

    async def check_at_creation(self, url: str) -> CallbackTarget:
        """``url``'s target, or ``InvalidRequest`` naming ``callback_url``. A name that does not
        resolve passes (offline, nothing proves it private); delivery checks again."""
        try:
            target = self.parse(url)
            if not target.allowed:
                await self.resolve(target)
        except Unresolvable:
            return self.parse(url)
        except UnsafeCallback as error:
            shown = url if len(url) <= 60 else url[:57] + "..."
            message = f"Invalid value for 'callback_url': {shown!r}: {error}"
            raise InvalidRequest(message, param="callback_url") from None
        return target
