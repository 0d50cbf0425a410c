"""The one request sent to a live target before the run: does it answer, and is it this mock?

``GET /__mock/health`` without a key is free on any target. Any HTTP answer (a 404 from
the real API, a 401 from a mock guarded by an admin token) proves the target reachable; a
connection that fails is described in one line (``cannot reach URL: connection refused``,
``...: certificate verify failed (...): pass --ca-file PEM``) so the run can stop before
sending hundreds of requests that would each fail the same way. When the answer is this
mock's (``"service": "nanobanana-mock"``), its ``unknown_keys`` says whether it accepts any
key, so the made-up-key probes are judged by what the target promises.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import requests

HEALTH_PATH = "/__mock/health"
MOCK_SERVICE = "nanobanana-mock"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class Probe:
    """What the probe learnt.

    Args:
        problem: one line saying why the target cannot be reached; ``None`` when it answered.
        mock_unknown_keys: ``"allow"`` or ``"reject"`` when the target is this mock and says
            which keys it accepts; ``None`` for any other target.
    """

    problem: str | None = None
    mock_unknown_keys: str | None = None

    @property
    def accepts_any_key(self) -> bool:
        return self.mock_unknown_keys == "allow"


def probe(base_url: str, *, ca_file: str | None = None, user_agent: str = "nanobanana-contract-suite") -> Probe:
    """Send ``GET /__mock/health`` to ``base_url``; see the module docstring."""
    url = base_url.rstrip("/") + HEALTH_PATH
    try:
        # An explicit ``verify``: requests lets REQUESTS_CA_BUNDLE override a session's own.
        answer = requests.get(
            url,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            verify=ca_file or True,
            allow_redirects=False,
            headers={"User-Agent": user_agent},
        )
    except requests.RequestException as exc:
        return Probe(problem=f"cannot reach {base_url}: {describe(exc, url=url, ca_file=ca_file)}")
    with answer:
        return Probe(mock_unknown_keys=_unknown_keys(answer))


def _unknown_keys(answer: requests.Response) -> str | None:
    if answer.status_code != 200:
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("service") != MOCK_SERVICE:
        return None
    policy = body.get("unknown_keys")
    return policy if policy in ("allow", "reject") else None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (urllib3 keeps the root cause in ``reason`` or ``args``)."""
    todo: list[object] = [exc]
    seen: set[int] = set()
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [getattr(item, "reason", None), item.__cause__, item.__context__, *item.args]


def describe(exc: requests.RequestException, *, url: str, ca_file: str | None = None) -> str:
    """Why a request never got an answer, in a few words a user can act on."""
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or "untrusted certificate"
            if ca_file:
                return f"certificate verify failed ({reason}) with --ca-file {ca_file}: is it the CA that signed it?"
            return f"certificate verify failed ({reason}): pass --ca-file PEM (the CA that signed it)"
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            hint = " (is it plain http?)" if cause.reason == "WRONG_VERSION_NUMBER" else ""
            reason = (cause.reason or str(cause)).replace("_", " ").lower()
            return f"TLS handshake failed: {reason}{hint}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host name ({cause.strerror or cause})"
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within {READ_TIMEOUT:g} s"
    for cause in causes:
        if isinstance(cause, http.client.RemoteDisconnected):
            hint = " (is it https?)" if url.lower().startswith("http://") else ""
            return f"the connection closed without an answer{hint}"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
    return str(exc)
