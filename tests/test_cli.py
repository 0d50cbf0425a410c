"""The real CLI: started as a process on a free loopback port and driven over HTTP."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.cli import build_parser, main, resolve_settings
from mock_server.images import png_dimensions
from tests.conftest import AUTH, CREATE, body
from tests.support.servers import BANNER, ROOT, start, stop


@pytest.fixture(autouse=True)
def never_listen_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """An in-process ``main(["serve", ...])`` here must stop before it listens: were a check
    to let it through, the test fails at once instead of serving for ever."""

    def refuse(host: str, port: int) -> None:
        pytest.fail(f"serve went on to listen on {host}:{port}")

    monkeypatch.setattr("mock_server.cli._bind", refuse)


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
    assert "argument --speed: must be greater than 0" in result.stderr


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


# -- the start line ------------------------------------------------------------------------

OFF_LOOPBACK = [  # binds 127.0.0.1 but behaves as off loopback: no test listens beyond loopback
    "-c",
    "import sys, mock_server.cli as cli; cli._is_loopback = lambda host: False; sys.exit(cli.main(sys.argv[1:]))",
]


@dataclass
class Launched:
    process: subprocess.Popen[str]
    first_line: str
    stderr_file: Path

    @property
    def summary(self) -> dict[str, Any]:
        assert self.first_line.startswith(BANNER), self.first_line
        url, _, document = self.first_line.removeprefix(BANNER).rstrip("\n").partition("  ")
        summary: dict[str, Any] = json.loads(document, parse_constant=_no_constant)
        assert summary["url"] == url
        return summary

    def stderr(self) -> str:
        return self.stderr_file.read_text(encoding="utf-8")

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(how)
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:  # pragma: no cover - only when the test fails
                self.process.kill()
                self.process.wait(timeout=10)
            assert self.process.stdout is not None
            self.process.stdout.close()


def _no_constant(name: str) -> Any:
    raise AssertionError(f"the start line holds {name}: not JSON")


def launch(tmp_path: Path, *args: str, env: dict[str, str] | None = None, python: list[str] | None = None) -> Launched:
    """``serve --port 0 ARGS`` as a process; its first stdout line, however long it takes to come."""
    stderr_file = tmp_path / f"stderr-{len(list(tmp_path.glob('stderr-*')))}.txt"
    command = [sys.executable, *(python or ["-m", "mock_server"]), "serve", "--port", "0", *args]
    with stderr_file.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT, env=env or _clean_env()
        )
    assert process.stdout is not None
    watchdog = threading.Timer(60, process.kill)  # a mock that never prints must not hang the run
    watchdog.start()
    try:
        first_line = process.stdout.readline()
    finally:
        watchdog.cancel()
    return Launched(process, first_line, stderr_file)


def _clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("MOCK_")}, **extra}


@pytest.mark.parametrize(
    ("options", "python", "tls", "token"),
    [
        pytest.param([], None, False, False, id="plain"),
        pytest.param(["--tls"], None, True, False, id="tls"),
        pytest.param([], OFF_LOOPBACK, False, True, id="off-loopback"),
        pytest.param(["--tls"], OFF_LOOPBACK, True, True, id="tls-off-loopback"),
    ],
)
def test_serve__the_start_line_comes_first_and_carries_what_a_script_needs(
    tmp_path: Path, options: list[str], python: list[str] | None, tls: bool, token: bool
) -> None:
    launched = launch(tmp_path, "--clock", "virtual", "--seed", "3", *options, python=python)
    try:
        summary = launched.summary
        assert summary["url"] == f"{'https' if tls else 'http'}://127.0.0.1:{summary['port']}"
        assert (summary["seed"], summary["clock"], summary["pid"]) == (3, "virtual", launched.process.pid)
        assert (summary["tls_ca"] is not None) == tls
        assert (summary["admin_token"] is not None) == token
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=summary["tls_ca"]) if tls else True
        with httpx.Client(base_url=summary["url"], verify=verify, timeout=10) as http:
            assert http.post(CREATE, json=body(), headers=AUTH).status_code == 200
            if token:
                assert http.get("/__mock/health").status_code == 401
                headers = {"X-Mock-Admin-Token": summary["admin_token"]}
                assert http.get("/__mock/health", headers=headers).json()["seed"] == 3
    finally:
        launched.stop()
    if token:
        assert f"admin API needs X-Mock-Admin-Token: {summary['admin_token']}" in launched.stderr()


def test_serve__the_start_line_repeats_every_number_as_json(tmp_path: Path) -> None:
    launched = launch(tmp_path, "--clock", "virtual", "--speed", "2.5", "--task-duration", "0.5", "--seed", "0")
    try:
        summary = launched.summary
        assert (summary["speed"], summary["task_duration"], summary["seed"]) == (2.5, 0.5, 0)
    finally:
        launched.stop()


# -- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--speed", "nan"),
        ("--speed", "inf"),
        ("--speed", "1e999"),
        ("--task-duration", "nan"),
        ("--task-duration", "inf"),
        ("--retention", "nan"),
        ("--retention", "-inf"),
        ("--max-tasks", "inf"),
        ("--max-body-bytes", "nan"),
        ("--port", "nan"),
        ("--seed", "inf"),
    ],
)
def test_serve__refuses_non_finite_numbers(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["serve", f"{option}={value}"])
    assert raised.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"argument {option}: must be " in captured.err
    assert value in captured.err


def test_serve__refuses_nan_as_a_process_with_one_line(tmp_path: Path) -> None:
    launched = launch(tmp_path, "--speed", "nan")
    assert launched.process.wait(timeout=30) == 2
    launched.process.stdout.close()  # type: ignore[union-attr]
    assert launched.first_line == ""
    assert launched.stderr().splitlines()[-1] == (
        "nanobanana-mock serve: error: argument --speed: must be a finite number, got nan"
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MOCK_SPEED", "nan"),
        ("MOCK_SPEED", "inf"),
        ("MOCK_TASK_DURATION", "inf"),
        ("MOCK_RETENTION", "nan"),
        ("MOCK_RESULT_TTL", "-inf"),
        ("MOCK_CREDITS_PER_TASK", "nan"),
        ("MOCK_MAX_TASKS", "nan"),
    ],
)
def test_serve__refuses_non_finite_variables(
    variable: str, value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["serve"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"nanobanana-mock: {variable}: must be ")


def test_serve__refuses_non_finite_config_members(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "odd.yaml"
    config.write_text("task_duration: .inf\n", encoding="utf-8")
    assert main(["serve", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"nanobanana-mock: --config {config}: task_duration: must be a finite number, got inf\n"
    )


# -- files ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two certificates with their keys, a text file, a folder, and a path with no file."""
    import trustme

    folder = tmp_path_factory.mktemp("certs")
    files = {"folder": str(folder), "missing": str(folder / "missing.pem"), "text": str(folder / "text.txt")}
    (folder / "text.txt").write_text("not a certificate\n", encoding="utf-8")
    for name in ("one", "two"):
        issued = trustme.CA().issue_cert("localhost", "127.0.0.1")
        (folder / f"{name}.pem").write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        (folder / f"{name}.key").write_bytes(issued.private_key_pem.bytes())
        files[f"{name}_pem"], files[f"{name}_key"] = str(folder / f"{name}.pem"), str(folder / f"{name}.key")
    return files


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tls-cert", "{missing}", "--tls-key", "{one_key}"], "--tls-cert {missing}: cannot read: No such file"),
        (["--tls-cert", "{one_pem}", "--tls-key", "{missing}"], "--tls-key {missing}: cannot read: No such file"),
        (["--tls-cert", "{folder}", "--tls-key", "{one_key}"], "--tls-cert {folder}: cannot read: Is a directory"),
        (["--tls-cert", "{text}", "--tls-key", "{one_key}"], "--tls-cert {text}: holds no PEM certificate"),
        (["--tls-cert", "{one_pem}", "--tls-key", "{one_pem}"], "--tls-key {one_pem}: holds no PEM private key"),
        (["--tls-cert", "{one_pem}", "--tls-key", "{two_key}"], "--tls-key {two_key}: is not the key of that"),
        (["--config", "{missing}"], "--config {missing}: cannot read: No such file"),
        (["--config", "{folder}"], "--config {folder}: cannot read: Is a directory"),
        (["--callback-ca-file", "{missing}"], "--callback-ca-file {missing}: cannot read: No such file"),
        (["--callback-ca-file", "{text}"], "--callback-ca-file {text}: holds no usable CA certificate"),
    ],
)
def test_serve__checks_every_file_before_listening(
    certificates: dict[str, str], options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *(option.format(**certificates) for option in options)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("nanobanana-mock: " + message.format(**certificates))
    assert captured.err.count("\n") == 1


def test_serve__a_bad_certificate_never_says_listening(certificates: dict[str, str], tmp_path: Path) -> None:
    launched = launch(tmp_path, "--tls-cert", certificates["one_pem"], "--tls-key", certificates["two_key"])
    assert launched.process.wait(timeout=30) == 2
    launched.process.stdout.close()  # type: ignore[union-attr]
    assert launched.first_line == ""
    assert (
        launched.stderr()
        == f"nanobanana-mock: --tls-key {certificates['two_key']}: is not the key of that certificate\n"
    )


def test_serve__names_the_variable_that_gave_a_bad_file(
    certificates: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOCK_TLS_CERT", certificates["text"])
    monkeypatch.setenv("MOCK_TLS_KEY", certificates["one_key"])
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.startswith(f"nanobanana-mock: MOCK_TLS_CERT={certificates['text']}: holds no PEM")


def test_serve_tls__own_certificate_serves_https(certificates: dict[str, str], tmp_path: Path) -> None:
    launched = launch(tmp_path, "--tls-cert", certificates["one_pem"], "--tls-key", certificates["one_key"])
    try:
        summary = launched.summary
        assert summary["url"].startswith("https://") and summary["tls_ca"] is None
    finally:
        launched.stop()


# -- TLS: the temporary folder and the kept CA -----------------------------------------------


def _tls_folders(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("nanobanana-mock-tls-*"))


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_serve_tls__removes_the_folder_with_the_private_key_on_exit(tmp_path: Path, how: signal.Signals) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    launched = launch(tmp_path, "--tls", env=_clean_env(TMPDIR=str(tmp)))
    ca = Path(launched.summary["tls_ca"])
    [folder] = _tls_folders(tmp)
    assert ca.parent == folder and (folder / "server.key").is_file()
    assert (folder / "server.key").stat().st_mode & 0o077 == 0
    # Serving first: a Ctrl-C while uvicorn is still starting is the shutdown work's concern.
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=10) as http:
        assert http.get(launched.summary["url"] + "/__mock/health").status_code == 200
    launched.stop(how)
    assert _tls_folders(tmp) == []


def test_serve_tls__removes_the_folder_when_it_cannot_listen(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        command = [sys.executable, "-m", "mock_server", "serve", "--tls", "--port", str(taken.getsockname()[1])]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=60, cwd=ROOT, env=_clean_env(TMPDIR=str(tmp))
        )
    assert result.returncode == 1
    assert (result.stdout, _tls_folders(tmp)) == ("", [])
    assert "cannot listen on 127.0.0.1" in result.stderr


def test_serve_tls__ca_out_that_cannot_be_written_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert main(["serve", "--tls", "--tls-ca-out", str(blocker / "ca.pem")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err
        == f"nanobanana-mock: --tls-ca-out {blocker / 'ca.pem'}: cannot write: {blocker} is a file, not a folder\n"
    )


def test_serve_tls__ca_dir_keeps_the_ca_between_runs(tmp_path: Path) -> None:
    kept = tmp_path / "ca"
    authorities = []
    for _ in range(2):
        launched = launch(tmp_path, "--tls", "--tls-ca-dir", str(kept))
        try:
            summary = launched.summary
            assert summary["tls_ca"] == str(kept / "ca.pem")
            trusting = ssl.create_default_context(cafile=str(kept / "ca.pem"))
            with httpx.Client(base_url=summary["url"], verify=trusting, timeout=10) as http:
                assert http.get("/__mock/health").json()["status"] == "ok"
        finally:
            launched.stop()
        authorities.append(((kept / "ca.pem").read_bytes(), (kept / "ca.key").read_bytes()))
    assert authorities[0] == authorities[1]
    assert (kept.stat().st_mode & 0o777, (kept / "ca.key").stat().st_mode & 0o777) == (0o700, 0o600)


@pytest.mark.parametrize(
    ("present", "message"),
    [
        ({"ca.pem": b"x"}, "holds ca.pem or ca.key but not both (ca.key is missing)"),
        ({"ca.pem": b"x", "ca.key": b"y"}, "ca.pem and ca.key are not a CA certificate and its key"),
    ],
)
def test_serve_tls__a_broken_ca_dir_is_named(
    tmp_path: Path, present: dict[str, bytes], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, data in present.items():
        (tmp_path / name).write_bytes(data)
    assert main(["serve", "--tls", "--tls-ca-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"nanobanana-mock: --tls-ca-dir {tmp_path}: {message}")


# -- options that contradict each other or would be ignored ----------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tls-ca-out", "ca.pem"], "--tls-ca-out only applies with --tls"),
        (["--tls-ca-dir", "ca"], "--tls-ca-dir only applies with --tls"),
        (["--tls", "--tls-cert", "c.pem", "--tls-key", "k.pem"], "--tls makes its own certificate and --tls-cert"),
        (["--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-key", "k.pem"], "--tls-cert and --tls-key go together"),
    ],
)
def test_serve__refuses_options_that_contradict_or_do_nothing(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *options]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"nanobanana-mock: {message}")


def test_serve__names_variables_in_a_contradiction(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOCK_TLS_CA_OUT", "ca.pem")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.startswith("nanobanana-mock: MOCK_TLS_CA_OUT only applies with --tls")


@pytest.mark.parametrize("url", ["notaurl", "ftp://x.test", "https://", "https://x.test/?q=1"])
def test_serve__refuses_a_public_url_that_is_not_one(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--public-url", url])
    assert raised.value.code == 2
    assert f"argument --public-url: must be an http(s) URL such as https://mock.example:8443, got {url!r}" in (
        capsys.readouterr().err
    )


# -- typos ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--tsl"], "nanobanana-mock serve: error: unrecognized arguments: --tsl (did you mean --tls?)"),
        (["serve", "--sped=2"], "unrecognized arguments: --sped=2 (did you mean --speed?)"),
        (["serve", "--clock", "virtaul"], "(did you mean 'virtual'?)"),  # after argparse's "invalid choice: ..."
        (["serv"], "(did you mean 'serve'?)"),
        (["bundle", "--chek"], "nanobanana-mock bundle: error: unrecognized arguments: --chek (did you mean --check?)"),
        (["contract", "--base-ulr", "x"], "nanobanana-mock contract: error: unrecognized arguments: --base-ulr (did"),
        (["gauntlet", "--strcit"], "nanobanana-mock gauntlet: error: unrecognized arguments: --strcit (did you mean"),
        (["serve", "--zzzzzz"], "nanobanana-mock serve: error: unrecognized arguments: --zzzzzz\n"),
    ],
)
def test_parser__suggests_the_nearest_option_or_choice(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


# -- MOCK_* variables ----------------------------------------------------------------------


def test_serve__warns_about_unknown_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOCK_TSL", "1")
    monkeypatch.setenv("MOCK_TLS_CA_OUT", "ca.pem")  # stops serve before it listens
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "nanobanana-mock: warning: MOCK_TSL is not a setting and is ignored (did you mean MOCK_TLS?)"
    )


def test_serve__takes_every_setting_from_variables(tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text("seed: 4\naccounts:\n  sk-broke: {credits: 0}\n", encoding="utf-8")
    env = _clean_env(
        MOCK_CONFIG=str(config),
        MOCK_CLOCK="virtual",
        MOCK_TASK_DURATION="3",
        MOCK_TLS="yes",
        MOCK_TLS_CA_DIR=str(tmp_path / "ca"),
        MOCK_LOG_LEVEL="warning",
        MOCK_API_KEYS="sk-a,sk-broke",
    )
    launched = launch(tmp_path, env=env)
    try:
        summary = launched.summary
        assert (summary["seed"], summary["clock"], summary["task_duration"]) == (4, "virtual", 3.0)
        assert (summary["config"], summary["tls_ca"]) == (str(config), str(tmp_path / "ca" / "ca.pem"))
        trusting = ssl.create_default_context(cafile=summary["tls_ca"])
        with httpx.Client(base_url=summary["url"], verify=trusting, timeout=10) as http:
            assert http.post(CREATE, json=body(), headers={"Authorization": "Bearer sk-other"}).status_code == 401
            assert http.post(CREATE, json=body(), headers={"Authorization": "Bearer sk-broke"}).status_code == 402
    finally:
        launched.stop()
    assert "INFO" not in launched.stderr()  # MOCK_LOG_LEVEL=warning


def test_settings__options_beat_variables_which_beat_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text("clock: virtual\nseed: 1\ntask_duration: 5\n", encoding="utf-8")
    args = build_parser().parse_args(["serve", "--config", str(config), "--seed", "3"])
    resolved = resolve_settings(args, {"MOCK_CLOCK": "real", "MOCK_SEED": "2", "MOCK_CONFIG": "elsewhere.yaml"})
    settings = resolved.settings
    assert (settings.clock, settings.seed, settings.task_duration) == ("real", 3, 5.0)  # real: a default, yet set
    assert resolved.origins == {
        "clock": "MOCK_CLOCK",
        "seed": "--seed",
        "config_file": "--config",
        "task_duration": f"{config}: task_duration",
    }


# -- bundle, help, license -----------------------------------------------------------------


def test_bundle__outside_the_repository_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["bundle", "--check"]) == 2
    assert capsys.readouterr().err == (
        "nanobanana-mock bundle: spec/nanobanana-image-generate.yaml: No such file or directory "
        "(run it in the repository's root, or pass --spec-dir)\n"
    )


def test_serve_help__describes_the_command_and_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    assert "The first line on stdout is 'nanobanana-mock listening on URL {json}'" in " ".join(text.split())
    serve = build_parser()._command_parser(argparse.Namespace(command="serve"))  # type: ignore[attr-defined]
    assert [action.dest for action in serve._actions if not action.help] == []


def test_gauntlet_help__points_to_a_guide_that_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["gauntlet", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    guide = text.split("Every scenario, flag and report member: ", 1)[1].split(" ", 1)[0]
    assert Path(guide).is_file()


def test_license__is_the_mit_license_pyproject_names() -> None:
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License\n\nCopyright (c) 2026 the nanobanana-mock authors\n")
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_serve_tls__a_ca_dir_that_is_a_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert main(["serve", "--tls", "--tls-ca-dir", str(blocker)]) == 2
    assert capsys.readouterr().err == (
        f"nanobanana-mock: --tls-ca-dir {blocker}: cannot keep the CA there: {blocker} is a file, not a folder\n"
    )


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
    assert f"argument {option}: must be a whole number 1 or more, got 0" in capsys.readouterr().err
