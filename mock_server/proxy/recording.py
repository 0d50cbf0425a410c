"""Recordings: what the target really answered, one reviewable JSON file per task or error.

Layout of a recording folder::

    tasks/<task id>.json       {"task_id", "create": exchange, "polls": [exchange...], "callbacks": [...]}
    errors/<seq>-<request id>.json   one exchange answered 4xx/5xx (or not at all: status null)
    images/<file name>         result images, only with --record-images

An exchange is ``{"seq", "at", "request": {"method", "path", "query", "headers", "body"},
"answer": {"status", "headers", "body"}}``; ``seq`` orders every exchange of the folder.
Bodies are JSON values when they are JSON, else text (``"body_format": "text"``). Files
are indented with sorted keys, so a diff shows what changed. Secrets are masked before
anything is written (``mask_headers``, ``mask_body``): keys cannot be read back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..journal import mask
from .exchange import Exchange
from .wire import HOP_BY_HOP

FORMAT = "nanobanana-mock recording 1"
_SECRET_NAME = re.compile(r"key|token|secret|password|passwd|auth|cookie|session|signature", re.I)
_KEY_VALUE = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}")
_UNSTORED_ANSWER = HOP_BY_HOP | {"content-length", "content-encoding", "date"}
_UNSTORED_REQUEST = HOP_BY_HOP | {"content-length", "host"}


def mask_header(name: str, value: str) -> str:
    """A header's value as recorded: secrets masked (``Bearer sk-l...cdef``)."""
    if not _SECRET_NAME.search(name):
        return _KEY_VALUE.sub(lambda m: mask(m.group(0)), value)
    scheme, space, credential = value.strip().partition(" ")
    if space and name.lower() in ("authorization", "proxy-authorization"):
        return f"{scheme} {mask(credential.strip())}"
    return mask(value)


def mask_headers(
    headers: tuple[tuple[str, str], ...] | list[tuple[str, str]], unstored: frozenset[str]
) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers:
        if name in unstored:
            continue
        shown = mask_header(name, value)
        kept[name] = f"{kept[name]}, {shown}" if name in kept else shown
    return kept


def mask_body(value: Any) -> Any:
    """A JSON value with secret-looking members and key-looking strings masked."""
    if isinstance(value, dict):
        return {
            name: (mask(item) if isinstance(item, str) and _SECRET_NAME.search(name) else mask_body(item))
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [mask_body(item) for item in value]
    if isinstance(value, str):
        return _KEY_VALUE.sub(lambda m: mask(m.group(0)), value)
    return value


def body_fields(raw: bytes) -> dict[str, Any]:
    """``{"body": ...}`` for a recorded message (JSON value, or text with ``body_format``)."""
    if not raw:
        return {"body": None}
    try:
        return {"body": mask_body(json.loads(raw.decode("utf-8")))}
    except ValueError:
        return {"body": mask_body(raw.decode("utf-8", "replace")), "body_format": "text"}


def exchange_record(exchange: Exchange, seq: int) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": exchange.method,
        "path": exchange.path,
        "query": exchange.query,
        "headers": mask_headers(exchange.request_headers, _UNSTORED_REQUEST),
        **body_fields(exchange.request_body),
    }
    answer: dict[str, Any] = {
        "status": exchange.status,
        "headers": mask_headers(exchange.answer_headers, _UNSTORED_ANSWER),
        **body_fields(exchange.answer_body),
    }
    return {
        "seq": seq,
        "at": round(exchange.at, 3),
        "request_id": exchange.request_id,
        "request": request,
        "answer": answer,
    }


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:120] or "_"


class RecordingWriter:
    """Writes exchanges into ``folder`` as they happen (each file rewritten whole, atomically)."""

    def __init__(self, folder: Path, *, images: bool = False) -> None:
        self.folder = folder
        self.images = images
        folder.mkdir(parents=True, exist_ok=True)
        self.seq = _last_seq(folder)

    def wants_image(self, path: str, status: int) -> bool:
        return self.images and status == 200

    def record(self, exchange: Exchange) -> None:
        if exchange.operation_id is None:
            self._image(exchange)
            return
        self.seq += 1
        entry = exchange_record(exchange, self.seq)
        task_id = exchange.task_id
        if exchange.status == 200 and task_id is not None:
            self._task(task_id, "create" if exchange.method == "POST" else "polls", entry)
        else:
            write_json(self.folder / "errors" / f"{self.seq:06d}-{exchange.request_id}.json", entry)

    def record_callback(self, task_id: str, delivery: Exchange) -> None:
        """A callback the proxy received for ``task_id`` (its request is what the target sent)."""
        self.seq += 1
        self._task(task_id, "callbacks", exchange_record(delivery, self.seq))

    def _task(self, task_id: str, part: str, entry: dict[str, Any]) -> None:
        path = self.folder / "tasks" / f"{_safe_name(task_id)}.json"
        record: dict[str, Any] = {"format": FORMAT, "task_id": task_id, "create": None, "polls": [], "callbacks": []}
        if path.exists():
            record = json.loads(path.read_text(encoding="utf-8"))
        if part == "create":
            record["create"] = entry
        else:
            record[part].append(entry)
        write_json(path, record)

    def _image(self, exchange: Exchange) -> None:
        media = exchange.header("content-type") or ""
        if self.images and exchange.status == 200 and media.startswith("image/") and exchange.answer_body:
            folder = self.folder / "images"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / _safe_name(exchange.path.rsplit("/", 1)[-1])).write_bytes(exchange.answer_body)


def _last_seq(folder: Path) -> int:
    """The highest ``seq`` already in ``folder``, so a new session's exchanges come after."""
    last = 0
    for path in folder.glob("errors/*.json"):
        head = path.name.split("-", 1)[0]
        if head.isdigit():
            last = max(last, int(head))
    for path in folder.glob("tasks/*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        entries = [record.get("create")] + list(record.get("polls", [])) + list(record.get("callbacks", []))
        last = max([last] + [int(e["seq"]) for e in entries if isinstance(e, dict) and isinstance(e.get("seq"), int)])
    return last
