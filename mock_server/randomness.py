"""The one seeded random source: task ids, plans and image colours all draw from it."""

from __future__ import annotations

import random
import string

_ID_ALPHABET = string.ascii_lowercase + string.digits
_BYTE_TO_ID = bytes(ord(_ID_ALPHABET[value % len(_ID_ALPHABET)]) for value in range(256))


class SeededRandom:
    """A ``random.Random`` with the few draws the mock needs; ``reseed()`` replays a run."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def reseed(self, seed: int | None = None) -> None:
        if seed is not None:
            self.seed = seed
        self._random = random.Random(self.seed)

    def token(self, length: int = 8) -> str:
        """Lowercase letters and digits, as in task ids (one byte a character: every create
        makes one, and this is several times faster than ``choices``)."""
        return self._random.randbytes(length).translate(_BYTE_TO_ID).decode("ascii")

    def random(self) -> float:
        return self._random.random()

    def randint(self, low: int, high: int) -> int:
        return self._random.randint(low, high)
