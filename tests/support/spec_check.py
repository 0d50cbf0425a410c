"""Validates the mock's answers against the bundle with openapi-core's full validator, so
the mock can never drift from its own contract. Used by the ``client`` fixture."""

from __future__ import annotations

import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from starlette.routing import Match, Route

from evolink_spec import load_bundle

# Answers the mock gives that the provider's spec does not list for any operation:
# unknown paths (404), wrong methods (405), over-large bodies (413) and Idempotency-Key
# refusals (409 in use, 422 reused with another body). They must still be the provider's
# envelope.
UNDOCUMENTED = (405, 409, 413, 422)
_ENVELOPE = Draft202012Validator(
    {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "type"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}},
            }
        },
    }
)


class ResponseChecker:
    def __init__(self) -> None:
        document = load_bundle()
        self.openapi = OpenAPI.from_dict(document)
        self.routes = [
            (Route(path, endpoint=lambda request: None, methods=[method.upper()]), method)
            for path, item in document["paths"].items()
            for method in item
        ]
        self.checked = 0

    def _operation(self, method: str, path: str) -> str | None:
        scope: dict[str, Any] = {"type": "http", "method": method.upper(), "path": path}
        for route, _ in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route.path
        return None

    def check(self, response: httpx.Response) -> None:
        request = response.request
        path = re.sub("/{2,}", "/", request.url.path)  # the mock merges slashes, as front proxies do
        if path.startswith("/__mock") or path.startswith("/files/") or path == "/openapi.json":
            return
        template = self._operation(request.method, path)
        if template is None or response.status_code in UNDOCUMENTED:
            assert response.headers.get("content-type", "").startswith("application/json"), response.headers
            errors = sorted(_ENVELOPE.iter_errors(response.json()), key=str)
            assert not errors, f"{request.method} {path} -> {response.status_code}: {errors[0].message}"
            return
        mock_request = MockRequest(
            "http://testserver",
            request.method.lower(),
            path,
            headers=dict(request.headers),
            data=request.content or None,
        )
        mock_response = MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=response.headers.get("content-type", ""),
        )
        self.openapi.validate_response(mock_request, mock_response)
        self.checked += 1
