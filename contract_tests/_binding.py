"""Which target a schemathesis schema checks: the link checks need to send requests of their own.

Schemathesis hands a check only ``(ctx, response, case)``. The checks that probe the
target (``auth_required``, ``foreign_task_invisible``) find the target's guarded session
and second key here, by the schema's config, which every clone of a schema shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemathesis import BaseSchema, Case

    from ._target import Client

_CLIENTS: dict[int, Client] = {}


def bind(schema: BaseSchema, client: Client) -> None:
    """Let the probing checks act on cases of ``schema``, through ``client``."""
    _CLIENTS[id(schema.config)] = client


def unbind(schema: BaseSchema) -> None:
    _CLIENTS.pop(id(schema.config), None)


def client_for(case: Case[Any]) -> Client | None:
    return _CLIENTS.get(id(case.operation.schema.config))
