"""The event loop a server runs on. `--http` serves many calls from one process, and there uvloop
(libuv's loop, in C) spends about a fifth less CPU a call than asyncio's own and lowers the lag
under load by a third (`python bench/server_load.py`); it is used when installed (it is a dependency
wherever it builds: not on Windows). stdio serves one client, whose start-up would pay for importing
it (about 0.1 s) and gain nothing, so it keeps asyncio's. WIRO_MCP_EVENT_LOOP chooses otherwise."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Literal

from wiro_mcp.errors import ConfigError

EventLoop = Literal["auto", "asyncio", "uvloop"]


def uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def backend_options(choice: EventLoop, http: bool) -> dict[str, object]:
    """anyio's asyncio backend options for serving: uvloop for `--http` when installed ("auto"),
    or as chosen; a choice of uvloop where it is not installed is a clear error, not a silent fallback."""
    if choice == "uvloop" and not uvloop_installed():
        raise ConfigError(
            "WIRO_MCP_EVENT_LOOP=uvloop, but uvloop is not installed (`pip install uvloop`; it does not "
            "run on Windows); use auto or asyncio"
        )
    use = choice == "uvloop" or (choice == "auto" and http and uvloop_installed())
    return {"use_uvloop": use}


def running_loop() -> str:
    """The running event loop's name, for the log: "uvloop" or "asyncio"."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
