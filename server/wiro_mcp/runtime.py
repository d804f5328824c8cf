"""Putting the parts together from Settings: catalog, Wiro client (or the sandbox), journal, server."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path

import httpx2
from pydantic import SecretStr

from wiro_mcp.catalog.load import allowed, load_catalog
from wiro_mcp.catalog.spec import ModelSpec
from wiro_mcp.errors import ConfigError
from wiro_mcp.files import FileAccess
from wiro_mcp.journal import open_journal
from wiro_mcp.mcp.app import WiroMcp
from wiro_mcp.mcp.transports import serve_in_background
from wiro_mcp.outputs import OutputPolicy, Outputs
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.service import ServiceConfig, TaskService
from wiro_mcp.settings import Settings
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.watch import PollingFollower, PollPolicy

log = logging.getLogger(__name__)


def sandbox_endpoint() -> str:
    """The endpoint name sandbox tasks are journalled under: one per emulator, because its tasks end
    with its process (a later process must neither resume nor repeat them)."""
    return f"sandbox:{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def wiro_endpoint(
    settings: Settings, sandbox: bool, specs: list[ModelSpec]
) -> AsyncGenerator[tuple[str, httpx2.Auth], None]:
    """The Wiro base URL and auth to use: the real API, or an emulator (serving `specs`) for this process."""
    if not sandbox:
        if settings.api_key is None:
            raise ConfigError(
                "WIRO_API_KEY is not set. Set it (and WIRO_API_SECRET), or try --sandbox first."
            )
        yield settings.api_base_url, WiroAuth(settings.api_key, settings.api_secret)
        return
    seconds = {"*": settings.sandbox_seconds} if settings.sandbox_seconds is not None else None
    emulator = Emulator(specs, api_key=SANDBOX_API_KEY, api_secret=SANDBOX_API_SECRET, seconds=seconds)
    async with serve_in_background(emulator.app) as url:
        log.info("sandbox: Wiro emulator at %s/v1 (no account, no cost)", url)
        yield f"{url}/v1", WiroAuth(SecretStr(SANDBOX_API_KEY), SecretStr(SANDBOX_API_SECRET))


def journal_path(settings: Settings, sandbox: bool) -> Path | None:
    path = settings.journal_path
    if path is not None and sandbox and not settings.journal:
        path = path.with_name("sandbox-tasks.sqlite3")  # sandbox tasks never mix with billed ones
    return path


@contextlib.asynccontextmanager
async def build_app(
    settings: Settings, sandbox: bool, *, extra_file_roots: tuple[Path, ...] = ()
) -> AsyncGenerator[WiroMcp, None]:
    everything = load_catalog(settings.catalog_paths)
    catalog = allowed(everything, settings.tool_patterns)
    specs = [e.spec for e in everything.values()]  # the emulator knows every model, offered or not
    async with wiro_endpoint(settings, sandbox, specs) as (base_url, auth):
        timeout = httpx2.Timeout(settings.request_timeout_seconds, connect=10.0, write=120.0)
        # The client checks the base URL once (a ConfigError before anything is sent) and normalises it.
        async with WiroClient(base_url, auth, timeout=timeout) as client:
            policy = OutputPolicy(
                base_url=client.base_url,
                preview_max_bytes=settings.preview_max_bytes if settings.image_preview else 0,
                download_dir=settings.download_path,
                download_max_bytes=int(settings.download_max_mb * 1_000_000),
            )
            outputs = Outputs(policy)
            service = TaskService(
                client,
                catalog,
                ServiceConfig(
                    wait_seconds=settings.wait_seconds,
                    on_cancel=settings.on_cancel,
                    dedup_seconds=settings.dedup_seconds,
                ),
                endpoint=sandbox_endpoint() if sandbox else client.base_url,
                journal=open_journal(journal_path(settings, sandbox)),
                follower=PollingFollower(
                    client, PollPolicy(initial=settings.poll_initial_seconds, cap=settings.poll_max_seconds)
                ),
                outputs=outputs,
                files=FileAccess(
                    (*settings.file_root_paths, *extra_file_roots), int(settings.max_file_mb * 1_000_000)
                ),
            )
            try:
                yield WiroMcp(service)
            finally:
                await outputs.aclose()
