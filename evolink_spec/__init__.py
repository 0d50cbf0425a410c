"""The provider's spec as data: the bundle and the facts read from it.

Both the mock (``mock_server``) and the contract suite (``contract_tests``) import the
spec from here, so neither restates a path, a status or a code. It depends on nothing of
either (stdlib and PyYAML only).

    from evolink_spec import CREATE_PATH, facts
    facts().model("gemini-2.5-flash-image").name  # 'nano-banana-beta'
"""

from __future__ import annotations

from .bundle import (
    BUNDLE_FILE,
    apply_overlay,
    build_bundle,
    bundle_bytes,
    bundle_path,
    load_bundle,
    parse_target,
    render_bundle,
    spec_dir,
    write_bundle,
)
from .facts import (
    BUSINESS_CODES,
    CALLBACK_SCHEME,
    CREATE,
    CREATE_OPERATION,
    CREATE_PATH,
    STATUS_RANK,
    TASK,
    TASK_ID,
    TASK_ID_PREFIX,
    TASK_OPERATION,
    TASK_PATH_PREFIX,
    TERMINAL_STATUSES,
    CallbackUrlLimits,
    ErrorExample,
    Facts,
    Model,
    Operation,
    SpecMismatch,
    TaskStatus,
    check_constants,
    facts,
    read_facts,
)

__all__ = [
    "BUNDLE_FILE",
    "BUSINESS_CODES",
    "CALLBACK_SCHEME",
    "CREATE",
    "CREATE_OPERATION",
    "CREATE_PATH",
    "STATUS_RANK",
    "TASK",
    "TASK_ID",
    "TASK_ID_PREFIX",
    "TASK_OPERATION",
    "TASK_PATH_PREFIX",
    "TERMINAL_STATUSES",
    "CallbackUrlLimits",
    "ErrorExample",
    "Facts",
    "Model",
    "Operation",
    "SpecMismatch",
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
]
