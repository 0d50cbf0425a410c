"""A curl line that sends a request again, with the keys replaced by environment variables.

Reports end up in CI artifacts: a key is never written, only ``$EVOLINK_API_KEY`` (or
``$EVOLINK_OTHER_API_KEY``). An in-process run has no address, so its lines point at a
mock started with ``nanobanana-mock serve`` (``http://127.0.0.1:8000``).
"""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit, urlunsplit

import requests

from ._options import KEY_ENV, MOCK_BASE_URL, OTHER_KEY_ENV
from ._target import Target

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


def _header_value(name: str, value: str, target: Target) -> str:
    if name.lower() != "authorization":
        return value
    if target.api_key and value == f"Bearer {target.api_key}":
        return f"Bearer ${KEY_ENV}"
    if target.other_api_key and value == f"Bearer {target.other_api_key}":
        return f"Bearer ${OTHER_KEY_ENV}"
    return value


def _quote_header(name: str, value: str) -> str:
    text = f"{name}: {value}"
    # Keep $VARIABLES expandable: double quotes, with the shell's specials escaped.
    if "$" in value:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
        return f'"{escaped}"'
    return shlex.quote(text)


def curl_line(request: requests.PreparedRequest | requests.Request, target: Target) -> str:
    """``curl`` reproducing ``request`` against ``target``."""
    prepared = request.prepare() if isinstance(request, requests.Request) else request
    parts = ["curl", "-sS", "-i", "-X", str(prepared.method)]
    if target.ca_file:
        parts += ["--cacert", shlex.quote(target.ca_file)]
    for name, value in prepared.headers.items():
        if name.lower() in _DROPPED:
            continue
        parts += ["-H", _quote_header(name, _header_value(name, value, target))]
    body = prepared.body
    if body:
        text = body.decode("utf-8", "backslashreplace") if isinstance(body, bytes) else str(body)
        parts += ["--data-binary", shlex.quote(text)]
    parts.append(shlex.quote(_rebase(str(prepared.url), target)))
    return " ".join(parts)
