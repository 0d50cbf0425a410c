"""One request and its answer as the proxy saw them: what the checks, the log and the recorder read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from evolink_spec import CREATE, CREATE_OPERATION, CREATE_PATH, TASK, TASK_OPERATION, TASK_PATH_PREFIX

CREATE_LABEL = CREATE.label
TASK_LABEL = TASK.label


@dataclass(frozen=True)
class Exchange:
    """A request forwarded to the target and the target's answer (``status`` is None when the
    target could not be reached). Header names are lower case; ``answer_body`` is decoded
    (``Content-Encoding`` undone)."""

    request_id: str
    method: str
    path: str
    query: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    status: int | None
    answer_headers: tuple[tuple[str, str], ...]
    answer_body: bytes
    at: float
    """When the answer arrived (unix seconds, from the proxy's clock)."""

    @property
    def operation_id(self) -> str | None:
        """The spec operation this request is, or None (result images, anything else)."""
        if self.method == "POST" and self.path == CREATE_PATH:
            return CREATE_OPERATION
        if (
            self.method == "GET"
            and self.path.startswith(TASK_PATH_PREFIX)
            and "/" not in self.path[len(TASK_PATH_PREFIX) :]
        ):
            return TASK_OPERATION
        return None

    @property
    def label(self) -> str:
        """``METHOD /path`` as the spec names the operation (the contract report's ``operation``)."""
        operation = self.operation_id
        if operation == CREATE_OPERATION:
            return CREATE_LABEL
        if operation == TASK_OPERATION:
            return TASK_LABEL
        return f"{self.method} {self.path}"

    @property
    def asked_task_id(self) -> str | None:
        """The task id a poll asks for."""
        return self.path[len(TASK_PATH_PREFIX) :] if self.operation_id == TASK_OPERATION else None

    def header(self, name: str, *, answer: bool = True) -> str | None:
        for key, value in self.answer_headers if answer else self.request_headers:
            if key == name:
                return value
        return None

    def answer_json(self) -> Any:
        """The answer's body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.answer_body.decode("utf-8"))
        except ValueError:
            return None

    def request_json(self) -> Any:
        try:
            return json.loads(self.request_body.decode("utf-8"))
        except ValueError:
            return None

    @property
    def task_id(self) -> str | None:
        """The task this exchange is about: the one asked for, or the one a create answered."""
        asked = self.asked_task_id
        if asked is not None:
            return asked
        if self.operation_id == CREATE_OPERATION and self.status == 200:
            body = self.answer_json()
            if isinstance(body, dict) and isinstance(body.get("id"), str):
                return str(body["id"])
        return None
