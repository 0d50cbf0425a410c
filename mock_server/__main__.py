"""``python -m mock_server``: the same as the ``nanobanana-mock`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
