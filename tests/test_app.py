"""The app's error boundary (mock_server/app.py): a bug in a route answers the envelope's
500 once, and the kept-alive connection goes on serving. A real ``serve`` process with one
admin call made to fail, on a raw socket."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.raw_http import connect, read_answer, request
from tests.support.servers import BANNER, ROOT, stop

BROKEN_ACCOUNTS = (
    "import sys\n"
    "from mock_server import accounts, cli\n"
    "def broken(self, now): raise RuntimeError('a bug in the mock')\n"
    "accounts.Accounts.snapshot = broken\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


@pytest.fixture
def broken_url() -> Iterator[str]:
    """``serve`` with ``GET /__mock/accounts`` broken."""
    process = subprocess.Popen(
        [sys.executable, "-c", BROKEN_ACCOUNTS, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        assert line.startswith(BANNER), line
        yield json.loads(line.split("  ", 1)[1])["url"]
    finally:
        stop(process)


def test_a_500_on_an_admin_route__keeps_the_connection_serving(broken_url: str) -> None:
    with connect(broken_url) as sock:
        sock.sendall(request("GET", "/__mock/accounts"))
        failed = read_answer(sock)
        sock.sendall(request("GET", "/__mock/health"))
        after = read_answer(sock)
    assert failed.status == 500
    assert failed.json()["error"] == {"code": "internal_error", "message": "Internal server error", "type": "api_error"}
    assert "connection" not in failed.headers
    assert after.status == 200 and after.json()["status"] == "ok"
