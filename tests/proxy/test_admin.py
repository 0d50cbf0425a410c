"""The proxy's own routes behind a token, as the mock's admin API is with ``--admin-token``."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.servers import launch, stop

WAIT = 10.0


def test_admin_token__required_by_the_proxys_routes_not_by_forwarded_requests(tmp_path: Path) -> None:
    mock, mock_url = launch("serve", "--clock", "virtual")
    proxy, proxy_url = launch("proxy", "--target", mock_url, "--admin-token", "t0ken-for-tests")
    try:
        refused = httpx.get(f"{proxy_url}/__mock/violations", timeout=WAIT)
        allowed = httpx.get(
            f"{proxy_url}/__mock/violations", headers={"X-Mock-Admin-Token": "t0ken-for-tests"}, timeout=WAIT
        )
        forwarded = httpx.get(
            f"{proxy_url}/v1/tasks/task-unified-1700000000-abcdefgh",
            headers={"Authorization": "Bearer sk-any"},
            timeout=WAIT,
        )
        cross_site = httpx.delete(
            f"{proxy_url}/__mock/violations",
            headers={"X-Mock-Admin-Token": "t0ken-for-tests", "Origin": "https://evil.example"},
            timeout=WAIT,
        )
    finally:
        stop(proxy)
        stop(mock)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthorized")
    assert allowed.json() == {"count": 0, "total": 0, "violations": []}
    assert forwarded.status_code == 404  # the mock's answer: the token guards only the proxy's routes
    assert (cross_site.status_code, cross_site.json()["error"]["code"]) == (403, "admin_forbidden")
