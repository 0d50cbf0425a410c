"""The examples need nothing but the installed plugin; this only picks anyio's backend."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
