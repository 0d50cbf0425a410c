"""A well-behaved Nano Banana client: the gauntlet should find nothing to flag.

Reads NANOBANANA_BASE_URL, NANOBANANA_API_KEY and (optional) NANOBANANA_CALLBACK_URL.
Polls once a second, waits Retry-After after a 429 (doubling backoff after a 5xx), gives up
on other 4xx answers and on failed tasks, stops at the final state, and gives up when
GOOD_CLIENT_DEADLINE seconds (default 10) have passed.

Exit status: 0 image downloaded, 1 task failed, 2 refused (4xx), 3 result link gone,
4 deadline passed.
"""

from __future__ import annotations

import os
import sys
import time

import httpx

POLL_INTERVAL = 1.0
MAX_ATTEMPTS = 5


class GiveUp(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def call(http: httpx.Client, method: str, url: str, deadline: float, **kwargs: object) -> httpx.Response:
    """One call, retried after a 429 (waiting Retry-After), a 5xx or a broken connection."""
    backoff = 1.0
    for _ in range(MAX_ATTEMPTS):
        try:
            response: httpx.Response | None = http.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code != 429 and response.status_code < 500:
            return response
        wait = backoff
        if response is not None and response.status_code == 429:
            wait = float(response.headers.get("Retry-After") or backoff)
        if time.monotonic() + wait > deadline:
            raise GiveUp(f"deadline passed while retrying {method} {url}", 4)
        time.sleep(wait)
        backoff *= 2
    raise GiveUp(f"{method} {url} kept failing", 2)


def run(base_url: str, key: str, callback_url: str | None, deadline: float) -> int:
    body: dict[str, object] = {"model": "nano-banana-beta", "prompt": "a cat playing in the grass", "size": "1:1"}
    if callback_url:
        body["callback_url"] = callback_url
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as http:
        created = call(http, "POST", "/v1/images/generations", deadline, json=body)
        if created.status_code != 200:
            print(f"create refused: {created.status_code} {created.text}")
            return 2
        task_id = created.json()["id"]
        while time.monotonic() + POLL_INTERVAL <= deadline:
            time.sleep(POLL_INTERVAL)
            polled = call(http, "GET", f"/v1/tasks/{task_id}", deadline)
            if polled.status_code != 200:
                print(f"poll refused: {polled.status_code} {polled.text}")
                return 2
            task = polled.json()
            if task["status"] == "failed":
                print(f"task failed: {task['error']['code']}")
                return 1
            if task["status"] == "completed":
                image = call(http, "GET", task["results"][0], deadline)
                if image.status_code != 200:
                    print(f"result link answered {image.status_code}")
                    return 3
                print(f"downloaded {len(image.content)} bytes")
                return 0
        print("gave up: deadline passed")
        return 4


def main() -> int:
    deadline = time.monotonic() + float(os.environ.get("GOOD_CLIENT_DEADLINE", "10"))
    try:
        return run(
            os.environ["NANOBANANA_BASE_URL"],
            os.environ.get("NANOBANANA_API_KEY", "sk-good-client"),
            os.environ.get("NANOBANANA_CALLBACK_URL"),
            deadline,
        )
    except GiveUp as error:
        print(f"gave up: {error}")
        return error.code


if __name__ == "__main__":
    sys.exit(main())
