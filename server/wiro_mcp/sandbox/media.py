"""Real output files for the emulator: a PNG drawn here, an MP4 shipped beside this module.

assets/sample.mp4 is a 2-second 320x180 H.264 test pattern, made with
`ffmpeg -f lavfi -i testsrc2=size=320x180:rate=12:duration=2 -c:v libx264 -pix_fmt yuv420p
-crf 35 -movflags +faststart sample.mp4`.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from functools import cache
from importlib import resources


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png(seed: str, width: int = 256, height: int = 256) -> bytes:
    """A gradient PNG whose colours follow `seed`, so different tasks give different images."""
    r0, g0, b0 = hashlib.sha256(seed.encode()).digest()[:3]
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows += bytes(((r0 + x) % 256, (g0 + y) % 256, (b0 + (x ^ y)) % 256))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + _chunk(b"IEND", b"")
    )


@cache
def mp4() -> bytes:
    return (resources.files("wiro_mcp.sandbox") / "assets" / "sample.mp4").read_bytes()


def output_file(media: str, seed: str) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of a task's output."""
    if media == "video":
        return "0.mp4", "video/mp4", mp4()
    return "0.png", "image/png", png(seed)
