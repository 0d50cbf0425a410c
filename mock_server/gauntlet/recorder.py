"""What each poll was answered. The request journal keeps what clients sent, not what they
got; the gauntlet needs to know which poll first told the client its task had ended, so it
wraps the mock in this ASGI layer, which reads the ``status`` of every answered task.

Only polls (``GET /v1/tasks/{id}``) are wrapped; everything else passes untouched. The
connection-fault layer finds the socket through uvicorn's ``send``, which this layer wraps,
so it hands the socket on in the scope first (``TRANSPORT_KEY``), as ``MockApp`` does.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evolink_spec import TASK_PATH_PREFIX as QUERY_PREFIX

from ..clock import Clock
from ..http.exchange import TRANSPORT_KEY, transport_of


def _task_status(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    status = document.get("status") if isinstance(document, dict) else None
    return status if isinstance(status, str) else None


class AnswerRecorder:
    """Notes every poll's answer in ``answers``, oldest first:
    ``{"task_id", "status", "task_status", "time"}`` (``time``: mock time the answer began;
    ``status`` None when the connection broke; ``task_status`` None unless answered 200)."""

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock
        self.answers: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        task_id = path[len(QUERY_PREFIX) :]
        if scope["type"] != "http" or scope["method"] != "GET" or not path.startswith(QUERY_PREFIX) or "/" in task_id:
            await self.app(scope, receive, send)
            return
        scope[TRANSPORT_KEY] = transport_of(send)
        answer: dict[str, Any] = {"task_id": task_id, "status": None, "task_status": None}
        chunks: list[bytes] = []

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["time"] = self.clock.now()
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            answer.setdefault("time", self.clock.now())
            if answer["status"] == 200:
                answer["task_status"] = _task_status(b"".join(chunks))
            self.answers.append(answer)
