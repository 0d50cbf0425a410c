"""Every request the suite sends goes through one ``requests`` session whose adapter keeps the budget.

``GuardAdapter`` wraps the adapter that really sends (urllib3 for a live target,
schemathesis' in-process ASGI adapter for the mock) and, for each request: refuses it when
the time budget is spent; reserves a paid task first if it could create one (any method
but GET/HEAD/OPTIONS on the create path); paces it under the rate limit; retries a 429
after ``Retry-After`` or an exponential backoff; and settles the reservation from the answer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from schemathesis.python.asgi import ASGIClient

from evolink_spec import CREATE_PATH

from ._budget import Budget

_FREE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
USER_AGENT = "nanobanana-contract-suite"


def may_create_task(method: str, url: str) -> bool:
    """Whether a request could make the target create (and bill) a task."""
    return method.upper() not in _FREE_METHODS and urlsplit(url).path.rstrip("/").endswith(CREATE_PATH)


class GuardAdapter(HTTPAdapter):
    def __init__(self, inner: BaseAdapter, budget: Budget) -> None:
        super().__init__()
        self.inner = inner
        self.budget = budget

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        paid = may_create_task(str(request.method), str(request.url))
        if paid:
            self.budget.reserve_task()
        created = False
        try:
            response = self._send_honouring_429(request, *args, **kwargs)
            created = paid and 200 <= response.status_code < 300
            return response
        except (requests.exceptions.ReadTimeout, requests.exceptions.ChunkedEncodingError):
            # The create may have reached the target: count it, never risk one more.
            created = paid
            raise
        finally:
            if paid:
                self.budget.settle_task(created)

    def _send_honouring_429(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        attempt = 0
        while True:
            self.budget.pace()
            response = self.inner.send(request, *args, **kwargs)
            if response.status_code != 429:
                return response
            delay = self.budget.retry_delay(attempt, response.headers.get("Retry-After"))
            if delay is None:
                return response
            response.close()
            self.budget.wait(delay)
            attempt += 1

    def close(self) -> None:
        self.inner.close()


def open_session(budget: Budget, *, app: Any = None, verify: bool | str = True) -> requests.Session:
    """A session for one target: in-process when ``app`` is an ASGI app, else over the network."""
    session: requests.Session
    if app is not None:
        client = ASGIClient(app)
        inner: BaseAdapter = client.adapter
        session = client
    else:
        session = requests.Session()
        session.verify = verify
        inner = HTTPAdapter()
    guard = GuardAdapter(inner, budget)
    session.mount("http://", guard)
    session.mount("https://", guard)
    session.headers["User-Agent"] = USER_AGENT
    return session
