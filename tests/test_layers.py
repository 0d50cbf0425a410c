"""The layers, held by reading each module's import statements (``ast``), not by running it.

1. The domain (tasks and their lifecycle, time, state, rules, accounts, callbacks, errors,
   settings, ...) imports no HTTP framework: no starlette, uvicorn or httpx, not even under
   ``TYPE_CHECKING``. Only the edge (the app, its handlers, the server, the test helpers)
   speaks HTTP, so the domain's tests need no HTTP and a new transport touches only the edge.
2. ``contract_tests`` (the product that checks any target) sees of the mock only the spec's
   facts (``evolink_spec``) and the mock's documented entry points: the names in
   ``mock_server.__all__`` (``create_app``, ``Settings``, the clocks) and ``mock_server.testing``.
   Anything else would tie the suite to the mock's insides, which it must judge from outside.

``evolink_spec`` itself, the neutral layer both depend on, imports only the stdlib and PyYAML:
``tests/evolink_spec/test_facts.py`` holds that.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import mock_server

ROOT = next(folder for folder in Path(__file__).resolve().parents if (folder / "pyproject.toml").is_file())
HTTP_FRAMEWORKS = frozenset({"starlette", "uvicorn", "httpx"})

# The domain: every module here (a package counts with all its modules) must exist, so
# the list cannot silently go stale when a module moves or is renamed.
DOMAIN_MODULES = [
    "mock_server.accounts",
    "mock_server.admin_guard",  # the admin guard's decision; http/admin.py feeds it the request
    "mock_server.argtypes",
    "mock_server.backend",  # the backend: every operation and state change of one mock
    "mock_server.bodies",
    "mock_server.callbacks",  # its wire is a hand-written HTTP/1.1 client on asyncio streams, no library
    "mock_server.clock",
    "mock_server.config",
    "mock_server.delays",
    "mock_server.errors",
    "mock_server.idempotency",
    "mock_server.images",
    "mock_server.journal",
    "mock_server.lifecycle",
    "mock_server.outcomes",
    "mock_server.preferences",
    "mock_server.randomness",
    "mock_server.records",
    "mock_server.rules",
    "mock_server.scheduler",
    "mock_server.settings",
    "mock_server.store",
    "mock_server.tasks",
    "mock_server.validation",
]

# What contract_tests may import of the mock, besides the names in mock_server.__all__.
CONTRACT_MAY_IMPORT = ("mock_server.testing",)

# Imports from contract_tests into the mock's insides that break rule 2 today, each an
# (importer, imported) pair. They are moved by the work named beside them; empty this set
# as they go. The test fails for an import not listed here and for a pair that no longer
# occurs, so the set can only shrink and never goes stale.
PENDING_MOVES = {
    # The in-process target gives its two keys through create_app(config=parse_config({...})):
    # create_app's config argument has no documented way in (mock_server exports no loader).
    ("contract_tests._targets", "mock_server.config"),
    # The contract command's option types (positive_float, non_negative_int).
    ("contract_tests.cli", "mock_server.argtypes"),
}


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _files(module: str, root: Path = ROOT) -> list[Path]:
    """The source files of a module, or of every module of a package."""
    base = root.joinpath(*module.split("."))
    if base.is_dir():
        return sorted(base.rglob("*.py"))
    return [base.with_suffix(".py")] if base.with_suffix(".py").is_file() else []


def _imports(path: Path, root: Path = ROOT) -> Iterator[tuple[str, str | None]]:
    """``(module, name)`` for each import in ``path``, relative imports made absolute; ``name``
    is the name a ``from`` import takes (None for ``import x``)."""
    importer = _module_name(path, root)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                yield module, alias.name


def _imported_module(module: str, name: str | None, root: Path = ROOT) -> str:
    """The module an import names: ``from package import submodule`` names the submodule."""
    submodule = f"{module}.{name}"
    return submodule if name is not None and _files(submodule, root) else module


def _imported_modules(path: Path, root: Path = ROOT) -> Iterator[str]:
    for module, name in _imports(path, root):
        yield _imported_module(module, name, root)


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_domain__imports_no_http_framework(module: str) -> None:
    files = _files(module)
    assert files, f"{module} no longer exists: update DOMAIN_MODULES"
    found = sorted(
        f"{_module_name(path)} imports {imported}"
        for path in files
        for imported in _imported_modules(path)
        if imported.partition(".")[0] in HTTP_FRAMEWORKS
    )
    assert found == []


def _contract_imports_of_the_mock() -> set[tuple[str, str]]:
    """Every (importer, imported) pair from contract_tests into mock_server outside its entry points."""
    found = set()
    for path in _files("contract_tests"):
        importer = _module_name(path)
        for module, name in _imports(path):
            if module.partition(".")[0] != "mock_server":
                continue
            imported = _imported_module(module, name)
            if imported == "mock_server" and (name is None or name in mock_server.__all__):
                continue
            if imported in CONTRACT_MAY_IMPORT:
                continue
            found.add((importer, imported))
    return found


def test_contract_tests__imports_of_the_mock_only_its_entry_points() -> None:
    assert _contract_imports_of_the_mock() - PENDING_MOVES == set()


def test_pending_moves__each_still_occurs() -> None:
    # A move that is done must leave the set, so the set says what is left to do.
    assert PENDING_MOVES - _contract_imports_of_the_mock() == set()


def test_imports__reads_relative_submodule_and_nested_imports(tmp_path: Path) -> None:
    # The reader the rules rest on, on a package made here: relative imports resolve, a
    # `from package import module` names the module, and an import inside a function or
    # under TYPE_CHECKING counts as much as one at the top.
    for name in ("pkg/__init__.py", "pkg/errors.py", "pkg/sub/__init__.py", "pkg/sub/sibling.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    module = tmp_path / "pkg" / "sub" / "mod.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "from ..errors import ApiError\n"
        "from pkg import sub\n"
        "if TYPE_CHECKING:\n"
        "    from starlette.types import Scope\n"
        "def handler():\n"
        "    import httpx\n"
    )
    assert sorted(_imported_modules(module, tmp_path)) == [
        "httpx",
        "pkg.errors",
        "pkg.sub",
        "pkg.sub.sibling",
        "starlette.types",
        "typing",
    ]
