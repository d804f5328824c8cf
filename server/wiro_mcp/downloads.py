"""Saving finished outputs into a folder: FOLDER/<tool>/<taskid>/<name>.

Names come from Wiro's `name` field reduced to a safe base name, never from a path in the answer.
A file is written under a temporary name and renamed when complete, so a partial download never
looks finished.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import anyio
import httpx2

from wiro_mcp.wiro.models import Output

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._")
    return cleaned[:120] or fallback


async def save_outputs(
    http: httpx2.AsyncClient, folder: Path, tool: str, taskid: str, outputs: Sequence[Output]
) -> dict[str, Path]:
    """Download each output; returns url → saved path. Only URLs from Wiro's task answer are given."""
    target = folder / safe_name(tool, "model") / safe_name(taskid, "task")
    saved: dict[str, Path] = {}
    for index, output in enumerate(outputs):
        if not output.url:
            continue
        path = target / safe_name(output.name, f"output-{index}")
        if await anyio.Path(path).exists():
            saved[output.url] = path
            continue
        await anyio.Path(target).mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        async with http.stream("GET", output.url) as response:
            response.raise_for_status()
            async with await anyio.open_file(partial, "wb") as sink:
                async for chunk in response.aiter_bytes():
                    await sink.write(chunk)
        await anyio.Path(partial).rename(path)
        saved[output.url] = path
    return saved
