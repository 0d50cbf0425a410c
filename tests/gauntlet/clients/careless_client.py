"""A careless Nano Banana client: the gauntlet should flag it.

Reads NANOBANANA_BASE_URL and NANOBANANA_API_KEY. Re-creates the task on any error
(a refused create, a refused poll, a failed task, a dead result link), polls as fast as it
can, ignores Retry-After, polls once more after the task completed "to be sure", and has
no deadline of its own (the gauntlet's timeout ends it).
"""

from __future__ import annotations

import os
import sys

import httpx

MAX_CALLS = 50_000


def main() -> int:
    base_url = os.environ["NANOBANANA_BASE_URL"]
    key = os.environ.get("NANOBANANA_API_KEY", "sk-careless-client")
    body = {"model": "nano-banana-beta", "prompt": "a cat playing in the grass"}
    calls = 0
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as http:
        while calls < MAX_CALLS:
            calls += 1
            created = http.post("/v1/images/generations", json=body)
            if created.status_code != 200:
                continue
            task_id = created.json()["id"]
            while calls < MAX_CALLS:
                calls += 1
                polled = http.get(f"/v1/tasks/{task_id}")
                if polled.status_code != 200:
                    break
                status = polled.json()["status"]
                if status == "failed":
                    break
                if status == "completed":
                    http.get(f"/v1/tasks/{task_id}")
                    if http.get(polled.json()["results"][0]).status_code == 200:
                        return 0
                    break
    return 1


if __name__ == "__main__":
    sys.exit(main())
