"""The public names of each documented package, pinned: a name cannot appear, vanish or be
renamed by accident. Changing one of these lists is a change to the public API: say so in
the README and in the commit.
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC_NAMES = {
    "evolink_spec": [
        "BUNDLE_FILE",
        "BUSINESS_CODES",
        "CALLBACK_SCHEME",
        "CREATE",
        "CREATE_OPERATION",
        "CREATE_PATH",
        "CallbackUrlLimits",
        "ErrorExample",
        "Facts",
        "Model",
        "Operation",
        "STATUS_RANK",
        "SpecMismatch",
        "TASK",
        "TASK_ID",
        "TASK_ID_PREFIX",
        "TASK_OPERATION",
        "TASK_PATH_PREFIX",
        "TERMINAL_STATUSES",
        "TaskStatus",
        "apply_overlay",
        "build_bundle",
        "bundle_bytes",
        "bundle_path",
        "check_constants",
        "facts",
        "load_bundle",
        "parse_target",
        "read_facts",
        "render_bundle",
        "spec_dir",
        "write_bundle",
    ],
    "mock_server": ["Settings", "SystemClock", "VirtualClock", "create_app"],
    "mock_server.testing": ["CallbackReceiver", "MockHandle", "ThreadedServer"],
    "contract_tests": [
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
    ],
}


@pytest.mark.parametrize(("module_name", "names"), PUBLIC_NAMES.items())
def test_all__is_the_pinned_list(module_name: str, names: list[str]) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(names)


@pytest.mark.parametrize(("module_name", "names"), PUBLIC_NAMES.items())
def test_all__every_name_resolves(module_name: str, names: list[str]) -> None:
    # contract_tests loads its names on first use: a name in __all__ with no object behind it
    # would only fail when a user first touched it.
    module = importlib.import_module(module_name)
    missing = [name for name in names if getattr(module, name, None) is None]
    assert missing == []
