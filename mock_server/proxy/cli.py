"""``nanobanana-mock proxy --target URL``: the validating proxy and recorder, as a command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..argtypes import argument_type, finite_float, whole_number
from ..connections import Limits, ServeConfig, protocol_class
from ..settings import LOG_LEVELS, Settings
from ..tls import TlsError, check_ca_file
from .settings import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT, ProxySettings

DEFAULT_PORT = 8080
PROG = "nanobanana-mock proxy"


def _target(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"must be an http(s)://host[:port][/path] URL, not {text!r}")
    try:
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError as error:
        raise ValueError(f"{text!r}: {error}") from None
    return text.rstrip("/")


def add_parser(commands: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    proxy: argparse.ArgumentParser = commands.add_parser(
        "proxy",
        help="forward to a target, checking every exchange against the contract (and record it)",
        description=(
            "Forward every request to --target unchanged and its answer back unchanged, checking each exchange "
            "against the contract: one warning line per violation on stderr, all of them at GET /__mock/violations. "
            "The first line on stdout is 'nanobanana-mock listening on URL  {json}'."
        ),
    )
    proxy.add_argument(
        "--target",
        required=True,
        type=argument_type(_target, "--target"),
        metavar="URL",
        help="base URL of the service to forward to, e.g. https://api.evolink.ai",
    )
    proxy.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    proxy.add_argument(
        "--port",
        default=DEFAULT_PORT,
        metavar="PORT",
        type=argument_type(lambda t: whole_number(t, minimum=0, maximum=65535), "--port"),
        help=f"port to listen on; 0 picks a free one (default {DEFAULT_PORT})",
    )
    proxy.add_argument("--ca-file", metavar="PEM", help="extra CA certificates trusted for an https target")
    proxy.add_argument(
        "--timeout",
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        type=argument_type(lambda t: finite_float(t, above=0, maximum=3600), "--timeout"),
        help=f"seconds the target gets to connect and answer; then 502 (default {DEFAULT_TIMEOUT:g})",
    )
    proxy.add_argument(
        "--strict",
        action="store_true",
        help="answer 502 contract_violation instead of a target's answer that breaks the contract",
    )
    proxy.add_argument("--record", type=Path, metavar="DIR", help="write each task's exchanges (and errors) into DIR")
    proxy.add_argument("--record-images", action="store_true", help="with --record: also save result images")
    proxy.add_argument("--report", type=Path, metavar="DIR", help="write contract-report.md and junit.xml here at exit")
    proxy.add_argument(
        "--max-body-bytes",
        default=DEFAULT_MAX_BODY_BYTES,
        metavar="N",
        type=argument_type(lambda t: whole_number(t, minimum=1, maximum=2**31), "--max-body-bytes"),
        help=f"larger request bodies answer 413 (default {DEFAULT_MAX_BODY_BYTES})",
    )
    proxy.add_argument(
        "--callback-forward",
        type=argument_type(_target, "--callback-forward"),
        metavar="URL",
        help="pass callbacks received at /__callback on to URL (default: answer them 200)",
    )
    proxy.add_argument(
        "--admin-token", metavar="TOKEN", help="token the proxy's /__mock/ routes require (made up off loopback)"
    )
    proxy.add_argument(
        "--log-level", choices=LOG_LEVELS, default="warning", help="the server's log level on stderr (default warning)"
    )
    return proxy


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    return 2


def _writable(folder: Path) -> str | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return f"{folder}: {error.strerror or error}"
    return None


def run_command(args: argparse.Namespace) -> int:
    from ..cli import _bind, _is_loopback
    from ..server import MockServer
    from .app import ProxyApp
    from .report import write_proxy_report

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per forwarded request otherwise
    if args.ca_file:
        try:
            check_ca_file(args.ca_file, "ca_file")
        except TlsError as error:
            return _fail(f"--ca-file {args.ca_file}: {error.reason}")
    if args.record_images and not args.record:
        return _fail("--record-images only applies with --record DIR")
    for option, folder in (("--record", args.record), ("--report", args.report)):
        problem = _writable(folder) if folder else None
        if problem:
            return _fail(f"{option} {problem}")
    token = args.admin_token
    made_token = None
    if not _is_loopback(args.host) and not token:
        token = made_token = secrets.token_urlsafe(18)
    settings = ProxySettings(
        target=args.target,
        ca_file=args.ca_file,
        timeout=args.timeout,
        strict=args.strict,
        record_dir=args.record,
        record_images=args.record_images,
        report_dir=args.report,
        max_body_bytes=args.max_body_bytes,
        admin_token=token,
        host=args.host,
        callback_forward=args.callback_forward,
    )
    app = ProxyApp(settings)
    try:
        sock = _bind(args.host, args.port)
    except OSError as error:
        print(f"{PROG}: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    started = time.time()
    host, port = sock.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    summary = {
        "url": url,
        "port": port,
        "pid": os.getpid(),
        "mode": "proxy",
        "target": settings.target,
        "strict": settings.strict,
        "record": str(settings.record_dir) if settings.record_dir else None,
        "report": str(settings.report_dir) if settings.report_dir else None,
        "admin_token": made_token,
    }
    print(f"nanobanana-mock listening on {url}  {json.dumps(summary)}", flush=True)
    if made_token:
        print(f"{PROG}: listening beyond loopback: /__mock/ needs X-Mock-Admin-Token: {made_token}", file=sys.stderr)
    serving = Settings(host=args.host, admin_token=token, max_body_bytes=args.max_body_bytes)
    config = ServeConfig(
        app,
        limits=Limits.of(serving),
        http=protocol_class(serving.http_parser),
        ws="none",
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
        server_header=False,
        date_header=False,  # the target's own Date goes back, alone
        timeout_keep_alive=int(serving.keep_alive_timeout),
    )
    server = MockServer(config, grace=serving.shutdown_grace)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if settings.report_dir is not None:
            paths = write_proxy_report(
                settings.report_dir,
                app.log.all(),
                target=settings.target,
                started=started,
                operations=app.operations_seen,
            )
            print(f"{PROG}: wrote {', '.join(str(p) for p in paths)}", file=sys.stderr, flush=True)
    return server.exit_status()
