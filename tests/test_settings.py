"""Settings: defaults, one check per setting, and MOCK_* variables."""

from __future__ import annotations

from dataclasses import fields

import pytest

from mock_server.settings import Settings, check_setting, env_names, env_values, known_variables, unknown_variables


def test_defaults() -> None:
    settings = Settings()
    assert (settings.host, settings.port, settings.clock, settings.task_duration) == ("127.0.0.1", 8000, "real", None)
    # None: each model's own duration, estimate and credits (mock_server/catalogue.py).
    assert (settings.estimated_time, settings.credits_per_task) == (None, None)
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
            "MOCK_TLS": "1",
            "MOCK_TLS_CA_DIR": "/keep/ca",
            "MOCK_LOG_LEVEL": "warning",
            "UNRELATED": "x",
        }
    )
    assert (settings.port, settings.task_duration, settings.clock, settings.access_log) == (9000, 2.5, "virtual", True)
    assert (settings.seed, settings.public_url) == (7, "https://m.test")
    assert (settings.tls, settings.tls_ca_dir, settings.log_level) == (True, "/keep/ca", "warning")


def test_from_env__every_setting_has_a_variable() -> None:
    assert [env_names(field.name)[0] for field in fields(Settings)] == [
        "MOCK_CONFIG" if field.name == "config_file" else "MOCK_" + field.name.upper() for field in fields(Settings)
    ]


@pytest.mark.parametrize("variable", ["MOCK_CONFIG", "MOCK_CONFIG_FILE"])
def test_from_env__config_file_has_an_alias(variable: str) -> None:
    assert Settings.from_env({variable: "my.yaml"}).config_file == "my.yaml"


def test_from_env__the_documented_name_wins_over_the_alias() -> None:
    assert env_values({"MOCK_CONFIG_FILE": "old.yaml", "MOCK_CONFIG": "new.yaml"}) == {
        "config_file": ("new.yaml", "MOCK_CONFIG")
    }


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MOCK_PORT": "eighty"}, "MOCK_PORT: must be a whole number, got 'eighty'"),
        ({"MOCK_PORT": "70000"}, "MOCK_PORT: must be a whole number from 0 to 65535, got 70000"),
        ({"MOCK_ACCESS_LOG": "maybe"}, "MOCK_ACCESS_LOG: must be true or false"),
        ({"MOCK_CLOCK": "sundial"}, "MOCK_CLOCK: must be 'real' or 'virtual', got 'sundial'"),
        ({"MOCK_SPEED": "0"}, "MOCK_SPEED: must be greater than 0 and at most 1000000, got 0"),
        ({"MOCK_TASK_DURATION": "-1"}, "MOCK_TASK_DURATION: must be from 0 to 315360000, got -1"),
        ({"MOCK_MAX_TASKS": "0"}, "MOCK_MAX_TASKS: must be a whole number 1 or more, got 0"),
        ({"MOCK_PUBLIC_URL": "notaurl"}, "MOCK_PUBLIC_URL: must be an http(s) URL"),
        ({"MOCK_LOG_LEVEL": "loud"}, "MOCK_LOG_LEVEL: must be 'critical' or"),
    ],
)
def test_from_env__names_the_variable_at_fault(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Settings.from_env(environ)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
@pytest.mark.parametrize(
    "variable", ["MOCK_SPEED", "MOCK_TASK_DURATION", "MOCK_RETENTION", "MOCK_RESULT_TTL", "MOCK_CREDITS_PER_TASK"]
)
def test_from_env__refuses_non_finite_numbers(variable: str, raw: str) -> None:
    with pytest.raises(ValueError, match=f"^{variable}: must be a finite number, got {raw}$"):
        Settings.from_env({variable: raw})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("speed", float("nan")),
        ("speed", float("inf")),
        ("task_duration", float("nan")),
        ("retention", float("-inf")),
        ("credits_per_task", float("inf")),
        ("seed", "abc"),
        ("seed", 1.5),
        ("port", True),
        ("max_body_bytes", 0),
    ],
)
def test_constructor__refuses_what_the_variables_refuse(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{name}: must be"):
        Settings(**{name: value})  # type: ignore[arg-type]


def test_constructor__names_the_field_not_a_pair() -> None:
    with pytest.raises(ValueError, match="^max_tasks: must be a whole number 1 or more, got 0$"):
        Settings(max_tasks=0)


@pytest.mark.parametrize(
    "url", ["https://mock.example", "http://127.0.0.1:8000/", "https://proxy.test/mock", "http://[::1]:9/"]
)
def test_public_url__accepts_http_urls(url: str) -> None:
    assert check_setting("public_url", url) == url


@pytest.mark.parametrize(
    "url", ["notaurl", "ftp://x.test", "https://", "https://x.test/?a=1", "https://x.test:99999", "/relative"]
)
def test_public_url__refuses_anything_else(url: str) -> None:
    with pytest.raises(ValueError, match="must be an http"):
        check_setting("public_url", url)


def test_unknown_variables__warn_with_the_nearest_name() -> None:
    warnings = unknown_variables({"MOCK_TSL": "1", "MOCK_SPEED": "2", "MOCK_ZZZZZZZZZZ": "x", "OTHER_TSL": "1"})
    assert warnings == [
        "MOCK_TSL is not a setting and is ignored (did you mean MOCK_TLS?)",
        "MOCK_ZZZZZZZZZZ is not a setting and is ignored",
    ]


def test_known_variables__include_the_alias() -> None:
    assert {"MOCK_CONFIG", "MOCK_CONFIG_FILE", "MOCK_TLS_CERT", "MOCK_LOG_LEVEL"} <= set(known_variables())


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
        ({"MOCK_MAX_HEADER_BYTES": "0"}, "MOCK_MAX_HEADER_BYTES: must be a whole number 1 or more, got 0"),
        ({"MOCK_MAX_CONNECTIONS": "-3"}, "MOCK_MAX_CONNECTIONS: must be a whole number 1 or more, got -3"),
        ({"MOCK_READ_TIMEOUT": "nan"}, "MOCK_READ_TIMEOUT: must be a finite number, got nan"),
        ({"MOCK_KEEP_ALIVE_TIMEOUT": "inf"}, "MOCK_KEEP_ALIVE_TIMEOUT: must be a finite number, got inf"),
        ({"MOCK_SHUTDOWN_GRACE": "0"}, "MOCK_SHUTDOWN_GRACE: must be greater than 0"),
        ({"MOCK_HTTP_PARSER": "picohttp"}, "MOCK_HTTP_PARSER: must be 'auto' or 'httptools' or 'h11'"),
    ],
)
def test_connection_limits__refuse_bad_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(environ)
