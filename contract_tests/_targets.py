"""The targets a run's options name, with the budget rules of each.

No ``--base-url``: the real API (skipped, saying why, without a key), and under plain
pytest also the mock in-process. With ``--base-url``: that target alone. A live target is
probed once first (``_probe``): one that cannot be reached is not checked at all, and one
that says it is this mock accepting any key is judged as ``--accepts-any-key`` asks.
"""

from __future__ import annotations

from collections.abc import Callable

from evolink_spec import facts

from ._budget import DEFAULT_MINUTES, DEFAULT_PAID_TASKS, DEFAULT_RATE, Limits
from ._options import KEY_ENV, MOCK_BASE_URL, MOCK_KEY, MOCK_OTHER_KEY, RunOptions
from ._probe import Probe, probe
from ._profiles import DEFAULT_PROFILE, LIVE_PROFILE
from ._target import Target, is_loopback

Prober = Callable[[str, str | None], Probe]

MOCK_ACCEPTS_ANY_KEY = (
    "made-up-key probes: the target is nanobanana-mock accepting any key (`unknown_keys: allow` on "
    "/__mock/health); start it with --api-key KEY, or a config with `unknown_keys: reject`, to probe them"
)


def _probe(url: str, ca_file: str | None) -> Probe:
    return probe(url, ca_file=ca_file)


def limits_for(url: str, options: RunOptions) -> Limits:
    """Budget rules: a target that is not loopback gets every limit by default; a loopback one
    only the limits asked for (and the time bound)."""
    remote = not is_loopback(url)
    paid = options.max_paid_tasks if options.max_paid_tasks is not None else (DEFAULT_PAID_TASKS if remote else None)
    rate = options.max_rate if options.max_rate is not None else (DEFAULT_RATE if remote else None)
    minutes = options.max_minutes if options.max_minutes is not None else DEFAULT_MINUTES
    return Limits(max_paid_tasks=paid, max_rate=rate, max_seconds=minutes * 60)


def _live_target(name: str, url: str, options: RunOptions, prober: Prober) -> Target:
    remote = not is_loopback(url)
    skip_reason = None
    found = Probe()
    if not options.api_key:
        if name == "real":
            skip_reason = (
                f"{KEY_ENV} is not set: set it (or pass --api-key) to check the real API at {url}; "
                f"the run spends at most {options.max_paid_tasks or DEFAULT_PAID_TASKS} tasks' credits"
            )
        else:
            skip_reason = f"no API key for {url}: pass --api-key or set {KEY_ENV}"
    else:
        found = prober(url, options.ca_file)
    mock_allows = found.accepts_any_key and not options.accepts_any_key
    return Target(
        name=name,
        base_url=url,
        api_key=options.api_key,
        other_api_key=options.other_api_key,
        ca_file=options.ca_file,
        accepts_any_key=options.accepts_any_key or found.accepts_any_key,
        limits=limits_for(url, options),
        profile=LIVE_PROFILE if remote else (options.profile or DEFAULT_PROFILE),
        skip_reason=skip_reason,
        unreachable=found.problem,
        notes=(MOCK_ACCEPTS_ANY_KEY,) if mock_allows else (),
    )


def mock_target(options: RunOptions) -> Target:
    """The mock, in-process, on a virtual clock the suite moves itself.

    Its accounts file knows the suite's two keys and refuses every other key
    (``unknown_keys: reject``), as the real API does, so the made-up-key probes apply.
    """
    from mock_server import Settings, create_app
    from mock_server.config import parse_config  # the documented --config file, as data

    config = parse_config({"accounts": {MOCK_KEY: {}, MOCK_OTHER_KEY: {}}, "unknown_keys": "reject"}, "contract suite")
    app = create_app(Settings(clock="virtual", seed=options.seed), config=config)
    return Target(
        name="mock",
        base_url=MOCK_BASE_URL,
        api_key=MOCK_KEY,
        other_api_key=MOCK_OTHER_KEY,
        app=app,
        clock_control=True,
        profile=options.profile or DEFAULT_PROFILE,
    )


def targets_for(options: RunOptions, *, prober: Prober = _probe) -> list[Target]:
    """The targets of a run, in the order they are checked; ``prober`` asks a live one what it is."""
    if options.base_url is not None:
        return [_live_target("live", options.base_url.rstrip("/"), options, prober)]
    real = _live_target("real", facts().server_url, options, prober)
    return [mock_target(options), real] if options.with_mock else [real]
