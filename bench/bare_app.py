"""The reference floor: a bare Starlette app on uvicorn, configured as the mock serves.

``POST /v1/images/generations`` and ``GET /v1/tasks/{task_id}`` answer the same static
compact JSON as the mock's create answer, with no body read and no validation.
``GET /__mock/health`` answers 200 so start-up can be timed as the mock's is.

Usage: ``python3 bench/bare_app.py --port PORT``
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CREATE_ANSWER = (
    b'{"created":1757165032,"id":"task-unified-1757165031-uyujaw3d","model":"nano-banana-beta",'
    b'"object":"image.generation.task","progress":0,"status":"pending",'
    b'"task_info":{"can_cancel":true,"estimated_time":45},"type":"image",'
    b'"usage":{"billing_rule":"per_call","credits_reserved":1.6,"user_group":"default"}}'
)


async def create(request: Request) -> Response:
    return Response(CREATE_ANSWER, media_type="application/json")


async def detail(request: Request) -> Response:
    return Response(CREATE_ANSWER, media_type="application/json")


async def health(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def build_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/images/generations", create, methods=["POST"]),
            Route("/v1/tasks/{task_id}", detail, methods=["GET"]),
            Route("/__mock/health", health, methods=["GET"]),
        ]
    )


def serve(app: Starlette, argv: Sequence[str] | None = None) -> None:
    """Serve ``app`` with the uvicorn settings of ``nanobanana-mock serve`` (loop and parser: uvicorn's picks)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="info", access_log=False, lifespan="off", server_header=False
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    serve(build_app())
