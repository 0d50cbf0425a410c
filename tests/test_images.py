"""Result images: real PNGs at every size a model plans, cheap to serve, and unguessable link names."""

from __future__ import annotations

import struct
import zlib

import pytest

from evolink_spec import facts
from mock_server import images
from mock_server.images import (
    RENDERED_SIZES,
    dimensions,
    image_name,
    new_link_token,
    parse_image_name,
    png_dimensions,
    render_png,
    token_matches,
)


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The PNG's chunks as (type, data), each CRC checked: a decoder's view of the file."""
    assert data.startswith(images.PNG_SIGNATURE)
    found, at = [], len(images.PNG_SIGNATURE)
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, payload = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF, kind
        found.append((kind, payload))
        at += 12 + length
    return found


NANO_BANANA = facts().model("nano-banana-beta").output.table
SIZES = {f"{width}x{height}": (width, height) for width, height in NANO_BANANA.values()}


@pytest.mark.parametrize(
    ("size", "expected"),
    [(size, dims) for size, dims in SIZES.items()] + [("2880x2880", (2880, 2880)), ("1536x376", (1536, 376))],
)
def test_render_png__is_a_complete_png_of_the_planned_size(size: str, expected: tuple[int, int]) -> None:
    data = render_png(f"7:task-unified-1-abcdefgh_0-{size}", size)
    assert png_dimensions(data) == expected
    width, height = expected
    parts = dict(chunks(data))
    assert [kind for kind, _ in chunks(data)] == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]
    found = struct.unpack(">IIBB", parts[b"IHDR"][:10])
    assert found == (*expected, 8, 3)
    assert len(parts[b"PLTE"]) == 3 * 256
    pixels = zlib.decompress(parts[b"IDAT"])
    assert len(pixels) == height * (width + 1)
    assert all(pixels[row * (width + 1)] == 0 for row in range(height))  # filter byte of each row


def test_render_png__same_key_same_bytes_other_key_other_colours() -> None:
    first = render_png("7:task-unified-1-abcdefgh_0", "1:1")
    assert render_png("7:task-unified-1-abcdefgh_0", "1:1") == first
    other = render_png("8:task-unified-1-abcdefgh_0", "1:1")
    assert dict(chunks(other))[b"PLTE"] != dict(chunks(first))[b"PLTE"]


def test_render_png__palette_runs_between_the_keys_two_colours() -> None:
    top, bottom = images._colours("k")
    palette = dict(chunks(render_png("k", "1:1")))[b"PLTE"]
    assert tuple(palette[0:3]) == top
    assert tuple(palette[127 * 3 : 128 * 3]) == bottom
    assert tuple(palette[128 * 3 : 129 * 3]) == tuple(255 - c for c in top)


def test_render_png__renders_the_pixels_once_per_size_whatever_the_keys() -> None:
    images._pixels.cache_clear()
    for index in range(300):
        for size in SIZES:
            render_png(f"1:task-unified-1-abcdefgh_{index}", size)
    info = images._pixels.cache_info()
    assert (info.misses, info.currsize) == (len(SIZES), len(SIZES))
    assert info.maxsize == RENDERED_SIZES


@pytest.mark.parametrize(
    ("ratio", "pixels"), list(NANO_BANANA.items()) + [("auto", (1024, 1024)), (None, (1024, 1024))]
)
def test_dimensions__read_a_ratio_recorded_before_the_family_with_nano_bananas_table(
    ratio: str | None, pixels: tuple[int, int]
) -> None:
    assert dimensions(ratio) == pixels


def test_link_token__is_random_and_not_from_the_seeded_source() -> None:
    tokens = {new_link_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(token) == 16 for token in tokens)


def test_image_name__round_trips() -> None:
    token = bytes(range(16))
    name = image_name("task-unified-1790000000-abcdefgh", 0, token)
    assert name == "task-unified-1790000000-abcdefgh_0-000102030405060708090a0b0c0d0e0f.png"
    parsed = parse_image_name(name)
    assert parsed is not None
    assert parsed[:2] == ("task-unified-1790000000-abcdefgh", 0)
    assert token_matches(parsed[2], token)
    assert not token_matches(parsed[2], bytes(16))


@pytest.mark.parametrize(
    "name",
    [
        "task-unified-1790000000-abcdefgh_0.png",  # the old, guessable form
        "task-unified-1790000000-abcdefgh_0-00010203.png",
        "task-unified-1790000000-abcdefgh_0-000102030405060708090A0B0C0D0E0F.png",
        "task-unified-1790000000-abcdefgh-000102030405060708090a0b0c0d0e0f.png",
        "nothing.png",
        "../task-unified-1_0-000102030405060708090a0b0c0d0e0f.png",
    ],
)
def test_parse_image_name__refuses_anything_else(name: str) -> None:
    assert parse_image_name(name) is None


def test_every_models_sizes__have_pixel_dimensions() -> None:
    # What images.py once checked of its own table: every model now plans its own pixels.
    for model in facts().models.values():
        for size in model.sizes:
            (width, height), *_ = model.plan({"model": model.name, "size": size}).images
            assert width > 0 and height > 0, (model.name, size)
