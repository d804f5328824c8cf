"""Inline previews that fit a context: whatever the image, at most 100 KB of base64, or none."""

from __future__ import annotations

import base64
import io
import random

from PIL import Image

from wiro_mcp.sandbox.media import png
from wiro_mcp.thumbnails import THUMBNAIL_SIDE, already_small, thumbnail


def noisy_png(width: int, height: int, mode: str = "RGB") -> bytes:
    """An image that compresses badly (noise): the hard case for a size cap."""
    rng = random.Random(7)
    image = Image.frombytes(mode, (width, height), rng.randbytes(width * height * len(mode)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def inline_size(data: bytes) -> int:
    return len(base64.b64encode(data))


def test_the_sandbox_image_and_a_2048_px_one_inline_in_at_most_100_kb() -> None:
    sandbox = png("task-1")  # 256x256, about 190 KB as base64 before
    assert inline_size(sandbox) > 100_000
    for source in (sandbox, noisy_png(2048, 2048), noisy_png(2048, 1152, "RGBA")):
        small = thumbnail(source)
        assert small is not None and inline_size(small) <= 100_000
        with Image.open(io.BytesIO(small)) as shown:
            assert shown.format == "JPEG" and max(shown.size) <= THUMBNAIL_SIDE


def test_an_image_that_cannot_be_read_or_is_a_bomb_gets_no_preview() -> None:
    assert thumbnail(b"\x89PNG\r\n\x1a\nnot really") is None
    assert thumbnail(b"") is None
    # A PNG header claiming 100000x100000 pixels: refused before anything is decoded.
    header = png("x", 1, 1)
    bomb = header[:16] + (100_000).to_bytes(4, "big") * 2 + header[24:]
    assert thumbnail(bomb) is None


def test_transparency_is_shown_over_white() -> None:
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    out = io.BytesIO()
    clear.save(out, "PNG")
    small = thumbnail(out.getvalue())
    assert small is not None
    with Image.open(io.BytesIO(small)) as shown:
        assert shown.convert("RGB").getpixel((32, 32)) == (255, 255, 255)


def test_only_an_image_no_larger_than_its_thumbnail_is_made_without_a_worker_thread() -> None:
    # Read from the header alone.
    assert already_small(png("a", 256, 256)) and already_small(png("b", THUMBNAIL_SIDE, 40))
    assert not already_small(png("c", THUMBNAIL_SIDE + 1, 40))
    assert not already_small(b"not an image at all")
