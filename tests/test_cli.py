"""The real CLI: started as a process on a free loopback port and driven over HTTP."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_server.cli import main
from mock_server.images import png_dimensions
from tests.conftest import AUTH, CREATE, body
from tests.servers import ROOT, start, stop


@pytest.fixture
def served() -> Iterator[str]:
    process, url = start("--clock", "virtual", "--seed", "5", "--task-duration", "4", "--speed", "2")
    try:
        yield url
    finally:
        stop(process)


def test_serve__drives_a_task_from_create_to_image_over_http(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10) as http:
        assert http.get("/__mock/health").json()["seed"] == 5
        created = http.post(CREATE, json=body(size="3:2"), headers=AUTH)
        assert created.status_code == 200
        task_id = created.json()["id"]
        assert http.get(f"/v1/tasks/{task_id}", headers=AUTH).json()["status"] == "pending"
        http.post("/__mock/clock/advance", json={"seconds": 4})
        done = http.get(f"/v1/tasks/{task_id}", headers=AUTH).json()
        assert done["status"] == "completed"
        assert done["results"][0].startswith(served + "/files/images/")
        image = http.get(done["results"][0])
        assert png_dimensions(image.content) == (1248, 832)
        assert http.get("/openapi.json").json()["openapi"] == "3.1.0"


def read_response(raw: socket.socket) -> bytes:
    """One whole HTTP/1.1 answer with a Content-Length, however the bytes arrive."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = raw.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        chunk = raw.recv(4096)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_serve__answers_garbage_over_a_raw_socket_and_keeps_serving(served: str) -> None:
    host, port = served.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
            b'Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{"a":'
        )
        answer = read_response(raw)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b'"code":"invalid_request"' in answer
    with httpx.Client(base_url=served, timeout=10) as http:
        assert http.post(CREATE, json=body(), headers=AUTH).status_code == 200


def test_serve__refuses_bad_options_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--speed", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "must be positive" in result.stderr


def test_serve__reports_a_port_in_use() -> None:
    process, url = start("--clock", "virtual")
    try:
        port = url.rsplit(":", 1)[1]
        result = subprocess.run(
            [sys.executable, "-m", "mock_server", "serve", "--port", port],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=ROOT,
        )
        assert result.returncode == 1
        assert "cannot listen on" in result.stderr
    finally:
        stop(process)


def test_bundle__check_passes_on_the_committed_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", "--check", "--spec-dir", str(ROOT / "spec")]) == 0
    assert "is current" in capsys.readouterr().out


def test_bundle__check_fails_on_a_stale_bundle(tmp_path: Path) -> None:
    for name in ("nanobanana-image-generate.yaml", "task-detail.yaml", "overlay.yaml"):
        (tmp_path / name).write_bytes((ROOT / "spec" / name).read_bytes())
    (tmp_path / "openapi.json").write_text("{}", encoding="utf-8")
    assert main(["bundle", "--check", "--spec-dir", str(tmp_path)]) == 1
    assert main(["bundle", "--spec-dir", str(tmp_path)]) == 0
    assert main(["bundle", "--check", "--spec-dir", str(tmp_path)]) == 0


def test_serve_tls__answers_https_trusting_the_printed_ca(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    process, url = start("--clock", "virtual", "--tls", "--tls-ca-out", str(ca))
    try:
        assert url.startswith("https://127.0.0.1:")
        assert ca.is_file()
        trusting = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(base_url=url, verify=trusting, timeout=10) as http:
            assert http.post(CREATE, json=body(), headers=AUTH).status_code == 200
        with httpx.Client(base_url=url, timeout=10) as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get("/__mock/health")
        with httpx.Client(base_url=url.replace("127.0.0.1", "localhost"), verify=trusting, timeout=10) as http:
            assert http.get("/__mock/health").json()["status"] == "ok"
    finally:
        stop(process)


def test_serve__refuses_a_bad_config_file_naming_the_member(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("rules:\n  - respond: {status: 418}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "bad.yaml: rules[0].respond.status: 418 is not a documented error status" in result.stderr


def test_serve__connection_options_reach_the_settings() -> None:
    from mock_server.cli import build_parser, settings_from
    from mock_server.config import MockConfig

    args = build_parser().parse_args(
        ["serve", "--max-header-bytes", "8192", "--read-timeout", "2", "--keep-alive-timeout", "1.5"]
        + ["--max-connections", "9", "--shutdown-grace", "4", "--http-parser", "h11"]
    )
    settings = settings_from(MockConfig(), args, environ={"MOCK_MAX_CONNECTIONS": "3", "MOCK_SHUTDOWN_GRACE": "8"})
    assert (settings.max_header_bytes, settings.read_timeout, settings.keep_alive_timeout) == (8192, 2.0, 1.5)
    assert (settings.max_connections, settings.shutdown_grace, settings.http_parser) == (9, 4.0, "h11")
    from_env = settings_from(MockConfig(), build_parser().parse_args(["serve"]), environ={"MOCK_MAX_CONNECTIONS": "3"})
    assert from_env.max_connections == 3


@pytest.mark.parametrize("option", ["--max-connections", "--max-header-bytes"])
def test_serve__refuses_a_limit_below_one(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", option, "0"])
    assert exited.value.code == 2
    assert "must be a positive whole number" in capsys.readouterr().err
