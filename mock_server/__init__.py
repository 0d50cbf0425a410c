"""An offline stand-in for EvoLink's Nano Banana image-generation API."""

from __future__ import annotations

from .app import create_app
from .clock import SystemClock, VirtualClock
from .settings import Settings

__all__ = ["Settings", "SystemClock", "VirtualClock", "create_app"]
__version__ = "0.1.0"
