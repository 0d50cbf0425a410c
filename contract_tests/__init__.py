"""The contract suite: checks any target (the mock in-process, or a URL) against EvoLink's contract.

Run it with ``pytest contract_tests`` (the mock in-process, plus the real API when
``EVOLINK_API_KEY`` is set) or ``nanobanana-mock contract --base-url URL --api-key KEY``.
From Python::

    from contract_tests import RunOptions, run

    exit_code = run(RunOptions(base_url="http://127.0.0.1:8000", api_key="sk-test"))

The checks are usable on their own with schemathesis::

    from contract_tests import error_envelope, task_state_consistent

    case.call_and_validate(additional_checks=[error_envelope, task_state_consistent])

Names load on first use, so importing the package (the ``nanobanana-mock`` command does)
costs nothing and does not need the ``contract`` extra.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._binding import bind
    from ._budget import Budget, Limits
    from ._failures import BudgetExhausted, ContractViolation
    from ._lifecycle import LifecycleMachine, lifecycle_machine, run_lifecycle
    from ._options import RunOptions
    from ._schema import build_schema
    from ._target import Client, Target
    from .checks import (
        auth_required,
        created_plausible,
        error_envelope,
        foreign_task_invisible,
        task_id_form,
        task_state_consistent,
    )
    from .cli import run

_EXPORTS = {
    "Budget": "._budget",
    "Limits": "._budget",
    "BudgetExhausted": "._failures",
    "ContractViolation": "._failures",
    "LifecycleMachine": "._lifecycle",
    "lifecycle_machine": "._lifecycle",
    "run_lifecycle": "._lifecycle",
    "RunOptions": "._options",
    "build_schema": "._schema",
    "bind": "._binding",
    "Client": "._target",
    "Target": "._target",
    "auth_required": ".checks",
    "created_plausible": ".checks",
    "error_envelope": ".checks",
    "foreign_task_invisible": ".checks",
    "task_id_form": ".checks",
    "task_state_consistent": ".checks",
    "run": ".cli",
}

__all__ = [
    "Budget",
    "BudgetExhausted",
    "Client",
    "ContractViolation",
    "LifecycleMachine",
    "Limits",
    "RunOptions",
    "Target",
    "auth_required",
    "bind",
    "build_schema",
    "created_plausible",
    "error_envelope",
    "foreign_task_invisible",
    "lifecycle_machine",
    "run",
    "run_lifecycle",
    "task_id_form",
    "task_state_consistent",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'contract_tests' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
