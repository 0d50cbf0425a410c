"""``serve --replay DIR``: recorded answers first, the mock for everything else.

Matching, as the README documents it:

- A create (``POST /v1/images/generations``) matches a recorded create (or a recorded error
  answer to a create) when its JSON body equals the recorded body: every member counts,
  member order and spacing do not, and secrets are compared masked as the recording stores
  them. Answers to the same body are given in the order they were recorded (a 429 then
  the task, say), one per create; after the last, the last one repeats.
- A poll (``GET /v1/tasks/{id}``) of a recorded task answers that task's recorded polls (and
  recorded error answers to them) in order; after the last, the last one repeats.
- The key is not checked for recorded answers (recordings hold keys masked). Anything not
  recorded falls through to the mock, as ``serve`` answers it. ``POST /__mock/reset`` also
  rewinds every recording to its first answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evolink_spec import CREATE_PATH, TASK_PATH_PREFIX

from .recording import mask_body

MAX_MATCHED_BODY = 1_048_576
"""Bodies larger than this are never matched: they go to the mock whole."""
_UNSENT_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "date"})


class RecordingError(ValueError):
    """A recording folder that cannot be replayed (named file and reason)."""


@dataclass(frozen=True)
class RecordedAnswer:
    seq: int
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass
class _Queue:
    answers: list[RecordedAnswer] = field(default_factory=list)
    given: int = 0

    def next(self) -> RecordedAnswer:
        answer = self.answers[min(self.given, len(self.answers) - 1)]
        self.given += 1
        return answer


def body_key(raw: bytes) -> str:
    """What a create body is matched by: its JSON, masked as recordings are, canonical."""
    try:
        value: Any = json.loads(raw.decode("utf-8"))
    except ValueError:
        return "text:" + str(mask_body(raw.decode("utf-8", "replace")))
    return "json:" + json.dumps(mask_body(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _recorded_body_key(request: dict[str, Any]) -> str:
    body = request.get("body")
    if request.get("body_format") == "text":
        return "text:" + str(body)
    if body is None:
        return "text:"
    return "json:" + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _answer(entry: dict[str, Any], where: Path) -> RecordedAnswer:
    try:
        answer = entry["answer"]
        status = answer["status"]
        if not isinstance(status, int):
            raise RecordingError(f"{where}: exchange {entry.get('seq')} has no status (the target was not reached)")
        body = answer.get("body")
        if body is None:
            raw = b""
        elif answer.get("body_format") == "text":
            raw = str(body).encode("utf-8")
        else:
            raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = tuple(
            (str(name).lower(), str(value))
            for name, value in dict(answer.get("headers") or {}).items()
            if str(name).lower() not in _UNSENT_HEADERS
        )
        return RecordedAnswer(int(entry["seq"]), status, headers, raw)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, RecordingError):
            raise
        raise RecordingError(f"{where}: not an exchange of a recording ({error!r})") from None


class Recordings:
    """The answers of a recording folder, by create body and by task id (thread-safe)."""

    def __init__(self) -> None:
        self.creates: dict[str, _Queue] = {}
        self.polls: dict[str, _Queue] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path | str) -> Recordings:
        """Read ``folder`` (as ``proxy --record`` writes it); ``RecordingError`` names what is wrong."""
        root = Path(folder)
        if not root.is_dir():
            raise RecordingError(f"{root}: not a folder of recordings")
        recordings = cls()
        creates: dict[str, list[RecordedAnswer]] = {}
        polls: dict[str, list[RecordedAnswer]] = {}
        for path in sorted(root.glob("tasks/*.json")):
            record = _read(path)
            task_id = str(record.get("task_id"))
            create = record.get("create")
            if isinstance(create, dict):
                creates.setdefault(_recorded_body_key(create.get("request", {})), []).append(_answer(create, path))
            for poll in record.get("polls") or []:
                polls.setdefault(task_id, []).append(_answer(poll, path))
        for path in sorted(root.glob("errors/*.json")):
            entry = _read(path)
            request = entry.get("request") or {}
            if entry.get("answer", {}).get("status") is None:
                continue  # the target was not reached: nothing to replay
            method, request_path = request.get("method"), str(request.get("path", ""))
            if method == "POST" and request_path == CREATE_PATH:
                creates.setdefault(_recorded_body_key(request), []).append(_answer(entry, path))
            elif method == "GET" and request_path.startswith(TASK_PATH_PREFIX):
                polls.setdefault(request_path[len(TASK_PATH_PREFIX) :], []).append(_answer(entry, path))
        recordings.creates = {key: _Queue(sorted(found, key=_seq)) for key, found in creates.items()}
        recordings.polls = {key: _Queue(sorted(found, key=_seq)) for key, found in polls.items()}
        return recordings

    def next_create(self, body: bytes) -> RecordedAnswer | None:
        with self._lock:
            queue = self.creates.get(body_key(body))
            return queue.next() if queue else None

    def next_poll(self, task_id: str) -> RecordedAnswer | None:
        with self._lock:
            queue = self.polls.get(task_id)
            return queue.next() if queue else None

    def rewind(self) -> None:
        with self._lock:
            for queue in [*self.creates.values(), *self.polls.values()]:
                queue.given = 0

    @property
    def count(self) -> int:
        return sum(len(q.answers) for q in [*self.creates.values(), *self.polls.values()])


def _seq(answer: RecordedAnswer) -> int:
    return answer.seq


def _read(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RecordingError(f"{path}: cannot be read as JSON: {error}") from None
    if not isinstance(value, dict):
        raise RecordingError(f"{path}: not a recording (a JSON object is expected)")
    return value


class ReplayApp:
    """Wraps the mock's ASGI app: recorded answers where they match, the mock otherwise."""

    def __init__(self, app: ASGIApp, recordings: Recordings) -> None:
        self.app = app
        self.recordings = recordings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == CREATE_PATH:
            messages, body = await _read_bounded(receive)
            answer = self.recordings.next_create(body) if body is not None else None
            if answer is not None:
                await _send(send, answer)
                return
            await self.app(scope, _replayed(messages, receive), send)
        elif method == "GET" and path.startswith(TASK_PATH_PREFIX) and "/" not in path[len(TASK_PATH_PREFIX) :]:
            answer = self.recordings.next_poll(path[len(TASK_PATH_PREFIX) :])
            if answer is not None:
                await _send(send, answer)
                return
            await self.app(scope, receive, send)
        elif method == "POST" and path == "/__mock/reset":
            await self.app(scope, receive, self._rewinding(send))
        else:
            await self.app(scope, receive, send)

    def _rewinding(self, send: Send) -> Send:
        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                self.recordings.rewind()
            await send(message)

        return watch


async def _read_bounded(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The body's messages as received, and the body when it is whole and small enough to match."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > MAX_MATCHED_BODY:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)


def _replayed(messages: Iterable[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _send(send: Send, answer: RecordedAnswer) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def replaying(app: ASGIApp, folder: Path | str) -> ReplayApp:
    """``app`` answering from the recordings in ``folder`` first (``RecordingError`` if unreadable)."""
    return ReplayApp(app, Recordings.load(folder))
