"""The validating proxy and recorder (``nanobanana-mock proxy``), and replay of its recordings.

app.py         the ASGI app: forward, judge, record; /__mock/violations and /__mock/health
wire.py        what crosses: hop-by-hop headers, the target URL, body limit, 502 in the envelope
exchange.py    one request and its answer
checker.py     the contract suite's checks applied to one exchange, and to a task's polls
violations.py  what was found: a warning line each, kept for the admin route
report.py      the suite's markdown report and JUnit XML, written at exit
recording.py   one JSON file per task or error exchange, secrets masked
replay.py      ``serve --replay DIR``: recorded answers first, the mock for the rest
cli.py         the ``proxy`` command
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ProxyApp, create_proxy_app
    from .settings import ProxySettings

__all__ = ["ProxyApp", "ProxySettings", "create_proxy_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use: ``serve`` loads the CLI (and so this package) but not the proxy's
    # checks, which bring schemathesis (about a second of start-up).
    if name in ("ProxyApp", "create_proxy_app"):
        from . import app

        return getattr(app, name)
    if name == "ProxySettings":
        from .settings import ProxySettings

        return ProxySettings
    raise AttributeError(name)
