"""Shared fixtures: the catalog, and a Wiro emulator served on loopback in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr

from wiro_mcp.catalog.load import CatalogEntry, load_catalog
from wiro_mcp.mcp.transports import QuietServer, bound_socket
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.retry import RetryPolicy

REPO = Path(__file__).resolve().parent.parent
PAGES = REPO / "tests" / "fixtures" / "pages"
API_KEY = "test-key-0123456789"
API_SECRET = "test-secret-do-not-leak-4f9a1c"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def catalog() -> dict[str, CatalogEntry]:
    return load_catalog()


@dataclass
class RunningEmulator:
    emulator: Emulator
    root: str

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    @property
    def state(self):
        return self.emulator.state

    def client(
        self, *, secret: str | None = API_SECRET, key: str = API_KEY, retry: RetryPolicy | None = None
    ) -> WiroClient:
        auth = WiroAuth(SecretStr(key), SecretStr(secret) if secret else None)
        return WiroClient(self.base_url, auth, retry=retry or RetryPolicy(base_delay=0.01, max_delay=0.05))

    def env(self, **extra: str) -> dict[str, str]:
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith(("WIRO_", "COVERAGE"))}
        env.update(
            WIRO_API_KEY=API_KEY,
            WIRO_API_SECRET=API_SECRET,
            WIRO_API_BASE_URL=self.base_url,
            WIRO_MCP_POLL_MAX_SECONDS="0.3",
            WIRO_MCP_LOG_LEVEL="INFO",
        )
        env.update(extra)
        return env


def start_emulator(emulator: Emulator) -> tuple[QuietServer, threading.Thread, str]:
    sock = bound_socket("127.0.0.1", 0)
    server = QuietServer(uvicorn.Config(emulator.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("emulator did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def wiro(catalog: dict[str, CatalogEntry]) -> Iterator[RunningEmulator]:
    """A fresh signature-mode emulator on loopback; tasks take 0.6 s unless planned otherwise."""
    emulator = Emulator(
        [e.spec for e in catalog.values()], api_key=API_KEY, api_secret=API_SECRET, seconds={"*": 0.6}
    )
    server, thread, root = start_emulator(emulator)
    yield RunningEmulator(emulator, root)
    server.should_exit = True
    thread.join(timeout=10)
