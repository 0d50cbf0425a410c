"""Memory the request journal costs: RSS of a served mock before and after 1,000 creates,
each carrying a 16 KiB header (the journal keeps 1 KiB of each header value).

    python3 bench/journal_memory.py [REPO_DIR]      # REPO_DIR: the checkout to serve (default: this one)
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path

REQUESTS = 1000
HEADER = "x" * 16 * 1024
BODY = b'{"model":"nano-banana-beta","prompt":"x"}'


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> None:
    repo = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "mock_server", "serve", "--port", "0"]
    server = subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        while line and not line.startswith("nanobanana-mock listening on "):
            line = server.stdout.readline()
        host, port = json.loads(line.split("  ", 1)[1])["url"].split("//")[1].rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/__mock/health")
        connection.getresponse().read()
        before = _rss_kib(server.pid)
        headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json", "X-Big": HEADER}
        for _ in range(REQUESTS):
            connection.request("POST", "/v1/images/generations", body=BODY, headers=headers)
            connection.getresponse().read()
        after = _rss_kib(server.pid)
        print(
            f"RSS before {before / 1024:.1f} MiB, after {REQUESTS} requests with a 16 KiB header "
            f"{after / 1024:.1f} MiB: +{(after - before) / 1024:.1f} MiB"
        )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
