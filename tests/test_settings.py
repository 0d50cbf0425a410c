"""Settings: defaults, validation, and MOCK_* variables."""

from __future__ import annotations

import pytest

from mock_server.settings import Settings


def test_defaults() -> None:
    settings = Settings()
    assert (settings.host, settings.port, settings.clock, settings.task_duration) == ("127.0.0.1", 8000, "real", 10.0)
    assert settings.max_body_bytes == 1024 * 1024


def test_from_env__casts_each_variable() -> None:
    settings = Settings.from_env(
        {
            "MOCK_PORT": "9000",
            "MOCK_TASK_DURATION": "2.5",
            "MOCK_CLOCK": "virtual",
            "MOCK_ACCESS_LOG": "yes",
            "MOCK_SEED": "7",
            "MOCK_PUBLIC_URL": "https://m.test",
            "UNRELATED": "x",
        }
    )
    assert (settings.port, settings.task_duration, settings.clock, settings.access_log) == (9000, 2.5, "virtual", True)
    assert (settings.seed, settings.public_url) == (7, "https://m.test")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MOCK_PORT": "eighty"}, "Config 'MOCK_PORT' has value 'eighty'. Not a valid int."),
        ({"MOCK_ACCESS_LOG": "maybe"}, "Not a valid bool"),
        ({"MOCK_CLOCK": "sundial"}, "clock must be 'real' or 'virtual'"),
        ({"MOCK_SPEED": "0"}, "speed must be positive"),
        ({"MOCK_TASK_DURATION": "-1"}, "task_duration must not be negative"),
    ],
)
def test_from_env__explains_bad_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(environ)


def test_with_changes__ignores_unset_options() -> None:
    assert Settings(seed=3).with_changes(seed=None, port=1234) == Settings(seed=3, port=1234)


def test_connection_limits__from_env_and_checked() -> None:
    settings = Settings.from_env(
        {
            "MOCK_MAX_HEADER_BYTES": "8192",
            "MOCK_READ_TIMEOUT": "2.5",
            "MOCK_KEEP_ALIVE_TIMEOUT": "1",
            "MOCK_MAX_CONNECTIONS": "7",
            "MOCK_SHUTDOWN_GRACE": "0.5",
            "MOCK_HTTP_PARSER": "h11",
        }
    )
    limits = (settings.max_header_bytes, settings.read_timeout, settings.keep_alive_timeout, settings.max_connections)
    assert limits == (8192, 2.5, 1.0, 7)
    assert (settings.shutdown_grace, settings.http_parser) == (0.5, "h11")
    defaults = Settings()
    assert (defaults.max_header_bytes, defaults.read_timeout, defaults.keep_alive_timeout) == (32 * 1024, 10.0, 5.0)
    assert (defaults.max_connections, defaults.shutdown_grace, defaults.http_parser) == (1000, 3.0, "auto")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MOCK_MAX_HEADER_BYTES": "0"}, "max_header_bytes must be a positive whole number"),
        ({"MOCK_MAX_CONNECTIONS": "-3"}, "max_connections must be a positive whole number"),
        ({"MOCK_READ_TIMEOUT": "nan"}, "read_timeout must be a positive number of seconds"),
        ({"MOCK_KEEP_ALIVE_TIMEOUT": "inf"}, "keep_alive_timeout must be a positive number of seconds"),
        ({"MOCK_SHUTDOWN_GRACE": "0"}, "shutdown_grace must be a positive number of seconds"),
        ({"MOCK_HTTP_PARSER": "picohttp"}, "http_parser must be 'auto', 'httptools' or 'h11'"),
    ],
)
def test_connection_limits__refuse_bad_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(environ)
