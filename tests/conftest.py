"""Shared fixtures: the catalog, and a Wiro emulator served on loopback in a background thread."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx2
import mcp_types as types
import pytest
import uvicorn
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from pydantic import SecretStr
from starlette.types import ASGIApp

from wiro_mcp.catalog.load import CatalogEntry, load_catalog
from wiro_mcp.files import FileAccess
from wiro_mcp.journal import MemoryJournal, TaskJournal
from wiro_mcp.live_catalog import CatalogCache, LiveCatalog
from wiro_mcp.mcp.app import WiroMcp
from wiro_mcp.mcp.transports import QuietServer, bound_socket
from wiro_mcp.offered import OfferedModels
from wiro_mcp.outputs import OutputPolicy, Outputs
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.tasks import ServiceConfig, TaskService
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.retry import RetryPolicy
from wiro_mcp.wiro.watch import PollingFollower, PollPolicy

REPO = Path(__file__).resolve().parent.parent
PAGES = REPO / "tests" / "fixtures" / "pages"
API_KEY = "test-key-0123456789"
API_SECRET = "test-secret-do-not-leak-4f9a1c"
# A client that renders MCP Apps (the task viewer), as it says so when it connects.
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


def text_of(result: types.CallToolResult) -> str:
    """A result's text blocks, as one text."""
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


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
    cache: str = ""  # the catalog cache folder the server under test uses

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

    @property
    def socket_url(self) -> str:
        return self.root.replace("http://", "ws://", 1) + "/v1"

    def env(self, **extra: str) -> dict[str, str]:
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith(("WIRO_", "COVERAGE"))}
        env.update(
            WIRO_API_KEY=API_KEY,
            WIRO_API_SECRET=API_SECRET,
            WIRO_API_BASE_URL=self.base_url,
            WIRO_SOCKET_URL=self.socket_url,
            WIRO_MCP_POLL_SCALE="0.1",  # a quicker polling schedule for the fallback
            WIRO_MCP_LOG_LEVEL="INFO",
            WIRO_MCP_CACHE_DIR=self.cache,
        )
        env.update(extra)
        return env


def start_emulator(emulator: Emulator) -> tuple[QuietServer, threading.Thread, str]:
    return serve_app(emulator.app)


def serve_app(app: ASGIApp) -> tuple[QuietServer, threading.Thread, str]:
    """An ASGI app on real loopback HTTP, in a background thread."""
    sock = bound_socket("127.0.0.1", 0)
    server = QuietServer(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("emulator did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def emulator_on_loopback(emulator: Emulator, cache: Path) -> Iterator[RunningEmulator]:
    server, thread, root = start_emulator(emulator)
    try:
        yield RunningEmulator(emulator, root, str(cache))
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def wiro(catalog: dict[str, CatalogEntry], tmp_path: Path) -> Iterator[RunningEmulator]:
    """A fresh signature-mode emulator on loopback; tasks take 0.6 s unless planned otherwise."""
    emulator = Emulator(
        [e.spec for e in catalog.values()], api_key=API_KEY, api_secret=API_SECRET, seconds={"*": 0.6}
    )
    with emulator_on_loopback(emulator, tmp_path / "catalog-cache") as running:
        yield running


@contextlib.contextmanager
def bundled_and_generated(cache: Path, extra_models: int, seconds: float = 0.6) -> Iterator[RunningEmulator]:
    """A signature-mode emulator on loopback serving the bundled models and `extra_models` generated
    ones (the first twelve are one of each kind)."""
    emulator = Emulator(
        [e.spec for e in load_catalog().values()],
        api_key=API_KEY,
        api_secret=API_SECRET,
        seconds={"*": seconds},
        extra_models=extra_models,
    )
    with emulator_on_loopback(emulator, cache) as running:
        yield running


@pytest.fixture
def wiro_catalog(catalog: dict[str, CatalogEntry], tmp_path: Path) -> Iterator[RunningEmulator]:
    """An emulator that also serves 40 generated models (every kind), for the live catalog."""
    with bundled_and_generated(tmp_path / "catalog-cache", 40) as running:
        yield running


ASGI_BASE = "http://wiro.test/v1"


@dataclass
class InProcess:
    """The whole server in this process: WiroMcp over a TaskService whose Wiro is the emulator,
    reached through an ASGI transport (no sockets)."""

    app: WiroMcp
    emulator: Emulator

    @property
    def state(self):
        return self.emulator.state

    @property
    def service(self) -> TaskService:
        return self.app.service


@contextlib.asynccontextmanager
async def in_process(
    catalog: dict[str, CatalogEntry],
    *,
    journal: TaskJournal | None = None,
    wait_seconds: float = 20.0,
    on_cancel: Literal["kill", "detach"] = "kill",
    download_dir: Path | None = None,
    file_roots: tuple[Path, ...] = (),
    seconds: float = 0.3,
    dedup_seconds: float = 300.0,
    extra_models: int = 0,
    confirm_above_usd: float | None = None,
    limits: dict[str, float] | None = None,  # max_cost_usd, budget_usd, unpriced_run_usd
    endpoint: str = ASGI_BASE,
    account: str = "",
) -> AsyncIterator[InProcess]:
    emulator = Emulator(
        [e.spec for e in catalog.values()],
        api_key=API_KEY,
        api_secret=API_SECRET,
        seconds={"*": seconds},
        extra_models=extra_models,
    )
    transport = httpx2.ASGITransport(app=emulator.app)
    auth = WiroAuth(SecretStr(API_KEY), SecretStr(API_SECRET))
    retry = RetryPolicy(base_delay=0.01, max_delay=0.05)
    async with (
        WiroClient(ASGI_BASE, auth, transport=transport, retry=retry) as client,
        httpx2.AsyncClient(transport=transport) as cdn,
    ):
        outputs = Outputs(OutputPolicy(base_url=ASGI_BASE, download_dir=download_dir), http=cdn)
        service = TaskService(
            client,
            OfferedModels(catalog.values()),
            ServiceConfig(
                wait_seconds=wait_seconds,
                on_cancel=on_cancel,
                dedup_seconds=dedup_seconds,
                confirm_above_usd=confirm_above_usd,
                **(limits or {}),
            ),
            endpoint=endpoint,
            account=account,
            journal=journal if journal is not None else MemoryJournal("tests"),
            follower=PollingFollower(client, PollPolicy(scale=0.05)),
            outputs=outputs,
            files=FileAccess(file_roots, 10_000_000),
        )
        live = LiveCatalog(catalog, client, CatalogCache(None))
        yield InProcess(WiroMcp(service, live), emulator)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One throwaway PostgreSQL cluster for the whole run (tests/postgres.py)."""
    from tests.postgres import cluster

    with cluster() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """A new empty database of that cluster, for this test alone."""
    import hashlib

    from tests.postgres import new_database

    name = "t_" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    return new_database(postgres_server, name)
