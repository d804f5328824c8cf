"""A preview's CPU: `thumbnail()` on images of the sizes generators give (PNG, photo-like: smooth with
noise, so it compresses as a real output does), against Pillow's default thumbnail of the same image
in the same run (decode, resize with Pillow's default reducing gap, JPEG encode), each split into its
decode and the rest. The sandbox's own outputs are 256 px; Wiro's are 1024 px and more, which is
where a preview's cost lies. Prints figures; asserts nothing.

    python bench/thumbnails.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

from PIL import Image

from wiro_mcp.thumbnails import THUMBNAIL_SIDE, thumbnail

SIZES = ((1024, 1024), (1536, 1024), (2048, 2048), (1000, 750))


def photo_like(width: int, height: int) -> bytes:
    smooth = Image.effect_mandelbrot((width, height), (-2.0, -1.5, 1.0, 1.5), 100).convert("RGB")
    noisy = Image.blend(smooth, Image.effect_noise((width, height), 40).convert("RGB"), 0.3)
    out = io.BytesIO()
    noisy.save(out, "PNG")
    return out.getvalue()


def pillow_default(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as opened:
        opened.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        out = io.BytesIO()
        opened.convert("RGB").save(out, "JPEG", quality=82)
        return out.getvalue()


def decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()


def cpu_ms(work: Callable[[bytes], object], data: bytes, repeat: int) -> float:
    times: list[float] = []
    for _ in range(repeat):
        began = time.process_time()
        work(data)
        times.append(time.process_time() - began)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print(f"CPU ms per thumbnail (median of {args.repeat}), ours against Pillow's default:")
    print(f"{'source':>12} {'PNG bytes':>10} {'decode':>8} {'default':>8} {'ours':>8} {'ratio':>6}")
    for width, height in SIZES:
        data = photo_like(width, height)
        decoded = cpu_ms(decode, data, args.repeat)
        default = cpu_ms(pillow_default, data, args.repeat)
        ours = cpu_ms(thumbnail, data, args.repeat)
        print(
            f"{f'{width}x{height}':>12} {len(data):>10,} {decoded:>8.1f} {default:>8.1f} {ours:>8.1f} "
            f"{ours / default:>5.2f}x"
        )


if __name__ == "__main__":
    main()
