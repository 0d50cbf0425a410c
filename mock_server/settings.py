"""The mock's settings: one frozen value, read from the CLI or the environment at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

ENV_PREFIX = "MOCK_"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """How a mock behaves where the provider is silent. Every default is in the README.

    Usage: ``create_app(Settings(clock="virtual", seed=7))``.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    seed: int | None = None
    """Seed of the one random source (ids, plans, images). None: drawn at start and logged."""
    task_duration: float = 10.0
    """Mock seconds from create to finish. The first tenth of it the task is pending."""
    speed: float = 1.0
    """A real clock runs this many times faster than the wall clock."""
    clock: str = "real"
    """``real`` or ``virtual`` (moves only through POST /__mock/clock/advance)."""
    estimated_time: int = 45
    """``task_info.estimated_time`` in answers: the provider's own estimate."""
    credits_per_task: float = 1.6
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

    def __post_init__(self) -> None:
        if self.clock not in ("real", "virtual"):
            raise ValueError(f"clock must be 'real' or 'virtual', not {self.clock!r}")
        for name in ("task_duration", "retention", "result_ttl"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        if self.max_body_bytes < 1 or self.max_tasks < 1:
            raise ValueError("max_body_bytes and max_tasks must be positive")
        if not 0 < self.port < 65536 and self.port != 0:
            raise ValueError(f"port must be between 0 and 65535, not {self.port}")
        if self.journal_max_bytes < 1:
            raise ValueError(f"journal_max_bytes must be 1 or more, not {self.journal_max_bytes}")
        self._check_connection_limits()

    def _check_connection_limits(self) -> None:
        for name in ("max_header_bytes", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive whole number")
        for name in ("read_timeout", "keep_alive_timeout", "shutdown_grace"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ValueError(f"{name} must be a positive number of seconds")
        if self.http_parser not in ("auto", "httptools", "h11"):
            raise ValueError(f"http_parser must be 'auto', 'httptools' or 'h11', not {self.http_parser!r}")

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **{key: value for key, value in changes.items() if value is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, prefix: str = ENV_PREFIX) -> Settings:
        """Settings from ``MOCK_*`` variables (``MOCK_TASK_DURATION=2``); unset ones keep defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = environ.get(prefix + field.name.upper())
            if raw is None or raw == "":
                continue
            values[field.name] = _cast(prefix + field.name.upper(), raw, str(field.type))
        return cls(**values)


def _cast(name: str, raw: str, annotation: str) -> Any:
    kind = annotation.replace(" | None", "")
    if kind == "tuple[str, ...]":
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"Config '{name}' has value '{raw}'. Not a valid {kind}.") from None
    if kind == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"Config '{name}' has value '{raw}'. Not a valid bool.")
    return raw
