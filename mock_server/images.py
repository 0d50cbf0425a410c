"""Result images: real PNG files at each model's result size, made without any imaging
library, and the unguessable names of their links.

A task's ``size`` is the ``WIDTHxHEIGHT`` its model's contract planned
(``evolink_spec.family``: Nano Banana's own pixels per ratio, a tier's pixels, or the pixel
size asked for). ``auto`` follows the first reference image in the real service; the mock
cannot look at reference images (it never downloads them), so ``auto`` gives 1:1.

An image is a palette PNG: a vertical gradient with a diagonal band of the inverse colours.
The pixels (the compressed ``IDAT``) depend only on the size, so they are rendered once per
size and kept (the last ``RENDERED_SIZES`` sizes: the cache is bounded; a 4096x4096 render
takes about 0.3 s once); what differs per task is the palette
(``PLTE``, 768 bytes), whose two colours come from the seed and the task id. Serving an
image costs a few microseconds, not a render.

A result link names the task, the image index and a random token drawn from the operating
system's cryptographic source when the task is made
(``/files/images/task-unified-…_0-<32 hex>.png``): task ids replay with ``--seed``, so
they can be predicted, but a link cannot be made without its token, which only the task's
owner receives.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import struct
import zlib
from functools import lru_cache

from evolink_spec import TASK_ID_PREFIX, facts

RENDERED_SIZES = 32
"""Sizes whose pixels stay rendered (each a few kilobytes compressed)."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LINK_TOKEN_BYTES = 16
_LEVELS = 128  # gradient steps: palette entries 0-127, their inverses 128-255
_INVERT = bytes(255 - value for value in range(256))
_NAME = re.compile(rf"^({re.escape(TASK_ID_PREFIX)}[A-Za-z0-9-]{{1,100}})_(\d{{1,3}})-([0-9a-f]{{32}})\.png$")


def dimensions(size: str | None) -> tuple[int, int]:
    """Width and height of a result image. A task's ``size`` is ``WIDTHxHEIGHT``; anything else
    (a ratio, ``auto``, none: a task recorded before the family) is read with Nano Banana's
    table, the seed model's."""
    width, separator, height = (size or "").partition("x")
    if separator and width.isdigit() and height.isdigit():
        return int(width), int(height)
    output = facts().model(facts().default_model).output
    return output.of_ratio(size if size is not None and size in output.table else output.auto, None)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


_IEND = _chunk(b"IEND", b"")


@lru_cache(maxsize=RENDERED_SIZES)
def _pixels(width: int, height: int) -> tuple[bytes, bytes]:
    """The ``IHDR`` and ``IDAT`` chunks of an image of that size: palette indices, the
    gradient's step per row with a diagonal band of the inverse entries. Rendered once per size."""
    band = max(8, width // 16)
    rows = []
    for y in range(height):
        level = round((_LEVELS - 1) * y / max(1, height - 1))
        colour, inverse = bytes((level,)), bytes((_LEVELS + level,))
        start = (y * width // height) % width
        stop = min(width, start + band)
        rows.append(b"\x00" + colour * start + inverse * (stop - start) + colour * (width - stop))
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit palette indices
    return _chunk(b"IHDR", header), _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))


def _colours(key: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha256(key.encode()).digest()
    return (digest[0], digest[1], digest[2]), (digest[3], digest[4], digest[5])


@lru_cache(maxsize=256)
def _ramp(delta: int) -> bytes:
    """``delta * step // 127`` for each step of the gradient."""
    return bytes(delta * step // (_LEVELS - 1) for step in range(_LEVELS))


@lru_cache(maxsize=512)
def _shift(base: int, up: bool) -> bytes:
    """A ``bytes.translate`` table mapping x to ``base + x`` (or ``base - x``), modulo 256."""
    if up:
        return bytes(range(base, 256)) + bytes(range(base))
    return bytes(range(base, -1, -1)) + bytes(range(255, base, -1))


def _palette(key: str) -> bytes:
    """The ``PLTE`` chunk: ``_LEVELS`` steps from one colour of ``key`` to the other, then their inverses."""
    top, bottom = _colours(key)
    gradient = bytearray(3 * _LEVELS)
    for channel, (a, b) in enumerate(zip(top, bottom, strict=True)):
        # a + (b - a) * step / 127 for each step, by table lookups (C loops, not Python ones).
        gradient[channel::3] = _ramp(abs(b - a)).translate(_shift(a, b >= a))
    entries = bytes(gradient)
    return _chunk(b"PLTE", entries + entries.translate(_INVERT))


def render_png(key: str, size: str | None) -> bytes:
    """A PNG for ``key`` (the seed, a task id and an image index) at ``size``: the same key
    gives the same bytes, and another key other colours."""
    header, pixels = _pixels(*dimensions(size))
    return b"".join((PNG_SIGNATURE, header, _palette(key), pixels, _IEND))


def png_dimensions(data: bytes) -> tuple[int, int]:
    """Read width and height back from a PNG's header (used by tests and the contract suite)."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def new_link_token() -> bytes:
    """A result link's secret part, from the operating system's cryptographic source (never
    from the seeded one, whose seed is printed)."""
    return os.urandom(LINK_TOKEN_BYTES)


def image_name(task_id: str, index: int, token: bytes) -> str:
    """The file name of a task's ``index``-th result image."""
    return f"{task_id}_{index}-{token.hex()}.png"


def parse_image_name(name: str) -> tuple[str, int, str] | None:
    """Task id, index and token (hex) of a result image's file name, or None if it is not one."""
    match = _NAME.match(name)
    if match is None:
        return None
    return match.group(1), int(match.group(2)), match.group(3)


def token_matches(given: str, token: bytes) -> bool:
    """Whether a link's token is the task's, compared in constant time."""
    return hmac.compare_digest(given, token.hex())
