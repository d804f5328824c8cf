"""Inline previews that fit a context: an image output becomes a JPEG thumbnail of at most
THUMBNAIL_SIDE pixels on its long side and THUMBNAIL_MAX_BYTES (about 100 KB once base64), made by
Pillow; the full file stays a link (and, where saved, a path). An image Pillow cannot decode, or one
larger than MAX_PIXELS (a decompression bomb), gets no preview."""

from __future__ import annotations

import io
import logging
import warnings

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 512
THUMBNAIL_MAX_BYTES = 75_000
MAX_PIXELS = 60_000_000  # e.g. 7746x7746: far above any generated image, far below a bomb
_QUALITIES = (82, 70, 55, 40)
REDUCING_GAP = 1.0
# Pillow's own guard, as its docs advise: a bomb warning is an error. Set once here: catch_warnings
# around each call would change the process's filters from worker threads at the same time.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
# What Pillow raises for an image it cannot, or must not, read.
_UNREADABLE = (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError)


def thumbnail(data: bytes) -> bytes | None:
    """A JPEG of `data` small enough to inline, or None."""
    try:
        with Image.open(io.BytesIO(data)) as opened:  # above MAX_PIXELS it raises before decoding
            opened.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # JPEG sources decode smaller
            ImageOps.exif_transpose(opened, in_place=True)  # no copy of the whole decoded image
            # Whole factors by box averaging first, then the filter over what is left: Pillow's default
            # gap of 2 filters a 1024 px image to 512 at full cost (16 ms against 2 ms for the same
            # thumbnail to the eye; bench/thumbnails.py).
            opened.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), reducing_gap=REDUCING_GAP)
            flat = _on_white(opened)
    except _UNREADABLE as exc:
        log.info("no preview: the image cannot be read (%s)", type(exc).__name__)
        return None
    for side in (THUMBNAIL_SIDE, THUMBNAIL_SIDE // 2):
        if max(flat.size) > side:
            flat.thumbnail((side, side))
        for quality in _QUALITIES:
            out = io.BytesIO()
            # No `optimize`: its second pass doubles the encoding (about 0.5 ms of a 512 px thumbnail's
            # 1 ms) for 8-13 % fewer bytes, and a model counts an image's pixels, not its bytes.
            flat.save(out, "JPEG", quality=quality)
            if out.tell() <= THUMBNAIL_MAX_BYTES:
                return out.getvalue()
    return None


def already_small(data: bytes) -> bool:
    """An image whose long side is at most THUMBNAIL_SIDE: its thumbnail is a re-encoding, no
    resizing (about 2 ms for 512x512). Read from its header alone; anything unreadable is not."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            return max(opened.size) <= THUMBNAIL_SIDE
    except _UNREADABLE:
        return False


def _on_white(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency over white (not the black a plain conversion gives)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")
