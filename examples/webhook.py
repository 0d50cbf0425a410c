"""A webhook handler for EvoLink's task callbacks that is safe against duplicates.

The provider retries a callback until it gets a 2xx, so the same finished task can arrive
more than once (and after the client already polled it). Handle each task once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class WebhookHandler:
    finished: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0

    def handle(self, body: bytes) -> int:
        """Process one delivery; answer the HTTP status to send back (2xx ends retries)."""
        try:
            task = json.loads(body)
            task_id, status = task["id"], task["status"]
        except (ValueError, KeyError, TypeError):
            return 400
        if status not in ("completed", "failed"):
            return 202
        if task_id in self.finished:
            self.duplicates += 1
            return 200
        self.finished[task_id] = task
        return 200
