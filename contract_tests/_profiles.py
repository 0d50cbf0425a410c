"""How hard a run looks: named profiles bounding every hypothesis run of the suite.

Each profile is also registered with hypothesis (``contract-<name>``) and used explicitly,
so a profile the host project loads globally (``tests/conftest.py`` does) never changes it.
A target with a budget (not loopback) always runs ``live``, whatever was asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings


@dataclass(frozen=True)
class Profile:
    name: str
    task_examples: int
    """Fuzzed cases per generation mode for ``GET /v1/tasks/{task_id}``."""
    create_examples: int
    """Fuzzed cases per generation mode for ``POST /v1/images/generations``."""
    machine_runs: int
    """Runs of the lifecycle state machine on the mock's virtual clock."""
    machine_steps: int
    """Steps per run of the lifecycle state machine."""
    real_time_runs: int
    """Runs against a live target, where each run waits for its tasks to finish for real."""
    positive_coverage: bool = True
    """Run schemathesis' deterministic coverage phase for positive data too (its negative
    cases always run: they are what proves invalid input is refused)."""


PROFILES = {
    profile.name: profile
    for profile in (
        Profile("quick", 8, 15, machine_runs=1, machine_steps=8, real_time_runs=1, positive_coverage=False),
        Profile("default", 100, 200, machine_runs=25, machine_steps=30, real_time_runs=2),
        Profile("deep", 300, 500, machine_runs=60, machine_steps=50, real_time_runs=5),
        Profile("live", 8, 15, machine_runs=1, machine_steps=10, real_time_runs=1),
    )
}
DEFAULT_PROFILE = "default"
LIVE_PROFILE = "live"

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def machine_settings(profile: Profile, *, virtual_time: bool) -> settings:
    """Hypothesis settings of the lifecycle machine. Runs in real time (a live target) are few,
    and never shrunk or replayed: every step would be sent, waited for and maybe paid again."""
    phases = [Phase.explicit, Phase.generate, Phase.shrink] if virtual_time else [Phase.explicit, Phase.generate]
    return settings(
        settings.get_profile(f"contract-{profile.name}"),
        max_examples=profile.machine_runs if virtual_time else profile.real_time_runs,
        stateful_step_count=profile.machine_steps,
        phases=phases,
    )


for _profile in PROFILES.values():
    settings.register_profile(
        f"contract-{_profile.name}",
        max_examples=_profile.machine_runs,
        stateful_step_count=_profile.machine_steps,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=False,
        suppress_health_check=_SUPPRESSED,
    )
