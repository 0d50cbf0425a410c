"""The mock's settings: one frozen value, read from the CLI or the environment at the edge.

Every setting has one check (``check_setting``), used wherever a value comes in: the
constructor, ``MOCK_*`` variables, the ``--config`` file and the ``serve`` options. A check
returns the value in its type or raises ``ValueError`` with the reason only; each caller
names the value the way the user wrote it (``--speed``, ``MOCK_SPEED``, ``file.yaml: speed``).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

from .argtypes import finite_float, whole_number

ENV_PREFIX = "MOCK_"
MIB = 1024 * 1024
MAX_SECONDS = 10 * 365 * 86_400
"""Longest duration a setting takes: ten years of mock time (the admin clock's longest step too)."""
MAX_SPEED = 1_000_000
"""Fastest clock: a day of mock time in 0.09 s; faster ones overflow mock time within days."""
CLOCKS = ("real", "virtual")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
HTTP_PARSERS = ("auto", "httptools", "h11")


@dataclass(frozen=True)
class Settings:
    """How a mock behaves where the provider is silent. Every default is in the README.

    Usage: ``create_app(Settings(clock="virtual", seed=7))``.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    seed: int | None = None
    """Seed of the one random source (ids, plans, images). None: drawn at start and logged."""
    task_duration: float | None = None
    """Mock seconds from create to finish (the first tenth of it the task is pending). None:
    each model's own (its estimate scaled as Nano Banana's 10 s for 45 s; ``catalogue.py``)."""
    speed: float = 1.0
    """A real clock runs this many times faster than the wall clock."""
    clock: str = "real"
    """``real`` or ``virtual`` (moves only through POST /__mock/clock/advance)."""
    estimated_time: int | None = None
    """``task_info.estimated_time`` in answers. None: each model's documented estimate."""
    credits_per_task: float | None = None
    """Credits each create reserves. None: each model's documented ``credits_reserved``."""
    max_body_bytes: int = MIB
    retention: float = 86_400.0
    """Mock seconds a finished task stays queryable (its result links live as long)."""
    result_ttl: float = 86_400.0
    """Mock seconds result links answer after the task completes."""
    max_tasks: int = 200_000
    public_url: str | None = None
    """Base of result links; default: the address the poll came in on."""
    access_log: bool = False
    admin_token: str | None = None
    """Token the admin API requires (X-Mock-Admin-Token); always required off loopback."""
    journal_capacity: int = 10_000
    config_file: str | None = None
    """YAML file of accounts, rules and settings (see README, "Failures on demand")."""
    extra_models: tuple[str, ...] = ()
    """Model names accepted besides the spec's, answered as Nano Banana tasks under that name."""
    any_model: bool = False
    """Accept every model name (as ``extra_models`` does for the listed ones)."""
    api_keys: tuple[str, ...] = ()
    """When set, only these keys (and those the config lists) are valid: others answer 401."""
    allow_callback_hosts: tuple[str, ...] = ()
    """Hosts callbacks may go to over http or https, private or not (``MOCK_ALLOW_CALLBACK_HOSTS=a,b``)."""
    callback_ca_file: str | None = None
    """PEM file of extra CAs trusted for https callback receivers."""
    journal_max_bytes: int = 32 * MIB
    """Bytes the request journal may hold (besides ``journal_capacity`` entries); the oldest go first."""
    # What one connection may hold or send, and how serve stops (mock_server/connections.py, server.py).
    max_header_bytes: int = 32 * 1024
    """Most bytes of a request's line and headers: a longer request line answers 414, more 431."""
    read_timeout: float = 10.0
    """Seconds a request's headers have to arrive whole, and the longest its body may pause (then 408)."""
    keep_alive_timeout: float = 5.0
    """Seconds an idle connection stays open after an answer."""
    max_connections: int = 1000
    """Most connections open at once; a request on one more answers 503."""
    shutdown_grace: float = 3.0
    """Seconds requests in flight get to finish after SIGTERM or Ctrl-C; then their connections close."""
    http_parser: str = "auto"
    """``auto`` (httptools when installed, else h11), ``httptools`` or ``h11``."""

    tls: bool = False
    """``serve``: https with a certificate for localhost made by trustme."""
    tls_cert: str | None = None
    """``serve``: https with this certificate (chain) instead; ``tls_key`` is its key."""
    tls_key: str | None = None
    tls_ca_out: str | None = None
    """``serve --tls``: where to write the CA certificate for clients to trust."""
    tls_ca_dir: str | None = None
    """``serve --tls``: folder that keeps the CA (certificate and key) between runs."""
    log_level: str = "info"
    """``serve``: the server's log level."""

    def __post_init__(self) -> None:
        for field in fields(self):
            try:
                value = check_setting(field.name, getattr(self, field.name))
            except ValueError as error:
                raise ValueError(f"{field.name}: {error}") from None
            object.__setattr__(self, field.name, value)

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **{key: value for key, value in changes.items() if value is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``MOCK_*`` variables (``MOCK_TASK_DURATION=2``); unset ones keep defaults."""
        return cls(**{name: value for name, (value, _) in env_values(environ).items()})


# --- the checks -------------------------------------------------------------------------

Check = Callable[[Any], Any]


def _number(
    minimum: float | None = None, maximum: float | None = None, above: float | None = None, optional: bool = False
) -> Check:
    def check(value: Any) -> float | None:
        if optional and value is None:
            return None
        return finite_float(value, minimum=minimum, maximum=maximum, above=above)

    return check


def _whole(minimum: int | None = None, maximum: int | None = None, optional: bool = False) -> Check:
    def check(value: Any) -> int | None:
        if optional and value is None:
            return None
        return whole_number(value, minimum=minimum, maximum=maximum)

    return check


def _choice(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str:
        text = value.strip().lower() if isinstance(value, str) else value
        if text not in choices:
            raise ValueError(f"must be {' or '.join(repr(c) for c in choices)}, got {value!r}")
        return str(text)

    return check


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if value.strip().lower() in ("0", "false", "no", "off"):
            return False
    raise ValueError(f"must be true or false (1/0, yes/no, on/off), got {value!r}")


def _text(optional: bool) -> Check:
    def check(value: Any) -> str | None:
        if optional and value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be a non-empty string, got {value!r}")
        return value

    return check


def _names(value: Any) -> tuple[str, ...]:
    """A list of names; from a variable, comma-separated (``a,b``)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"must be a list of names, got {value!r}")


def _public_url(value: Any) -> str | None:
    if value is None:
        return None
    url = value if isinstance(value, str) else ""  # not a string: refused below, as "" has no scheme
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"must be an http(s) URL such as https://mock.example:8443, got {value!r}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number or out of range
    except ValueError as error:
        raise ValueError(f"must be an http(s) URL: {error}, got {value!r}") from None
    return url


_SECONDS = _number(minimum=0, maximum=MAX_SECONDS)
_CHECKS: dict[str, Check] = {
    "host": _text(optional=False),
    "port": _whole(0, 65535),
    "seed": _whole(optional=True),
    "task_duration": _number(minimum=0, maximum=MAX_SECONDS, optional=True),
    "speed": _number(above=0, maximum=MAX_SPEED),
    "clock": _choice(CLOCKS),
    "estimated_time": _whole(0, optional=True),
    "credits_per_task": _number(minimum=0, optional=True),
    "max_body_bytes": _whole(1),
    "retention": _SECONDS,
    "result_ttl": _SECONDS,
    "max_tasks": _whole(1),
    "public_url": _public_url,
    "access_log": _flag,
    "admin_token": _text(optional=True),
    "journal_capacity": _whole(1),
    "config_file": _text(optional=True),
    "extra_models": _names,
    "any_model": _flag,
    "api_keys": _names,
    "allow_callback_hosts": _names,
    "callback_ca_file": _text(optional=True),
    "tls": _flag,
    "tls_cert": _text(optional=True),
    "tls_key": _text(optional=True),
    "tls_ca_out": _text(optional=True),
    "tls_ca_dir": _text(optional=True),
    "log_level": _choice(LOG_LEVELS),
    "journal_max_bytes": _whole(1),
    "max_header_bytes": _whole(1),
    "read_timeout": _number(above=0, maximum=MAX_SECONDS),
    "keep_alive_timeout": _number(above=0, maximum=MAX_SECONDS),
    "max_connections": _whole(1),
    "shutdown_grace": _number(above=0, maximum=MAX_SECONDS),
    "http_parser": _choice(HTTP_PARSERS),
}


def check_setting(name: str, value: Any) -> Any:
    """``value`` of setting ``name`` in its type, or ``ValueError`` with the reason (not the name)."""
    return _CHECKS[name](value)


# --- MOCK_* variables ---------------------------------------------------------------------

_ENV_ALIASES = {"config_file": ("MOCK_CONFIG", "MOCK_CONFIG_FILE")}
"""Variables not named MOCK_<FIELD>: ``--config`` is ``MOCK_CONFIG``; the first name wins."""


def env_names(name: str) -> tuple[str, ...]:
    """The variables that set setting ``name``, the documented one first."""
    return _ENV_ALIASES.get(name, (ENV_PREFIX + name.upper(),))


def env_values(environ: Mapping[str, str] | None = None) -> dict[str, tuple[Any, str]]:
    """Each setting a ``MOCK_*`` variable sets, as ``{name: (value, variable)}``; empty ones are unset.

    Raises ``ValueError`` naming the variable: ``MOCK_SPEED: must be a finite number, got nan``.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, tuple[Any, str]] = {}
    for field in fields(Settings):
        for variable in env_names(field.name):
            raw = environ.get(variable)
            if raw is None or raw == "":
                continue
            try:
                values[field.name] = (check_setting(field.name, raw), variable)
            except ValueError as error:
                raise ValueError(f"{variable}: {error}") from None
            break
    return values


def known_variables() -> tuple[str, ...]:
    return tuple(variable for field in fields(Settings) for variable in env_names(field.name))


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """One warning per ``MOCK_*`` variable no setting reads, with the nearest known name."""
    environ = os.environ if environ is None else environ
    known = known_variables()
    return [_unknown(name, known) for name in sorted(environ) if name.startswith(ENV_PREFIX) and name not in known]


def _unknown(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{name} is not a setting and is ignored{hint}"
