"""What the suite talks to: a ``Target`` (frozen facts about it) and its ``Client`` (a live session).

A target is either the mock in-process (an ASGI app, with a virtual clock the suite may
advance) or any base URL over HTTP(S). Nothing else distinguishes them: a URL that happens
to serve the mock is treated exactly like the real API.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from evolink_spec import CREATE_PATH, TASK_ID_PREFIX, TASK_PATH_PREFIX

from ._budget import Budget, Limits
from ._transport import open_session

REQUEST_TIMEOUT = 30.0
ADVANCE_PATH = "/__mock/clock/advance"
UNKNOWN_TASK_ID = f"{TASK_ID_PREFIX}1700000000-contract"
"""A well-formed id no target has: asking for it costs nothing and must answer 404."""


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Target:
    """A service to check, and how.

    Args:
        name: short label used in test ids and reports (``mock``, ``real``, ``live``).
        base_url: where the provider's paths live.
        api_key: the Bearer key (never written to reports).
        other_api_key: a second key, to check that one key cannot see another's tasks.
        ca_file: a PEM bundle to trust for HTTPS (a test CA).
        app: the ASGI app, for an in-process target.
        clock_control: the suite may move time with ``POST /__mock/clock/advance``.
        accepts_any_key: the target treats every well-formed key as valid (``--accepts-any-key``,
            or this mock saying ``unknown_keys: allow`` on ``/__mock/health``), so probes with a
            made-up key are skipped.
        limits: what the run may spend on this target.
        profile: name of the profile bounding generation (see ``_profiles``).
        skip_reason: when set, every test of this target is skipped with this reason.
        unreachable: why the target could not be reached before the run (see ``_probe``); its
            connectivity test fails with this line and nothing else is sent to it.
        notes: what the run learnt about the target before it started, for the report.
    """

    name: str
    base_url: str
    api_key: str | None
    other_api_key: str | None = None
    ca_file: str | None = None
    app: Any = field(default=None, compare=False, repr=False)
    clock_control: bool = False
    accepts_any_key: bool = False
    limits: Limits = field(default_factory=Limits)
    profile: str = "default"
    skip_reason: str | None = None
    unreachable: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def in_process(self) -> bool:
        return self.app is not None

    @property
    def replayable(self) -> bool:
        """Requests may be repeated freely (hypothesis may shrink and replay)."""
        return not self.limits.guarded

    def open(self) -> Client:
        return Client(self, Budget(self.limits))


class Client:
    """One target's session and budget, with the few calls the suite makes by hand."""

    def __init__(self, target: Target, budget: Budget) -> None:
        self.target = target
        self.budget = budget
        self.session = open_session(budget, app=target.app, verify=target.ca_file or True)
        self.base_url = target.base_url.rstrip("/")
        self.notes: list[str] = list(target.notes)
        """Things the run could not check, and why (shown in the report)."""
        self.observations: list[str] = []
        """What the run measured about how it checked (shown in the report), e.g. lifecycle sampling."""
        self.confirmed: set[tuple[str, ...]] = set()
        """Probes already passed once, so they are not repeated for every case."""
        self.foreign_checked: set[str] = set()

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def url(self, path: str) -> str:
        return self.base_url + path

    def auth(self, key: str | None = None) -> dict[str, str]:
        key = key if key is not None else self.target.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        # An explicit ``verify``: requests lets REQUESTS_CA_BUNDLE override the session's own.
        return self.session.request(method, url, timeout=REQUEST_TIMEOUT, verify=self.target.ca_file or True, **kwargs)

    def create(self, body: Any, key: str | None = None) -> requests.Response:
        return self.request("POST", self.url(CREATE_PATH), json=body, headers=self.auth(key))

    def get_task(self, task_id: str, key: str | None = None) -> requests.Response:
        return self.request("GET", self.url(TASK_PATH_PREFIX + task_id), headers=self.auth(key))

    def advance(self, seconds: float) -> None:
        """Move the mock's clock (in-process targets only)."""
        assert self.target.clock_control, "this target's clock cannot be moved"
        self.request("POST", self.url(ADVANCE_PATH), json={"seconds": seconds}).raise_for_status()

    def download(self, url: str) -> requests.Response:
        """Fetch a result link, without the API key (links are meant to be fetched by anyone)."""
        return self.request("GET", url)

    def close(self) -> None:
        self.session.close()
