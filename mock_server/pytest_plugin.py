"""The pytest plugin (entry point ``pytest11``): a running mock in one fixture.

    def test_my_client(nanobanana_mock):
        client = MyClient(base_url=nanobanana_mock.base_url, api_key=nanobanana_mock.api_key)
        task = client.create(prompt="a cat")
        nanobanana_mock.advance(10)
        assert client.get(task.id).status == "completed"

Each test gets a fresh mock (its own tasks, journal, rules and virtual clock) served on
one loopback port shared by the session. The marker's ``api_key`` means what ``serve
--api-key`` means: only that key (or those keys, given a list) is accepted, any other
answers 401, and the handle's ``api_key`` is the first. Per test: ``@pytest.mark.nanobanana_mock(
config=..., task_duration=..., seed=..., clock=..., api_key=...)``; session-wide: the ini
options ``nanobanana_mock_config``, ``nanobanana_mock_task_duration``,
``nanobanana_mock_seed`` and ``nanobanana_mock_clock``. ``replay=DIR`` answers from the
recordings of ``nanobanana-mock proxy --record DIR`` first, as ``serve --replay DIR`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .testing import CallbackReceiver, MockHandle, ThreadedServer

MARKER = "nanobanana_mock"
# The test's mocks, so its callback receiver can wait for their journals.
_MOCKS = pytest.StashKey[list[MockHandle]]()
_SETTINGS = ("task_duration", "seed", "clock", "speed")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("nanobanana_mock_config", "YAML config file (accounts, rules) for every nanobanana_mock", default="")
    parser.addini(
        "nanobanana_mock_task_duration",
        "task duration in mock seconds (default: the model's, 10 for Nano Banana)",
        default="",
    )
    parser.addini("nanobanana_mock_seed", "seed of the mock's random sources (default 1)", default="")
    parser.addini("nanobanana_mock_clock", "virtual (default) or real", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(config=None, task_duration=None, seed=None, clock=None, speed=None, api_key=None, replay=None): "
        "settings of this test's nanobanana_mock",
    )


@pytest.fixture(scope="session")
def nanobanana_mock_server() -> Iterator[ThreadedServer]:
    """One loopback server for the session; each test mounts its own fresh mock on it."""
    server = ThreadedServer().start()
    try:
        yield server
    finally:
        server.stop()


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    ini = request.config.getini
    options: dict[str, Any] = {"clock": "virtual", "seed": 1}
    if ini("nanobanana_mock_config"):
        options["config"] = str(Path(str(request.config.rootpath), str(ini("nanobanana_mock_config"))))
    if ini("nanobanana_mock_task_duration"):
        options["task_duration"] = float(str(ini("nanobanana_mock_task_duration")))
    if ini("nanobanana_mock_seed"):
        options["seed"] = int(str(ini("nanobanana_mock_seed")))
    if ini("nanobanana_mock_clock"):
        options["clock"] = str(ini("nanobanana_mock_clock"))
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        unknown = set(marker.kwargs) - {"config", "api_key", "replay", *_SETTINGS}
        if unknown:
            raise pytest.UsageError(f"@pytest.mark.{MARKER}: unknown option {sorted(unknown)[0]!r}")
        options.update(marker.kwargs)
    return options


def _api_keys(value: Any) -> tuple[str, ...]:
    """The marker's ``api_key``: as ``serve --api-key``, only these keys are accepted (a key or a list)."""
    if value is None:
        return ()
    keys = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list | tuple) else None
    if not keys or not all(isinstance(key, str) and key for key in keys):
        raise pytest.UsageError(f"@pytest.mark.{MARKER}: api_key must be a key or a list of keys, not {value!r}")
    return keys


@pytest.fixture
def nanobanana_mock(request: pytest.FixtureRequest, nanobanana_mock_server: ThreadedServer) -> Iterator[MockHandle]:
    """A fresh mock for this test, on a loopback port: see ``MockHandle`` for what it offers."""
    from .app import create_app
    from .config import MockConfig, load_config, parse_config
    from .settings import Settings

    options = _options(request)
    config_option = options.pop("config", None)
    api_keys = _api_keys(options.pop("api_key", None))
    replay = options.pop("replay", None)
    if isinstance(config_option, dict):
        config = parse_config(config_option, "nanobanana_mock marker")
    elif config_option:
        config = load_config(config_option)
    else:
        config = MockConfig()
    settings = Settings(**{**config.settings, **options}).with_changes(
        allow_callback_hosts=("127.0.0.1", "localhost"), api_keys=api_keys
    )
    app = create_app(settings, config=config)
    if replay:
        from .proxy.replay import replaying

        nanobanana_mock_server.mount(replaying(app, replay))
    else:
        nanobanana_mock_server.mount(app)
    handle = MockHandle(nanobanana_mock_server.url, api_key=api_keys[0] if api_keys else "sk-test", app=app)
    request.node.stash.setdefault(_MOCKS, []).append(handle)
    try:
        yield handle
    finally:
        nanobanana_mock_server.mount(None)
        # Deliveries still pending belong to this test only: end them on the server's loop.
        nanobanana_mock_server.run(app.state.mock.callbacks.aclose())
        handle.close()


@pytest.fixture
def nanobanana_callback_receiver(request: pytest.FixtureRequest) -> Iterator[CallbackReceiver]:
    """A webhook receiver on loopback recording what the mock delivers; ``fail_next()`` and
    ``hang_next()`` make it misbehave. Pass ``receiver.url`` as ``callback_url``. Its
    ``wait_for(n)`` returns once the test's ``nanobanana_mock`` has journalled n deliveries."""
    mocks = request.node.stash.setdefault(_MOCKS, [])
    receiver = CallbackReceiver()
    receiver.attach(lambda: [entry for mock in mocks for entry in mock.callbacks()] if mocks else None)
    try:
        yield receiver
    finally:
        receiver.close()
