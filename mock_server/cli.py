"""The ``nanobanana-mock`` command: ``serve`` the mock, or rebuild/check the spec ``bundle``."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import logging
import secrets
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path

from contract_tests import cli as contract_cli

from .argtypes import non_negative_float, positive_float, positive_int
from .config import MockConfig, load_config
from .gauntlet import cli as gauntlet_cli
from .settings import Settings
from .tls import TlsFiles, make_localhost_certificate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nanobanana-mock",
        description="An offline stand-in for EvoLink's Nano Banana image API.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the mock API (defaults: 127.0.0.1:8000)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on; 0 picks a free one (default 8000)")
    serve.add_argument(
        "--seed", type=int, help="seed of the random source, to replay a run (default: drawn and logged)"
    )
    serve.add_argument(
        "--task-duration",
        type=non_negative_float,
        metavar="SECONDS",
        help="mock seconds from create to finish (default 10)",
    )
    serve.add_argument(
        "--speed", type=positive_float, metavar="FACTOR", help="run mock time FACTOR times faster (default 1)"
    )
    serve.add_argument(
        "--clock",
        choices=["real", "virtual"],
        help="virtual: time moves only via POST /__mock/clock/advance (default real)",
    )
    serve.add_argument(
        "--max-body-bytes", type=int, metavar="N", help="largest request body accepted (default 1048576)"
    )
    serve.add_argument(
        "--retention",
        type=non_negative_float,
        metavar="SECONDS",
        help="how long finished tasks stay queryable (default 86400)",
    )
    serve.add_argument(
        "--max-tasks", type=int, metavar="N", help="most tasks kept at once; the oldest go first (default 200000)"
    )
    serve.add_argument("--public-url", metavar="URL", help="base of result links (default: the address polled)")
    serve.add_argument("--config", metavar="FILE", help="YAML file of accounts, failure rules and settings")
    serve.add_argument(
        "--extra-model",
        action="append",
        dest="extra_models",
        metavar="NAME",
        help="accept this model name too, answered as a Nano Banana task under that name (repeatable)",
    )
    serve.add_argument("--any-model", action="store_true", default=None, help="accept every model name")
    serve.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this key (repeatable); others answer 401. Default: any key works",
    )
    serve.add_argument(
        "--admin-token", metavar="TOKEN", help="token the admin API requires (always required off loopback)"
    )
    serve.add_argument("--access-log", action="store_true", default=None, help="log every request")
    serve.add_argument(
        "--allow-callback-host",
        action="append",
        dest="allow_callback_hosts",
        metavar="HOST",
        help="let callbacks go to HOST over http or https, private or not (repeatable; e.g. 127.0.0.1)",
    )
    serve.add_argument("--callback-ca-file", metavar="PEM", help="extra CA certificates trusted for https callbacks")
    serve.add_argument(
        "--tls", action="store_true", help="serve https with a certificate for localhost/127.0.0.1 made by trustme"
    )
    serve.add_argument("--tls-ca-out", metavar="PATH", help="with --tls: where to write the CA (default: a temp file)")
    serve.add_argument("--tls-cert", metavar="PEM", help="serve https with this certificate (chain) instead")
    serve.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument(
        "--journal-max-bytes",
        type=int,
        metavar="N",
        help="bytes the request journal may hold; the oldest entries go first (default 33554432)",
    )
    # Connections and shutdown (mock_server/connections.py, server.py).
    serve.add_argument(
        "--max-header-bytes",
        type=positive_int,
        metavar="N",
        help="most bytes of a request's line and headers: a longer line answers 414, more 431 (default 32768)",
    )
    serve.add_argument(
        "--read-timeout",
        type=positive_float,
        metavar="SECONDS",
        help="time to send a request's headers whole, and the longest a body may pause; then 408 (default 10)",
    )
    serve.add_argument(
        "--keep-alive-timeout",
        type=positive_float,
        metavar="SECONDS",
        help="how long an idle connection stays open after an answer (default 5)",
    )
    serve.add_argument(
        "--max-connections",
        type=positive_int,
        metavar="N",
        help="most connections open at once; a request on one more answers 503 (default 1000)",
    )
    serve.add_argument(
        "--shutdown-grace",
        type=positive_float,
        metavar="SECONDS",
        help="at SIGTERM or Ctrl-C, how long requests in flight get to finish (default 3)",
    )
    serve.add_argument(
        "--http-parser",
        choices=["auto", "httptools", "h11"],
        help="HTTP/1.1 parser: auto picks httptools when installed, else h11 (default auto)",
    )

    bundle = commands.add_parser(
        "bundle", help="rebuild spec/openapi.json from the seed, the query spec and the overlay"
    )
    bundle.add_argument("--spec-dir", type=Path, default=Path("spec"), help="folder of the spec files (default ./spec)")
    bundle.add_argument(
        "--check", action="store_true", help="only report whether the bundle is current (exit 1 if not)"
    )
    contract_cli.add_parser(commands)
    gauntlet_cli.add_parser(commands)
    return parser


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listen before announcing the address, so a client that reads it can connect at once
    # (its connection waits in the backlog until the server accepts).
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_from(config: MockConfig, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the config file's settings, then ``MOCK_*`` variables, then CLI options."""
    from_file = Settings(**config.settings)
    from_env = Settings.from_env(environ)
    defaults = Settings()
    changed_by_env = {
        f.name: getattr(from_env, f.name)
        for f in fields(Settings)
        if getattr(from_env, f.name) != getattr(defaults, f.name)
    }
    return from_file.with_changes(**changed_by_env).with_changes(
        host=args.host,
        port=args.port,
        seed=args.seed,
        task_duration=args.task_duration,
        speed=args.speed,
        clock=args.clock,
        max_body_bytes=args.max_body_bytes,
        retention=args.retention,
        max_tasks=args.max_tasks,
        public_url=args.public_url,
        access_log=args.access_log,
        admin_token=args.admin_token,
        config_file=args.config,
        allow_callback_hosts=tuple(args.allow_callback_hosts) if args.allow_callback_hosts else None,
        api_keys=tuple(args.api_keys) if args.api_keys else None,
        extra_models=tuple(args.extra_models) if args.extra_models else None,
        any_model=args.any_model,
        callback_ca_file=args.callback_ca_file,
        journal_max_bytes=args.journal_max_bytes,
        max_header_bytes=args.max_header_bytes,
        read_timeout=args.read_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        max_connections=args.max_connections,
        shutdown_grace=args.shutdown_grace,
        http_parser=args.http_parser,
    )


def _tune_garbage_collector() -> None:
    """Live tasks are many small long-lived objects: with the default thresholds the
    collector walks them over and over (measured: 22% of create time, pauses up to 79 ms).
    Freeze what start-up made and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 50)


def serve(args: argparse.Namespace) -> int:
    from .app import create_app, mock_of
    from .server import run_server

    try:
        config = load_config(args.config) if args.config else MockConfig()
        settings = settings_from(config, args)
    except (ValueError, TypeError) as error:
        print(f"nanobanana-mock: {error}", file=sys.stderr)
        return 2
    if not _is_loopback(settings.host) and not settings.admin_token:
        settings = settings.with_changes(admin_token=secrets.token_urlsafe(18))
        print(f"nanobanana-mock: listening beyond loopback; admin token: {settings.admin_token}", flush=True)
    try:
        app = create_app(settings, config=config)
    except ValueError as error:  # e.g. a --callback-ca-file that holds no CA
        print(f"nanobanana-mock: {error}", file=sys.stderr)
        return 2
    mock = mock_of(app)
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            print("nanobanana-mock: --tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        tls: TlsFiles | None = TlsFiles(args.tls_cert, args.tls_key, None)
    elif args.tls:
        tls = make_localhost_certificate(args.tls_ca_out)
        print(f"nanobanana-mock: TLS CA written to {tls.ca_file}", flush=True)
    else:
        tls = None
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as error:
        print(f"nanobanana-mock: cannot listen on {settings.host}:{settings.port}: {error}", file=sys.stderr)
        return 1
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    scheme = "https" if tls else "http"
    summary = {
        "url": f"{scheme}://{shown_host}:{port}",
        "seed": mock.random.seed,
        "clock": settings.clock,
        "speed": settings.speed,
        "task_duration": settings.task_duration,
        "config": settings.config_file,
        "tls_ca": tls.ca_file if tls else None,
    }
    print(f"nanobanana-mock listening on {scheme}://{shown_host}:{port}  {json.dumps(summary)}", flush=True)
    _tune_garbage_collector()
    return run_server(
        app,
        settings,
        sock,
        certfile=tls.certfile if tls else None,
        keyfile=tls.keyfile if tls else None,
        log_level=args.log_level,
        delays=mock.delays,
    )


def bundle(args: argparse.Namespace) -> int:
    from .spec import BUNDLE_FILE, build_bundle, render_bundle, write_bundle

    target = args.spec_dir / BUNDLE_FILE
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != render_bundle(build_bundle(args.spec_dir)):
            print(f"{target} is stale: run 'nanobanana-mock bundle'", file=sys.stderr)
            return 1
        print(f"{target} is current")
        return 0
    print(f"wrote {write_bundle(args.spec_dir)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "contract":
            return contract_cli.run_command(args)
        if args.command == "gauntlet":
            return gauntlet_cli.run_command(args)
        return bundle(args)
    except KeyboardInterrupt:  # Ctrl-C outside the server's own handling (start-up): no traceback
        print("nanobanana-mock: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
