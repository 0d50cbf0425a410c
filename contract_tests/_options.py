"""A run's options: what the user asked for, before any target is built.

Read once, at the edge: from the ``contract`` command's flags, or from pytest's
``--contract-*`` options plus the environment when the suite runs under plain pytest.
Keys come from flags or the environment only (``EVOLINK_API_KEY``,
``EVOLINK_OTHER_API_KEY``), never from pytest's command line, so they stay out of
process listings and CI logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

KEY_ENV = "EVOLINK_API_KEY"
OTHER_KEY_ENV = "EVOLINK_OTHER_API_KEY"
MOCK_KEY = "sk-contract-owner"
MOCK_OTHER_KEY = "sk-contract-other"
MOCK_BASE_URL = "http://localhost"
DEFAULT_SEED = 1
PROFILE_NAMES = ("quick", "default", "deep")
REPORT_FILE = "contract-report.md"
JUNIT_FILE = "junit.xml"
HTML_FILE = "contract-report.html"
DEFAULT_CALLBACK_LISTEN = "127.0.0.1:0"


@dataclass(frozen=True)
class RunOptions:
    """Everything that shapes a run. ``None`` means the documented default for the target."""

    base_url: str | None = None
    api_key: str | None = None
    other_api_key: str | None = None
    ca_file: str | None = None
    max_paid_tasks: int | None = None
    max_minutes: float | None = None
    max_rate: float | None = None
    report_dir: Path | None = None
    profile: str | None = None
    seed: int = DEFAULT_SEED
    exclude_checks: tuple[str, ...] = ()
    accepts_any_key: bool = False
    with_mock: bool = True
    """Without ``base_url``: also check the mock in-process (plain pytest does; the command does not)."""
    callbacks: bool = False
    """Check the target's callbacks with the suite's own receiver (``--callbacks``)."""
    callback_listen: str = DEFAULT_CALLBACK_LISTEN
    """``HOST:PORT`` the receiver listens on (port 0: any free port)."""
    callback_public_url: str | None = None
    """The URL the target must call to reach the receiver (a tunnel), when it is not the listen address."""
    compare_with_mock: bool | None = None
    """Run the edge probes against the mock in-process too and list disagreements (None: only for the real API)."""

    def __post_init__(self) -> None:
        if self.profile is not None and self.profile not in PROFILE_NAMES:
            raise ValueError(f"unknown profile {self.profile!r}; choose one of {', '.join(PROFILE_NAMES)}")
        if self.max_paid_tasks is not None and self.max_paid_tasks < 0:
            raise ValueError("max_paid_tasks must not be negative")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError("max_minutes must be positive")
        if self.max_rate is not None and self.max_rate <= 0:
            raise ValueError("max_rate must be positive")
        host, _, port = self.callback_listen.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"--callback-listen must be HOST:PORT, not {self.callback_listen!r}")
        if self.callback_public_url is not None and not self.callback_public_url.lower().startswith(
            ("http://", "https://")
        ):
            raise ValueError(f"--callback-public-url must be an http(s) URL, not {self.callback_public_url!r}")
        if self.api_key and self.api_key == self.other_api_key:
            raise ValueError("the other API key must differ from the API key")

    def with_environment(self, environ: Mapping[str, str] | None = None) -> RunOptions:
        """Fill the keys from the environment where no flag gave them."""
        environ = os.environ if environ is None else environ
        return replace(
            self,
            api_key=self.api_key or environ.get(KEY_ENV) or None,
            other_api_key=self.other_api_key or environ.get(OTHER_KEY_ENV) or None,
        )


class OptionsPlugin:
    """Hands the ``contract`` command's options to the pytest run it starts (as a plugin object,
    so keys never travel on a command line)."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
