"""The ``nanobanana-mock`` command: ``serve`` the mock, or rebuild/check the spec ``bundle``."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import functools
import gc
import ipaddress
import json
import logging
import os
import secrets
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import FrameType
from typing import Any

from contract_tests import cli as contract_cli

from .argtypes import argument_type
from .config import ConfigError, MockConfig, load_config
from .gauntlet import cli as gauntlet_cli
from .proxy import cli as proxy_cli
from .settings import (
    CLOCKS,
    ENV_PREFIX,
    HTTP_PARSERS,
    LOG_LEVELS,
    Settings,
    check_setting,
    env_names,
    env_values,
    unknown_variables,
)
from .tls import TlsError, TlsFiles, check_ca_file, check_certificate, make_localhost_certificate


class _Parser(argparse.ArgumentParser):
    """argparse that suggests the nearest option or choice for a typo (``--tsl``: did you
    mean ``--tls``?) in every subcommand; Python 3.14's ``suggest_on_error`` covers choices only."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self._is_top():
            parser = self._command_parser(parsed)
            parser.error(_unrecognized(extras, parser))
        return parsed, extras

    def _is_top(self) -> bool:
        return any(isinstance(action, argparse._SubParsersAction) for action in self._actions)

    def _command_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen: argparse.ArgumentParser | None = action.choices.get(getattr(parsed, action.dest, None) or "")
                if chosen is not None:
                    return chosen
        return self

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as error:
            close = difflib.get_close_matches(str(value), [str(c) for c in action.choices or ()], n=1)
            if not close:
                raise
            raise argparse.ArgumentError(action, f"{error.message} (did you mean {close[0]!r}?)") from None


def _unrecognized(extras: list[str], parser: argparse.ArgumentParser) -> str:
    options = [name for action in parser._actions for name in action.option_strings]
    shown = []
    for extra in extras:
        close = difflib.get_close_matches(extra.split("=", 1)[0], options, n=1) if extra.startswith("-") else []
        shown.append(f"{extra} (did you mean {close[0]}?)" if close else extra)
    return "unrecognized arguments: " + " ".join(shown)


def _setting(name: str) -> Callable[[str], Any]:
    """The argparse type of the option for setting ``name``: the setting's own check."""
    return argument_type(lambda text: check_setting(name, text), name)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nanobanana-mock",
        description="An offline stand-in for EvoLink's Nano Banana image API.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="serve the mock API (defaults: 127.0.0.1:8000)",
        description=(
            "Serve the mock API. The first line on stdout is 'nanobanana-mock listening on URL  {json}' "
            "(url, port, pid, seed, admin token when one was made, TLS CA path...). Every option can also be "
            "set with a MOCK_* variable (--task-duration: MOCK_TASK_DURATION; --config: MOCK_CONFIG); "
            "options win over variables, which win over the config file."
        ),
    )
    # Each option's dest is the Settings field it sets, and its type is that field's check.
    serve.add_argument("--host", type=_setting("host"), help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_setting("port"), help="port to listen on; 0 picks a free one (default 8000)")
    serve.add_argument(
        "--seed", type=_setting("seed"), help="seed of the random source, to replay a run (default: drawn and logged)"
    )
    serve.add_argument(
        "--task-duration",
        type=_setting("task_duration"),
        metavar="SECONDS",
        help="mock seconds from create to finish (default: the model's, 10 for Nano Banana)",
    )
    serve.add_argument(
        "--speed", type=_setting("speed"), metavar="FACTOR", help="run mock time FACTOR times faster (default 1)"
    )
    serve.add_argument(
        "--clock",
        choices=CLOCKS,
        help="virtual: time moves only via POST /__mock/clock/advance (default real)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=_setting("max_body_bytes"),
        metavar="N",
        help="largest request body accepted (default 1048576)",
    )
    serve.add_argument(
        "--retention",
        type=_setting("retention"),
        metavar="SECONDS",
        help="how long finished tasks stay queryable (default 86400)",
    )
    serve.add_argument(
        "--max-tasks",
        type=_setting("max_tasks"),
        metavar="N",
        help="most tasks kept at once; the oldest go first (default 200000)",
    )
    serve.add_argument(
        "--public-url",
        type=_setting("public_url"),
        metavar="URL",
        help="base of result links, an http(s) URL (default: the address polled)",
    )
    serve.add_argument(
        "--config", dest="config_file", metavar="FILE", help="YAML file of accounts, failure rules and settings"
    )
    serve.add_argument(
        "--extra-model",
        action="append",
        dest="extra_models",
        metavar="NAME",
        help="accept a model name the image family lacks, answered as a Nano Banana task under that name (repeatable)",
    )
    serve.add_argument(
        "--any-model", action="store_true", default=None, help="accept every model name (unknown ones as Nano Banana)"
    )
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
        "--tls",
        action="store_true",
        default=None,
        help="serve https with a certificate for localhost/127.0.0.1/::1 made by trustme",
    )
    serve.add_argument("--tls-ca-out", metavar="PATH", help="with --tls: also write the CA certificate to PATH")
    serve.add_argument(
        "--tls-ca-dir",
        metavar="DIR",
        help="with --tls: keep the CA (ca.pem, ca.key) in DIR, made on first use and reused after",
    )
    serve.add_argument("--tls-cert", metavar="PEM", help="serve https with this certificate (chain) instead")
    serve.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    serve.add_argument("--log-level", choices=LOG_LEVELS, help="the server's log level, on stderr (default info)")
    serve.add_argument(
        "--journal-max-bytes",
        type=_setting("journal_max_bytes"),
        metavar="N",
        help="bytes the request journal may hold; the oldest entries go first (default 33554432)",
    )
    # Connections and shutdown (mock_server/connections.py, server.py).
    serve.add_argument(
        "--max-header-bytes",
        type=_setting("max_header_bytes"),
        metavar="N",
        help="most bytes of a request's line and headers: a longer line answers 414, more 431 (default 32768)",
    )
    serve.add_argument(
        "--read-timeout",
        type=_setting("read_timeout"),
        metavar="SECONDS",
        help="time to send a request's headers whole, and the longest a body may pause; then 408 (default 10)",
    )
    serve.add_argument(
        "--keep-alive-timeout",
        type=_setting("keep_alive_timeout"),
        metavar="SECONDS",
        help="how long an idle connection stays open after an answer (default 5)",
    )
    serve.add_argument(
        "--max-connections",
        type=_setting("max_connections"),
        metavar="N",
        help="most connections open at once; a request on one more answers 503 (default 1000)",
    )
    serve.add_argument(
        "--shutdown-grace",
        type=_setting("shutdown_grace"),
        metavar="SECONDS",
        help="at SIGTERM or Ctrl-C, how long requests in flight get to finish (default 3)",
    )
    serve.add_argument(
        "--http-parser",
        choices=HTTP_PARSERS,
        help="HTTP/1.1 parser: auto picks httptools when installed, else h11 (default auto)",
    )

    serve.add_argument(
        "--replay", metavar="DIR", help="answer from the recordings of 'proxy --record DIR' first (see the README)"
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
    proxy_cli.add_parser(commands)
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


@dataclass(frozen=True)
class Resolved:
    """The settings ``serve`` runs with, the config file they name, and how the user named
    each setting they set (``--tls-cert``, ``MOCK_TLS_CERT``, ``my.yaml: seed``)."""

    settings: Settings
    config: MockConfig
    origins: dict[str, str]

    def label(self, name: str) -> str:
        return self.origins.get(name) or _option_of(name)

    def named(self, name: str) -> str:
        """The setting and its value as the user gave it: ``--tls-cert cert.pem``, ``MOCK_CONFIG=x.yaml``."""
        label, value = self.label(name), getattr(self.settings, name)
        return f"{label}={value}" if label.startswith(ENV_PREFIX) else f"{label} {value}"


@functools.cache
def _serve_options() -> dict[str, str]:
    serve = build_parser()._command_parser(argparse.Namespace(command="serve"))  # type: ignore[attr-defined]
    return {action.dest: action.option_strings[0] for action in serve._actions if action.option_strings}


def _option_of(name: str) -> str:
    return _serve_options().get(name) or env_names(name)[0]


def resolve_settings(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None, *, config: MockConfig | None = None
) -> Resolved:
    """Defaults, then the config file's settings, then ``MOCK_*`` variables, then options.

    Loads the config file the options or variables name (unless ``config`` is given).
    Raises ``ValueError`` naming the option, variable or file member at fault.
    """
    from_env = env_values(environ)
    origins = {name: variable for name, (_, variable) in from_env.items()}
    values = {name: value for name, (value, _) in from_env.items()}
    for field in fields(Settings):
        value = getattr(args, field.name, None)
        if value is not None:
            values[field.name] = tuple(value) if isinstance(value, list) else value
            origins[field.name] = _option_of(field.name)
    if config is None:
        config_file = values.get("config_file")
        try:
            config = load_config(config_file) if config_file else MockConfig()
        except ConfigError as error:
            label = origins["config_file"]
            raise ValueError(f"{label}: {error}" if label.startswith(ENV_PREFIX) else f"{label} {error}") from None
        for key in config.settings:
            origins.setdefault(key, f"{config_file}: {key}")
    return Resolved(Settings(**{**config.settings, **values}), config, origins)


def settings_from(config: MockConfig, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then ``config``'s settings, then ``MOCK_*`` variables, then CLI options."""
    return resolve_settings(args, environ, config=config).settings


def _conflict(resolved: Resolved) -> str | None:
    """Options that contradict each other or would be silently ignored."""
    settings, label = resolved.settings, resolved.label
    if bool(settings.tls_cert) != bool(settings.tls_key):
        return f"{label('tls_cert')} and {label('tls_key')} go together"
    if settings.tls and settings.tls_cert:
        return (
            f"{label('tls')} makes its own certificate and {label('tls_cert')} gives one: "
            "use either (with --tls-cert, drop --tls)"
        )
    for name in ("tls_ca_out", "tls_ca_dir"):
        if getattr(settings, name) and not settings.tls:
            return f"{label(name)} only applies with {label('tls')} (the mock's own certificate)"
    return None


def _check_files(resolved: Resolved) -> None:
    """Every file an option names, read before the server listens; raises ``TlsError``."""
    settings = resolved.settings
    if settings.callback_ca_file:
        check_ca_file(settings.callback_ca_file)
    if settings.tls_cert and settings.tls_key:
        check_certificate(settings.tls_cert, settings.tls_key)


def _tune_garbage_collector() -> None:
    """Live tasks are many small long-lived objects: with the default thresholds the
    collector walks them over and over (measured: 22% of create time, pauses up to 79 ms).
    Freeze what start-up made and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 50)


def _fail(message: str) -> int:
    print(f"nanobanana-mock: {message}", file=sys.stderr, flush=True)
    return 2


def serve(args: argparse.Namespace) -> int:
    """``nanobanana-mock serve``. What it made (the TLS folder, which holds a private key) is
    removed however it ends: a return, an error, Ctrl-C, or SIGTERM at any moment (the
    default SIGTERM action ends the process without unwinding, so a handler cleans up first
    and then lets the signal end the process as before)."""
    cleanup = contextlib.ExitStack()

    def clean_then_die(signum: int, frame: FrameType | None) -> None:
        cleanup.close()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, clean_then_die) if in_main_thread else None
    try:
        with cleanup:
            return _serve(args, cleanup)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _serve(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> int:
    from .app import create_app, mock_of
    from .server import run_server

    for warning in unknown_variables():
        print(f"nanobanana-mock: warning: {warning}", file=sys.stderr, flush=True)
    try:
        resolved = resolve_settings(args)
    except ValueError as error:
        return _fail(str(error))
    settings, config = resolved.settings, resolved.config
    problem = _conflict(resolved)
    if problem:
        return _fail(problem)
    try:
        _check_files(resolved)
    except TlsError as error:
        return _fail(f"{resolved.named(error.setting)}: {error.reason}")
    made_token = None
    if not _is_loopback(settings.host) and not settings.admin_token:
        made_token = secrets.token_urlsafe(18)
        settings = settings.with_changes(admin_token=made_token)
    try:
        app = create_app(settings, config=config)
    except ValueError as error:
        return _fail(str(error))
    mock = mock_of(app)
    served: Any = app
    if getattr(args, "replay", None):
        from .proxy.replay import RecordingError, replaying

        try:
            served = replaying(app, args.replay)
        except RecordingError as error:
            return _fail(f"--replay {error}")
    tls: TlsFiles | None = None
    if settings.tls_cert and settings.tls_key:
        tls = TlsFiles(settings.tls_cert, settings.tls_key, None)
    elif settings.tls:
        # The server's key lives in a private temporary folder, removed however serve ends.
        folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="nanobanana-mock-tls-")))
        try:
            tls = make_localhost_certificate(folder, ca_out=settings.tls_ca_out, ca_dir=settings.tls_ca_dir)
        except TlsError as error:
            return _fail(f"{resolved.named(error.setting)}: {error.reason}")
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as error:
        print(f"nanobanana-mock: cannot listen on {settings.host}:{settings.port}: {error}", file=sys.stderr)
        return 1
    cleanup.callback(sock.close)
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    scheme = "https" if tls else "http"
    url = f"{scheme}://{shown_host}:{port}"
    summary = {
        "url": url,
        "port": port,
        "pid": os.getpid(),
        "seed": mock.random.seed,
        "clock": settings.clock,
        "speed": settings.speed,
        "task_duration": settings.task_duration,
        "config": settings.config_file,
        "tls_ca": tls.ca_file if tls else None,
        "admin_token": made_token,
    }
    # The first line on stdout, always (scripts read it); allow_nan=False: never invalid JSON.
    print(f"nanobanana-mock listening on {url}  {json.dumps(summary, allow_nan=False)}", flush=True)
    if made_token:
        print(
            f"nanobanana-mock: listening beyond loopback: the admin API needs X-Mock-Admin-Token: {made_token}",
            file=sys.stderr,
            flush=True,
        )
    if tls and tls.ca_file:
        print(f"nanobanana-mock: trust the TLS CA in {tls.ca_file}", file=sys.stderr, flush=True)
    _tune_garbage_collector()
    return run_server(
        served,
        settings,
        sock,
        certfile=tls.certfile if tls else None,
        keyfile=tls.keyfile if tls else None,
        log_level=settings.log_level,
        delays=mock.delays,
    )


def bundle(args: argparse.Namespace) -> int:
    import yaml

    from evolink_spec import BUNDLE_FILE, build_bundle, render_bundle, write_bundle

    target = args.spec_dir / BUNDLE_FILE
    try:
        if args.check:
            current = target.read_text(encoding="utf-8") if target.is_file() else ""
            if current != render_bundle(build_bundle(args.spec_dir)):
                print(f"{target} is stale: run 'nanobanana-mock bundle'", file=sys.stderr)
                return 1
            print(f"{target} is current")
            return 0
        print(f"wrote {write_bundle(args.spec_dir)}")
    except OSError as error:
        where = error.filename or args.spec_dir
        hint = " (run it in the repository's root, or pass --spec-dir)" if isinstance(error, FileNotFoundError) else ""
        print(f"nanobanana-mock bundle: {where}: {error.strerror or error}{hint}", file=sys.stderr)
        return 2
    except (yaml.YAMLError, ValueError, KeyError) as error:
        print(f"nanobanana-mock bundle: {args.spec_dir}: the spec files do not build: {error}", file=sys.stderr)
        return 2
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
        if args.command == "proxy":
            return proxy_cli.run_command(args)
        return bundle(args)
    except KeyboardInterrupt:  # Ctrl-C outside the server's own handling (start-up): no traceback
        print("nanobanana-mock: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
