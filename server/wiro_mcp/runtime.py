"""Putting the parts together from Settings: catalog, Wiro client (or the sandbox), journal, server."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx2
from pydantic import SecretStr

from wiro_mcp.catalog.load import CatalogEntry, allowed, load_catalog
from wiro_mcp.catalog.spec import ModelSpec
from wiro_mcp.errors import ConfigError, SpecError, WiroError
from wiro_mcp.files import FileAccess
from wiro_mcp.journal import open_journal
from wiro_mcp.live_catalog import CatalogCache, LiveCatalog, UnknownModel
from wiro_mcp.mcp.app import SERVER_TOOL_NAMES, WiroMcp
from wiro_mcp.mcp.confirm import use_state_keys
from wiro_mcp.mcp.transports import serve_in_background
from wiro_mcp.offered import OfferedModels
from wiro_mcp.outputs import OutputPolicy, Outputs
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET
from wiro_mcp.settings import Settings
from wiro_mcp.tasks import SANDBOX_ENDPOINT, ServiceConfig, TaskService
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient, endpoint_key
from wiro_mcp.wiro.socket import SocketFollower
from wiro_mcp.wiro.watch import PollingFollower, PollPolicy, TaskFollower

log = logging.getLogger(__name__)
MANY_TYPED_TOOLS = 60


def sandbox_endpoint() -> str:
    """The endpoint name sandbox tasks are journalled under: one per emulator, because its tasks end
    with its process (a later process must neither resume nor repeat them)."""
    return f"{SANDBOX_ENDPOINT}{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def wiro_endpoint(
    settings: Settings, sandbox: bool, specs: list[ModelSpec]
) -> AsyncGenerator[tuple[str, WiroAuth, str], None]:
    """The Wiro base URL, auth and socket URL to use: the real API, or an emulator (serving `specs`) for
    this process."""
    if not sandbox:
        if settings.api_key is None:
            raise ConfigError(
                "WIRO_API_KEY is not set. Set it (and WIRO_API_SECRET), or try --sandbox first."
            )
        yield settings.api_base_url, WiroAuth(settings.api_key, settings.api_secret), settings.socket_url
        return
    from wiro_mcp.sandbox.app import Emulator  # the emulator's code loads only where it runs

    seconds = {"*": settings.sandbox_seconds} if settings.sandbox_seconds is not None else None
    emulator = Emulator(
        specs,
        api_key=SANDBOX_API_KEY,
        api_secret=SANDBOX_API_SECRET,
        seconds=seconds,
        extra_models=settings.sandbox_extra_models,
    )
    async with serve_in_background(emulator.app) as url:
        log.info("sandbox: Wiro emulator at %s/v1 (no account, no cost)", url)
        auth = WiroAuth(SecretStr(SANDBOX_API_KEY), SecretStr(SANDBOX_API_SECRET))
        yield f"{url}/v1", auth, url.replace("http://", "ws://", 1) + "/v1"


def journal_path(settings: Settings, sandbox: bool) -> Path | str | None:
    path = settings.journal_path
    if isinstance(path, Path) and sandbox and not settings.journal:
        path = path.with_name("sandbox-tasks.sqlite3")  # sandbox tasks never mix with billed ones
    return path


def catalog_cache(settings: Settings, sandbox: bool, base_url: str) -> CatalogCache:
    """The on-disk cache of this Wiro's catalog (one folder per base URL); the sandbox's is in memory."""
    if sandbox:
        return CatalogCache(None)
    host = urlsplit(base_url).hostname or "wiro"
    digest = hashlib.sha256(base_url.encode()).hexdigest()[:8]
    return CatalogCache(settings.cache_path / "catalog" / f"{host}-{digest}")


def initial_entries(live: LiveCatalog, patterns: Sequence[str], allow: Sequence[str]) -> list[CatalogEntry]:
    """The typed tools offered at start-up: the selected models that are bundled or cached (no network)."""
    keys, _ = live.select(patterns)
    entries = [e for e in (live.cached_entry(k) for k in keys) if e is not None]
    return list(allowed({e.name: e for e in entries}, allow).values())


async def sync_catalog(
    live: LiveCatalog, patterns: Sequence[str], allow: Sequence[str], app: WiroMcp
) -> None:
    """In the background: refresh a stale listing, then fetch the selected models not cached yet and
    offer them (clients hear `notifications/tools/list_changed`); `app.synced` is set after."""
    try:
        await _sync_catalog(live, patterns, allow, app)
    finally:
        app.synced.set()


async def _sync_catalog(
    live: LiveCatalog, patterns: Sequence[str], allow: Sequence[str], app: WiroMcp
) -> None:
    if not live.listing_is_fresh:
        try:
            count = await live.refresh_listing()
            log.info("catalog: %d models listed by Wiro", count)
        except WiroError as exc:
            cached = "a cached listing" if live.listed_at is not None else "no cached listing"
            log.error(
                "catalog: Wiro's model list could not be fetched (%s); serving %d typed tools from the bundled "
                "specs and %s. search_models covers those until Wiro is reachable.",
                exc,
                len(app.offered()),
                cached,
            )
        updated = await app.update_model_tools(live.cached_entry)
        if updated:
            log.info("catalog: %d typed tools updated from the listing (prices)", len(updated))
    keys, unmatched = live.select(patterns)
    for pattern in unmatched:
        log.warning("WIRO_MCP_MODELS: %r matches no model in the catalog", pattern)
    offered = app.offered()
    wanted = [k for k in keys if k not in offered]
    entries: list[CatalogEntry] = []
    limiter = anyio.CapacityLimiter(4)

    async def fetch(key: str) -> None:
        async with limiter:
            try:
                entries.append(await live.entry(key))
            except (WiroError, SpecError, UnknownModel) as exc:
                log.warning("catalog: %s cannot be offered as a typed tool: %s", key, exc)

    async with anyio.create_task_group() as tg:
        for key in wanted:
            tg.start_soon(fetch, key)
    entries = list(allowed({e.name: e for e in entries}, allow).values())
    added = await app.add_model_tools(sorted(entries, key=lambda e: e.name))
    if added:
        log.info("catalog: %d more typed tools offered", len(added))
    if len(offered) + len(added) > MANY_TYPED_TOOLS:
        log.warning(
            "%d typed tools: each costs the agent context on every turn; run_model reaches any model without one",
            len(offered) + len(added),
        )


def follower_for(settings: Settings, client: WiroClient, socket_url: str) -> TaskFollower:
    """Wiro's socket, with polling (on Wiro's own schedule) taking over when it fails; or polling only."""
    polling = PollingFollower(client, PollPolicy(scale=settings.poll_scale))
    if settings.follow == "poll":
        return polling
    return SocketFollower(
        client,
        socket_url,
        polling,
        silence_seconds=settings.socket_silence_seconds,
        tasks_per_connection=settings.socket_tasks_per_connection,
    )


@contextlib.asynccontextmanager
async def build_app(
    settings: Settings, sandbox: bool, *, extra_file_roots: tuple[Path, ...] = (), per_person: bool = False
) -> AsyncGenerator[WiroMcp, None]:
    use_state_keys(settings.state_key_list)
    everything = load_catalog(settings.catalog_paths, reserved=SERVER_TOOL_NAMES)
    specs = [e.spec for e in everything.values()]  # the emulator knows every model, offered or not
    async with wiro_endpoint(settings, sandbox, specs) as (base_url, auth, socket_url):
        timeout = httpx2.Timeout(settings.request_timeout_seconds, connect=10.0, write=120.0)
        # The client checks the base URL once (a ConfigError before anything is sent) and normalises it.
        async with WiroClient(base_url, auth, timeout=timeout) as client:
            live = LiveCatalog(
                everything,
                client,
                catalog_cache(settings, sandbox, client.base_url),
                max_age_seconds=settings.catalog_max_age_hours * 3600,
                reserved_names=SERVER_TOOL_NAMES,
            )
            live.load_cached()
            patterns = settings.model_patterns
            typed = initial_entries(live, patterns, settings.tool_patterns)
            policy = OutputPolicy(
                base_url=client.base_url,
                preview_max_bytes=settings.preview_max_bytes if settings.image_preview else 0,
                download_dir=settings.download_path,
                download_max_bytes=int(settings.download_max_mb * 1_000_000),
            )
            outputs = Outputs(policy)
            # Tasks, repeats and task_list are per Wiro and per account (a fingerprint of the key): two
            # projects on one machine never see, or are handed, each other's tasks.
            endpoint = sandbox_endpoint() if sandbox else f"{endpoint_key(client.base_url)}#{auth.account}"
            journal = await open_journal(journal_path(settings, sandbox))
            service = TaskService(
                client,
                OfferedModels(typed),
                ServiceConfig.from_settings(settings),
                endpoint=endpoint,
                account=endpoint if sandbox else auth.account,
                journal=journal,
                follower=follower_for(settings, client, socket_url),
                outputs=outputs,
                files=FileAccess(
                    (*settings.file_root_paths, *extra_file_roots), int(settings.max_file_mb * 1_000_000)
                ),
            )
            app = WiroMcp(service, live, per_person=per_person)
            try:
                async with service.writing_behind(), anyio.create_task_group() as tg:
                    tg.start_soon(sync_catalog, live, patterns, settings.tool_patterns, app)
                    yield app
                    tg.cancel_scope.cancel()
            finally:
                await outputs.aclose()
                await journal.aclose()
