"""Loads the suite's pytest plugin (a conftest, not ``pytest_plugins``: this folder is not the rootdir)."""

from __future__ import annotations

from contract_tests._plugin import (  # noqa: F401
    pytest_addoption,
    pytest_collection,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_logreport,
    pytest_runtest_logstart,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
