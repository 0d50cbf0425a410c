"""The naive reference: the bare app, plus openapi-core's ``OpenAPI.validate_request``
called on every request against the bundle ``spec/openapi.json`` (the obvious way to
validate, which redoes path finding and schema building each time).

Usage: ``python3 bench/naive_app.py --port PORT``
"""

from __future__ import annotations

from pathlib import Path

from bare_app import CREATE_ANSWER, serve
from openapi_core import OpenAPI
from openapi_core.contrib.starlette import StarletteOpenAPIRequest
from openapi_core.exceptions import OpenAPIError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BUNDLE = Path(__file__).resolve().parent.parent / "spec" / "openapi.json"
OPENAPI = OpenAPI.from_file_path(str(BUNDLE))


async def validated(request: Request) -> Response:
    try:
        OPENAPI.validate_request(StarletteOpenAPIRequest(request, body=await request.body()))
    except OpenAPIError as error:
        return Response(f'{{"error":{{"message":"{type(error).__name__}"}}}}', 400, media_type="application/json")
    return Response(CREATE_ANSWER, media_type="application/json")


async def health(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def build_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/images/generations", validated, methods=["POST"]),
            Route("/v1/tasks/{task_id}", validated, methods=["GET"]),
            Route("/__mock/health", health, methods=["GET"]),
        ]
    )


if __name__ == "__main__":
    serve(build_app())
