"""How one proxy runs: its target, what it does with what it sees, and its limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_BODY_BYTES = 1_048_576
POOL_CONNECTIONS = 100
"""Most connections open to the target at once (httpx's pools); more requests wait for one."""
POOL_SHARDS = 8
"""Pools the connections are split into (see ``ProxyApp.client``)."""


@dataclass(frozen=True)
class ProxySettings:
    """Usage: ``create_proxy_app(ProxySettings(target="https://api.evolink.ai", strict=True))``.

    Args:
        target: base URL every request goes to (``http(s)://host[:port][/prefix]``).
        ca_file: PEM certificates to trust for an https target (a test CA), besides certifi's.
        timeout: seconds the target gets to connect and to answer; then 502 ``proxy_error``.
        strict: answer 502 ``contract_violation`` instead of a target's answer that breaks the contract.
        record_dir: write each task's exchanges (and each error exchange) here.
        record_images: with ``record_dir``, also save result images.
        report_dir: write the contract report (markdown and JUnit XML) here at exit.
        max_body_bytes: larger request bodies answer 413 without reaching the target.
        admin_token: token the proxy's ``/__mock/`` routes require.
        host: the address the proxy listens on (the admin guard's own name).
        callback_forward: where callbacks received at ``/__callback`` go on to (the client's own
            receiver); None: they are answered 200 by the proxy.
    """

    target: str
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    strict: bool = False
    record_dir: Path | None = None
    record_images: bool = False
    report_dir: Path | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    admin_token: str | None = None
    host: str = "127.0.0.1"
    callback_forward: str | None = None
