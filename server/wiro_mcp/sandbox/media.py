"""Real output files for the emulator: a PNG and a WAV made here, a GLB (glTF 2.0 binary: one
triangle), and an MP4 shipped beside this module.

assets/sample.mp4 is a 2-second 320x180 H.264 test pattern, made with
`ffmpeg -f lavfi -i testsrc2=size=320x180:rate=12:duration=2 -c:v libx264 -pix_fmt yuv420p
-crf 35 -movflags +faststart sample.mp4`.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from functools import cache
from importlib import resources


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@cache
def _gradient(width: int, height: int) -> bytes:
    """The raw rows (each led by filter type 0) of a gradient, made once per size."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += bytes((x % 256, y % 256, (x ^ y) % 256))
    return bytes(rows)


def png(seed: str, width: int = 256, height: int = 256) -> bytes:
    """A gradient PNG whose colours follow `seed`, so different tasks give different images. Cheap to
    make (a cached gradient, its colours shifted by `seed`): hundreds of tasks end at once in a
    benchmark, and the emulator must not be what makes them late."""
    digest = hashlib.sha256(seed.encode()).digest()
    table = bytes((i + digest[0]) % 256 for i in range(256))
    rows = bytearray(_gradient(width, height).translate(table))
    rows[:: width * 3 + 1] = bytes(height)  # each row's filter type stays 0
    stamp = min(len(digest), width * 3)
    rows[1 : 1 + stamp] = digest[:stamp]  # the first pixels are the seed's own: no two seeds alike
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 0))  # stored: compressing was most of the cost
        + _chunk(b"IEND", b"")
    )


@cache
def mp4() -> bytes:
    return (resources.files("wiro_mcp.sandbox") / "assets" / "sample.mp4").read_bytes()


def wav(seed: str, seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """A mono 16-bit PCM WAV of a tone whose pitch follows `seed`."""
    pitch = 220 + hashlib.sha256(seed.encode()).digest()[0] * 2
    count = int(seconds * rate)
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * n / rate))) for n in range(count)
    )
    header = struct.pack("<4sI4s", b"RIFF", 36 + len(samples), b"WAVE")
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + fmt + struct.pack("<4sI", b"data", len(samples)) + samples


@cache
def glb() -> bytes:
    """A valid glTF 2.0 binary: one triangle, one mesh, one node, one scene."""
    points = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0)
    document = {
        "asset": {"version": "2.0", "generator": "wiro-mcp sandbox"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "buffers": [{"byteLength": len(points)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(points)}],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": 3,
                "type": "VEC3",
                "min": [0, 0, 0],
                "max": [1, 1, 0],
            }
        ],
    }
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)  # chunks are 4-byte aligned
    chunks = (
        struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(points), b"BIN\0") + points
    )
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def output_file(media: str, seed: str) -> tuple[str, str, bytes]:
    """(file name, content type as Wiro's CDN gives it, bytes) of a task's output."""
    if media == "video":
        return "0.mp4", "video/mp4", mp4()
    if media == "audio":
        return "0.wav", "audio/wav", wav(seed)
    if media == "3d":  # a CDN that knows no 3D type: the name says what it is
        return "0.glb", "application/octet-stream", glb()
    return "0.png", "image/png", png(seed)
