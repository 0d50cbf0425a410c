"""Task callbacks: POST a finished task to its ``callback_url``, as the provider does.

The package's modules, each one concept:

- ``queue``: ``CallbackQueue``, which schedules, sends, retries and journals deliveries;
- ``delivery``: ``CallbackDelivery``, one task's delivery, and its states with their
  ``(from, to)`` transitions table;
- ``behaviour``: ``CallbackBehaviour``, what a rule's ``callback`` act asks for (late,
  duplicated, dropped, held until polled); ``rules.py`` parses it with the rest of a rule;
- ``safety``: ``CallbackPolicy``, where a callback may go (the provider's URL and address rules);
- ``wire``: one POST on the wire, a small HTTP/1.1 client;
- ``journal``: ``CallbackJournal``, every attempt and event (``GET /__mock/callbacks``).
"""

from __future__ import annotations

from .behaviour import NO_BEHAVIOUR, CallbackBehaviour
from .delivery import TRANSITIONS, CallbackDelivery, DeliveryState, IllegalTransition
from .journal import CallbackEntry, CallbackJournal
from .queue import CallbackQueue
from .safety import HTTPS_ONLY, CallbackPolicy, CallbackTarget, Unresolvable, UnsafeCallback

__all__ = [
    "HTTPS_ONLY",
    "NO_BEHAVIOUR",
    "TRANSITIONS",
    "CallbackBehaviour",
    "CallbackDelivery",
    "CallbackEntry",
    "CallbackJournal",
    "CallbackPolicy",
    "CallbackQueue",
    "CallbackTarget",
    "DeliveryState",
    "IllegalTransition",
    "Unresolvable",
    "UnsafeCallback",
]
