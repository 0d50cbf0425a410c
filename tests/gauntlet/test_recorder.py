"""The gauntlet's answer recorder: what each poll was answered, in process."""

from __future__ import annotations

import httpx
import pytest

from mock_server import Settings, VirtualClock, create_app
from mock_server.app import mock_of
from mock_server.config import parse_config
from mock_server.gauntlet.recorder import AnswerRecorder
from tests.conftest import AUTH, CREATE, START, body


@pytest.mark.anyio
async def test_recorder__notes_each_poll_answer_and_passes_the_rest() -> None:
    clock = VirtualClock(START)
    rules = {"rules": [{"match": {"route": "query", "nth": 2}, "respond": {"status": 429, "retry_after": 1}}]}
    app = create_app(Settings(clock="virtual", seed=1, task_duration=2), config=parse_config(rules), clock=clock)
    recorder = AnswerRecorder(app, mock_of(app).clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=recorder), base_url="http://mock") as client:
        task_id = (await client.post(CREATE, json=body(), headers=AUTH)).json()["id"]
        await client.get(f"/v1/tasks/{task_id}", headers=AUTH)
        await client.get(f"/v1/tasks/{task_id}", headers=AUTH)
        clock.advance(2)
        await client.get(f"/v1/tasks/{task_id}", headers=AUTH)
        assert (await client.get("/openapi.json")).status_code == 200
    assert recorder.answers == [
        {"task_id": task_id, "status": 200, "task_status": "pending", "time": START},
        {"task_id": task_id, "status": 429, "task_status": None, "time": START},
        {"task_id": task_id, "status": 200, "task_status": "completed", "time": START + 2},
    ]
