"""Who may drive the admin API (``/__mock/``): the decision, apart from the HTTP plumbing.

Without a token (the default on loopback), anything that can reach the port could call the
admin API, and a web page can: a cross-site form POST (CORS-"simple", no preflight) to
``/__mock/reset``, or a DNS-rebinding page that reads ``/__mock/requests``. So:

- **Host**: without a token, an admin call must name the mock by a loopback name or address
  (``localhost``, ``*.localhost``, ``127.0.0.1``, ``[::1]``...), by the host of
  ``--public-url``, by the address it listens on, or as ``testserver`` (in-process test
  clients). A rebinding page names its own domain.
  With a token the token is the guard (a page cannot know it), so any Host will do.
- **Origin**: a call that changes state (any method but GET, HEAD, OPTIONS) carrying an
  ``Origin`` other than the mock's own (``Origin: null`` included), or a ``Sec-Fetch-Site``
  of ``cross-site`` or ``same-site``, comes from a web page elsewhere: refused, token or not.
- **Token**: when one is set, exactly one of ``X-Mock-Admin-Token: TOKEN`` or
  ``Authorization: Bearer TOKEN``; two values of either header are ambiguous and refused.

Refusals are 403 ``admin_forbidden`` (Host, Origin) or 401 ``unauthorized`` (token), in the
provider's envelope, and name what to change.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from .errors import AdminForbidden, ApiError, Unauthorized
from .settings import Settings
from .validation import authorization_of

READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
# The Host that in-process test clients send by default (Starlette's TestClient, and httpx
# examples over ASGITransport). No browser reaches it: a rebinding page names its own domain.
IN_PROCESS_HOST = "testserver"
RawHeaders = list[tuple[bytes, bytes]]


def host_name(host: str) -> str:
    """The name in a ``Host`` value, without port or brackets, lower case, no final dot."""
    host = host.strip().lower()
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        name = host.split(":", 1)[0]
    else:
        name = host
    return name.rstrip(".")


def is_loopback_name(name: str) -> bool:
    """``localhost``, ``*.localhost`` (RFC 6761) or a loopback address."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _origin_parts(url: str, default_scheme: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url if "://" in url else f"{default_scheme}://{url}")
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").rstrip("."), port


class AdminGuard:
    """Decides, per admin call, whether it may go on (``None``) or the error to answer."""

    def __init__(self, settings: Settings) -> None:
        self.token = settings.admin_token
        names = set()
        if settings.public_url:
            names.add(host_name(urlsplit(settings.public_url).netloc.rpartition("@")[2]))
        if settings.host not in _WILDCARDS:
            names.add(host_name(settings.host if ":" not in settings.host else f"[{settings.host}]"))
        self.names = frozenset(name for name in names if name)

    def check(self, method: str, scheme: str, headers: RawHeaders) -> ApiError | None:
        host = origin = fetch_site = given = None
        tokens = 0
        for name, value in headers:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"sec-fetch-site":
                fetch_site = value.decode("latin-1").strip().lower()
            elif name == b"x-mock-admin-token":
                given = value.decode("latin-1")
                tokens += 1
        if self.token is None and host is not None:
            hostname = host_name(host)
            if not is_loopback_name(hostname) and hostname != IN_PROCESS_HOST and hostname not in self.names:
                return AdminForbidden(
                    f"The admin API answers only to a loopback Host (localhost, 127.0.0.1, [::1]) "
                    f"or the --public-url host, not {host[:100]!r}: call it as http://localhost:PORT, "
                    "or set --public-url or --admin-token"
                )
        if method not in READ_ONLY:
            error = self._cross_site(scheme, host, origin, fetch_site)
            if error is not None:
                return error
        if self.token is not None:
            return self._token(headers, given, tokens)
        return None

    def _cross_site(self, scheme: str, host: str | None, origin: str | None, fetch_site: str | None) -> ApiError | None:
        if fetch_site in ("cross-site", "same-site"):
            return AdminForbidden(
                f"Admin calls that change state are refused from web pages (Sec-Fetch-Site: {fetch_site})"
            )
        if origin is None:
            return None
        own = _origin_parts(host, scheme) if host is not None else None
        if origin.strip().lower() == "null" or own is None or _origin_parts(origin.strip(), scheme) != own:
            return AdminForbidden(
                f"Admin calls that change state are refused from other origins (Origin: {origin[:100]!r}); "
                "send them from a script or a tool, without an Origin header"
            )
        return None

    def _token(self, headers: RawHeaders, given: str | None, tokens: int) -> ApiError | None:
        assert self.token is not None
        try:
            authorization = authorization_of(headers)
        except Unauthorized:
            authorization = None
            tokens += 2
        if tokens > 1:
            return Unauthorized("Ambiguous admin credentials: send exactly one X-Mock-Admin-Token header")
        if given is None and authorization is not None and authorization[:7].lower() == "bearer ":
            given = authorization[7:].strip()
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            return Unauthorized("The admin API needs its token: send 'X-Mock-Admin-Token: TOKEN'")
        return None
