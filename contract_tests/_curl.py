"""A curl line that sends a request again, exactly: the line must reproduce what the report says.

Keys: on a loopback or in-process target a key is a test key, written as it was sent. Off
loopback a key is real and reports end up in CI artifacts, so it is never written: the line
reads it from ``$EVOLINK_API_KEY`` (or ``$EVOLINK_OTHER_API_KEY``) and stops with the
shell's "parameter null or not set" when that is unset, instead of sending no key and
getting a 401 that reproduces nothing; the report names the key used by a masked form
(``masked()``). Made-up keys the probes send are written as they were. An in-process run
has no address, so its lines point at a mock started with ``nanobanana-mock serve``
(``http://127.0.0.1:8000``), which accepts any key.
"""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit, urlunsplit

import requests

from ._options import KEY_ENV, MOCK_BASE_URL, OTHER_KEY_ENV
from ._target import Target, is_loopback

SERVE_URL = "http://127.0.0.1:8000"
_DROPPED = frozenset(
    {"user-agent", "accept", "accept-encoding", "connection", "content-length", "x-schemathesis-testcaseid"}
)


def _rebase(url: str, target: Target) -> str:
    if not target.in_process:
        return url
    parts = urlsplit(url)
    served = urlsplit(SERVE_URL)
    if f"{parts.scheme}://{parts.netloc}" != MOCK_BASE_URL:
        return url
    return urlunsplit((served.scheme, served.netloc, parts.path, parts.query, parts.fragment))


def writes_keys(target: Target) -> bool:
    """Whether curl lines may carry ``target``'s keys as they are (test keys on a local target)."""
    return target.in_process or is_loopback(target.base_url)


def masked(key: str) -> str:
    """Enough of a key to tell which one it was, never enough to use it: ``sk-…wxyz``."""
    if len(key) < 16:
        return "…"
    prefix = key[: key.index("-") + 1] if "-" in key[:8] else ""
    return f"{prefix}…{key[-4:]}"


def _header(name: str, value: str, target: Target) -> str:
    """``-H`` argument for one header; a real key becomes a variable the shell must have."""
    if name.lower() == "authorization" and not writes_keys(target):
        for key, variable in ((target.api_key, KEY_ENV), (target.other_api_key, OTHER_KEY_ENV)):
            if key and value == f"Bearer {key}":
                # Double quotes keep the variable expandable; nothing else in the text is special.
                return f'"{name}: Bearer ${{{variable}:?}}"'
    return shlex.quote(f"{name}: {value}")


def curl_line(request: requests.PreparedRequest | requests.Request, target: Target) -> str:
    """``curl`` reproducing ``request`` against ``target``."""
    prepared = request.prepare() if isinstance(request, requests.Request) else request
    method = str(prepared.method)
    # ``-X HEAD`` would wait for a body that never comes; ``-I`` sends a HEAD and expects none.
    parts = ["curl", "-sS", "-I"] if method == "HEAD" else ["curl", "-sS", "-i", "-X", method]
    if target.ca_file:
        parts += ["--cacert", shlex.quote(target.ca_file)]
    for name, value in prepared.headers.items():
        if name.lower() in _DROPPED:
            continue
        # requests lets a header value be bytes; on the wire it is latin-1, as http.client sends it.
        text_value = value.decode("latin-1") if isinstance(value, bytes) else value
        parts += ["-H", _header(name, text_value, target)]
    body = prepared.body
    if body:
        text = body.decode("utf-8", "backslashreplace") if isinstance(body, bytes) else str(body)
        parts += ["--data-binary", shlex.quote(text)]
    parts.append(shlex.quote(_rebase(str(prepared.url), target)))
    return " ".join(parts)
