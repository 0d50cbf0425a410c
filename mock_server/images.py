"""Result images: real PNG files at the requested aspect ratio, made without any imaging library.

The pixel sizes are those Nano Banana (Gemini 2.5 Flash Image) produces for each ratio.
``auto`` follows the first reference image in the real service; the mock cannot look at
reference images (it never downloads them), so ``auto`` gives 1:1.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from functools import lru_cache

SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "16:9": (1344, 768),
    "9:16": (768, 1344),
}
AUTO_RATIO = "1:1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def dimensions(size: str | None) -> tuple[int, int]:
    """Width and height in pixels for a requested ``size`` (``auto`` and none mean 1:1)."""
    return SIZES.get(size or AUTO_RATIO, SIZES[AUTO_RATIO])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _colours(key: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha256(key.encode()).digest()
    return (digest[0], digest[1], digest[2]), (digest[3], digest[4], digest[5])


@lru_cache(maxsize=16)
def render_png(key: str, size: str | None) -> bytes:
    """A PNG for ``key`` (a task id and image index): a vertical gradient between two
    colours derived from the key, with a diagonal band, so images differ per task."""
    width, height = dimensions(size)
    top, bottom = _colours(key)
    band = max(8, width // 16)
    rows = []
    for y in range(height):
        t = y / max(1, height - 1)
        colour = bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        inverse = bytes(255 - c for c in colour)
        start = (y * width // height) % width
        stop = min(width, start + band)
        rows.append(b"\x00" + colour * start + inverse * (stop - start) + colour * (width - stop))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + _chunk(b"IEND", b"")
    )


def png_dimensions(data: bytes) -> tuple[int, int]:
    """Read width and height back from a PNG's header (used by tests and the contract suite)."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height
