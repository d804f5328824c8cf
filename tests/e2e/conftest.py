"""Fixtures for driving the real `wiro-mcp` command."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest
from mcp import Client

from tests.conftest import RunningEmulator
from tests.e2e.helpers import stdio_client_for, stdio_params

OpenServer = Callable[..., contextlib.AbstractAsyncContextManager[Client]]


@pytest.fixture
def errlog(tmp_path: Path) -> Iterator[TextIO]:
    """The server's stderr, kept so tests can read what it logged."""
    with (tmp_path / "server-stderr.txt").open("w+") as log:
        yield log


@pytest.fixture
def open_server(wiro: RunningEmulator, tmp_path: Path, errlog: TextIO) -> OpenServer:
    """`open_server(mode=…, client_option=…, WIRO_MCP_X=…)`: a client of a fresh `wiro-mcp` over stdio,
    pointed at the emulator, its journal in the test's own folder unless the test names one."""

    def open_(mode: str = "auto", **options: Any) -> contextlib.AbstractAsyncContextManager[Client]:
        env = {k: v for k, v in options.items() if k.startswith("WIRO_")}
        env.setdefault("WIRO_MCP_JOURNAL", str(tmp_path / "j.sqlite3"))
        client_options = {k: v for k, v in options.items() if not k.startswith("WIRO_")}
        return stdio_client_for(stdio_params(wiro, **env), errlog, mode=mode, **client_options)

    return open_
