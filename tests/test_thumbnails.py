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


def quadrant_colours(image: Image.Image) -> list[tuple[int, ...]]:
    """Each quarter's average colour: what the eye takes in of a thumbnail."""
    small = image.convert("RGB").resize((2, 2), Image.Resampling.BOX)
    return [tuple(small.getpixel((x, y))) for y in (0, 1) for x in (0, 1)]  # type: ignore[arg-type]


def test_a_large_image_keeps_its_picture_in_its_thumbnail() -> None:
    # Four flat quarters on a 1024x1536 (a whole factor of 3 down) and a 1000x700 (none): each quarter
    # keeps its colour and the shape keeps its proportions.
    for width, height in ((1024, 1536), (1000, 700)):
        source = Image.new("RGB", (width, height))
        for (x, y), colour in zip(
            ((0, 0), (1, 0), (0, 1), (1, 1)),
            ((200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)),
            strict=True,
        ):
            source.paste(
                colour, (x * width // 2, y * height // 2, (x + 1) * width // 2, (y + 1) * height // 2)
            )
        out = io.BytesIO()
        source.save(out, "PNG")
        small = thumbnail(out.getvalue())
        assert small is not None
        with Image.open(io.BytesIO(small)) as shown:
            assert max(shown.size) == THUMBNAIL_SIDE
            assert abs(shown.size[0] / shown.size[1] - width / height) < 0.01
            for got, want in zip(quadrant_colours(shown), quadrant_colours(source), strict=True):
                assert all(abs(g - w) <= 8 for g, w in zip(got, want, strict=True)), (got, want)


def test_a_photo_taken_on_its_side_is_shown_upright() -> None:
    # A camera's landscape JPEG whose EXIF orientation (6) says it was held upright.
    sideways = Image.new("RGB", (800, 400), (255, 0, 0))
    exif = sideways.getexif()
    exif[0x0112] = 6
    out = io.BytesIO()
    sideways.save(out, "JPEG", exif=exif)
    small = thumbnail(out.getvalue())
    assert small is not None
    with Image.open(io.BytesIO(small)) as shown:
        assert shown.size == (THUMBNAIL_SIDE // 2, THUMBNAIL_SIDE)
