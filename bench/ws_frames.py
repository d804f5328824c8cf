"""Reading Wiro's socket frames: the client's own frame reader (wiro/wsframes.py) against wsproto's,
which it replaced, on the same frames (a progress event as Wiro's WebSocket page shows one), in the
same run. Prints microseconds per frame and the ratio; asserts nothing.

    python bench/ws_frames.py [--frames 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from wiro_mcp.wiro.wsframes import FrameReader

EVENT = {
    "type": "task_output",
    "id": "534574",
    "tasktoken": "eDcCm5yyUfIvMFspTwww49OUfgBdlmLZq6Gw8b5zViFyS3ZmLjDsBXzCEUN7kDnO",
    "message": {
        "type": "progressGenerate",
        "task": "Generate",
        "percentage": "50",
        "stepCurrent": "5",
        "stepTotal": "10",
        "remainingTime": "2s",
    },
    "result": True,
}


def wsproto_reading(frame: bytes, count: int) -> float:
    client = Connection(ConnectionType.CLIENT)
    began = time.perf_counter()
    for _ in range(count):
        client.receive_data(frame)
        for event in client.events():
            assert isinstance(event, TextMessage)
    return (time.perf_counter() - began) / count


def our_reading(frame: bytes, count: int) -> float:
    reader = FrameReader(1 << 24)
    began = time.perf_counter()
    for _ in range(count):
        for got in reader.feed(frame):
            got.payload.decode()
    return (time.perf_counter() - began) / count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=20_000)
    args = parser.parse_args()
    frame = Connection(ConnectionType.SERVER).send(TextMessage(json.dumps(EVENT)))
    theirs, ours = [], []
    for _ in range(5):  # interleaved rounds
        theirs.append(wsproto_reading(frame, args.frames))
        ours.append(our_reading(frame, args.frames))
    a, b = statistics.median(theirs) * 1e6, statistics.median(ours) * 1e6
    print(f"a {len(frame)}-byte progress frame, {args.frames} frames x 5 rounds (median):")
    print(f"  wsproto      {a:6.2f} µs a frame")
    print(f"  wsframes.py  {b:6.2f} µs a frame  = {b / a:.2f}x")


if __name__ == "__main__":
    main()
