"""What each `wiro-mcp` command does, given Settings (read by cli.py)."""

from __future__ import annotations

import gc
import json
import shlex
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp import Client
from pydantic import SecretStr

from wiro_mcp.catalog.importer import import_any, spec_json, with_curation
from wiro_mcp.catalog.load import load_catalog, load_spec_file
from wiro_mcp.catalog.schema import tool_name
from wiro_mcp.catalog.validate import suggest
from wiro_mcp.errors import ConfigError, SpecError
from wiro_mcp.journal import Query, TaskJournal, open_journal, shown_url
from wiro_mcp.jsonish import as_dict
from wiro_mcp.mcp.app import WiroMcp
from wiro_mcp.mcp.catalog_tools import CATALOG_TOOL_NAMES
from wiro_mcp.mcp.hosting import OAuthResource, Readiness
from wiro_mcp.mcp.transports import (
    HttpOptions,
    SessionLimits,
    check_http_bind,
    run_http,
    run_stdio,
    serve_in_background,
)
from wiro_mcp.runtime import build_app, journal_path
from wiro_mcp.settings import Settings
from wiro_mcp.tasks import STOP_SECONDS, TaskService
from wiro_mcp.terminal import ProgressDisplay, TerminalConfirmation, describe_tool, journal_table, width_of


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


STDIO_ON_A_TERMINAL = """\
wiro-mcp is serving MCP over stdio: it waits for an MCP client (Claude Desktop, Cursor, VS Code…)
to speak on stdin, so nothing happens here. To try it by hand:
  wiro-mcp call reve_generate prompt="a koala" --sandbox     one call, with progress
  wiro-mcp tools                                              what an agent sees
  wiro-mcp --help                                             everything else
Ctrl-C stops it."""


# Objects allocated between collections of the youngest generation (Python's default: 700).
GC_YOUNG_THRESHOLD = 10_000


def settle_garbage_collection() -> None:
    """For a long-lived server: what start-up made (modules, the catalog) lives as long as the
    process, so collections stop scanning it (gc.freeze); and with hundreds of calls in flight the
    young generation fills with objects still in use, so it is collected less often. Measured by
    bench/server_load.py: CPU per call 18.6 → 15.8 ms (2 runs each), the completion lag 3.8 → 2.8 s.
    No collection first: it would delay serving, and start-up's garbage without cycles is gone already."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)


def oauth_resource(settings: Settings) -> OAuthResource | None:
    if not settings.oauth:
        return None
    if not (settings.oauth_issuer and settings.public_url):
        raise ConfigError("OAuth needs both WIRO_MCP_OAUTH_ISSUER and WIRO_MCP_PUBLIC_URL")
    return OAuthResource(settings.oauth_issuer, settings.public_url)


async def serve(settings: Settings, sandbox: bool, http: bool) -> None:
    oauth = oauth_resource(settings) if http else None
    if http:  # refuse before starting anything
        check_http_bind(settings.http_host, settings.http_token, oauth is not None)
    async with build_app(settings, sandbox, per_person=oauth is not None) as app:
        settle_garbage_collection()
        if http:
            options = HttpOptions(
                host=settings.http_host,
                port=settings.http_port,
                token=settings.http_token,
                oauth=oauth,
                allowed_hosts=settings.allowed_host_names,
                sessions=SessionLimits(settings.http_max_sessions, settings.http_session_idle_seconds),
                ready=Readiness(app.journal_problem),
                drain_seconds=settings.http_drain_seconds,
                busy=lambda: app.calls_in_flight > 0,
            )
            await run_http(app.server, options)
        else:
            if sys.stdin.isatty():  # a person, not an MCP client, started it
                _err(STDIO_ON_A_TERMINAL)
            await run_stdio(app.server, app.service.idle)


SYNC_WAIT_SECONDS = 30.0


async def catalog_known(app: WiroMcp) -> None:
    """Wait (a bounded while) for the start-up catalog sync: the prices and the selected models an
    agent would see by then."""
    with anyio.move_on_after(SYNC_WAIT_SECONDS):
        await app.synced.wait()


def unknown_tool(name: str, names: Sequence[str]) -> str:
    hint = suggest(name, list(names))
    did_you_mean = f"; did you mean {' or '.join(hint)}?" if hint else ""
    return f"wiro-mcp: no tool {name!r}{did_you_mean} (`wiro-mcp tools` lists them)"


async def call_until_interrupted(
    client: Client, tool: str, arguments: dict[str, Any], progress: ProgressDisplay
) -> types.CallToolResult | None:
    """The call's result, or None when Ctrl-C cancelled it (the server then stops its task)."""
    result: types.CallToolResult | None = None
    async with anyio.create_task_group() as tg:

        async def on_interrupt() -> None:
            with anyio.open_signal_receiver(signal.SIGINT) as signals:
                async for _ in signals:
                    call.cancel()
                    return

        tg.start_soon(on_interrupt)
        with anyio.CancelScope() as call:
            result = await client.call_tool(tool, arguments, progress_callback=progress)
        tg.cancel_scope.cancel()
    return result


async def interrupted(service: TaskService, sandbox: bool) -> str:
    """What became of the task of a call cut short by Ctrl-C, once the server has stopped it."""
    # The server hears of the cancel at once; stopping the task takes at most STOP_SECONDS.
    with anyio.move_on_after(1.0):
        while not service.cancelled:  # noqa: ASYNC110  (the service's state, read from outside)
            await anyio.sleep(0.02)
    with anyio.move_on_after(STOP_SECONDS + 1):
        while not service.idle():  # noqa: ASYNC110
            await anyio.sleep(0.02)
    if not service.cancelled:
        return "wiro-mcp: interrupted; no task had been started."
    lines: list[str] = []
    for label, how in service.cancelled.items():
        if how == "stopped":
            cost = "the sandbox bills nothing" if sandbox else "not billed: Wiro bills only successful runs"
            lines.append(f"wiro-mcp: interrupted; task {label} stopped ({cost}).")
        else:
            lines.append(
                f"wiro-mcp: interrupted; task {label} {how}. `wiro-mcp call task_kill taskid={label}` stops it."
            )
    return "\n".join(lines)


async def list_tools(settings: Settings, sandbox: bool, name: str | None, as_json: bool) -> int:
    # Listing needs no account: without credentials the tools are read from a sandboxed server.
    offline = sandbox or settings.api_key is None
    async with build_app(settings, offline) as app, Client(app.server) as client:
        await catalog_known(app)
        listed = await client.list_tools()
    tools = listed.tools
    if name is not None:
        tools = [t for t in tools if t.name == name]
        if not tools:
            _err(unknown_tool(name, [t.name for t in listed.tools]))
            return 2
    if as_json:
        print(
            json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools], indent=2)
        )
        return 0
    if name is not None:
        entry = app.service.offered.get(name)
        print(describe_tool(tools[0], f"model {entry.spec.slug}" if entry else "task tool"))
        return 0
    for tool in tools:
        entry = app.service.offered.get(tool.name)
        args = ", ".join(
            f"{n}{'*' if n in tool.input_schema.get('required', []) else ''}"
            for n in tool.input_schema.get("properties", {})
        )
        kind = (
            f"model {entry.spec.slug}"
            if entry
            else "catalog tool"
            if tool.name in CATALOG_TOOL_NAMES
            else "task tool"
        )
        print(f"{tool.name}  ({kind})\n    {args}")
    print(
        "\n* = required. `wiro-mcp tools NAME` shows one tool in full; `wiro-mcp call TOOL key=value ...` calls one."
    )
    return 0


async def call_tool(
    settings: Settings,
    sandbox: bool,
    tool: str,
    pairs: Sequence[str],
    as_json: bool,
    dry_run: bool = False,
    yes: bool = False,
) -> int:
    arguments = parse_pairs(pairs)
    progress = ProgressDisplay()
    confirmation = TerminalConfirmation(yes)
    # The person at the terminal may name files under the current directory.
    async with (
        build_app(settings, sandbox, extra_file_roots=(Path.cwd(),)) as app,
        Client(app.server, elicitation_callback=confirmation if confirmation.available() else None) as client,
    ):
        if dry_run:  # a typed tool's model, through run_model's dry run: validated and quoted, nothing sent
            entry = app.service.offered.get(tool)
            model = entry.spec.slug if entry else str(arguments.pop("model", tool))
            if tool == "run_model":
                arguments = dict(arguments.get("arguments") or {})
            arguments = {"model": model, "arguments": arguments, "dry_run": True}
            tool = "run_model"
        await catalog_known(app)
        names = [t.name for t in (await client.list_tools()).tools]
        if tool not in names:
            _err(unknown_tool(tool, names))
            return 2
        try:
            result = await call_until_interrupted(client, tool, arguments, progress)
        finally:
            progress.finish()
        if result is None:  # Ctrl-C: the call was cancelled, and so was its task
            _err(await interrupted(app.service, sandbox))
            return 130
    text = "\n".join(b.text for b in result.content if isinstance(b, types.TextContent))
    if result.is_error and "WIRO_MCP_CONFIRM_ABOVE_USD" in text and not confirmation.available():
        _err("No terminal to ask on: add --yes to start it anyway.")
    previews = [b for b in result.content if isinstance(b, types.ImageContent | types.AudioContent)]
    if as_json:
        document = result.structured_content or {"error": text}
        print(json.dumps({**document, "is_error": bool(result.is_error)}, indent=2))
        if result.is_error:
            _err(text)  # the reason, for the person; stdout stays one JSON document
        return 1 if result.is_error else 0
    print(text)
    for preview in previews:
        print(f"(inline preview: {preview.mime_type}, {len(preview.data) * 3 // 4} bytes)")
    follow_up = as_dict(as_dict(result.structured_content).get("next"))
    if follow_up:  # the result names an MCP tool; a person at a terminal types a command
        arguments = " ".join(
            shlex.quote(f"{k}={v if isinstance(v, str) else json.dumps(v)}")
            for k, v in as_dict(follow_up.get("arguments")).items()
        )
        named = str(follow_up.get("tool") or "")
        why = "To keep waiting" if named == "task_wait" else "To continue (add the next prompt)"
        _err(f"{why}: wiro-mcp call {named} {arguments}")
    return 1 if result.is_error else 0


async def run_sandbox(
    settings: Settings,
    host: str,
    port: int,
    seconds: float | None,
    api_key: str,
    api_secret: SecretStr | None,
    extra_models: int = 0,
    shared_sockets: bool = False,
    latency: float = 0.0,
) -> None:
    from wiro_mcp.sandbox.app import Emulator  # the emulator's code loads only where it runs
    from wiro_mcp.sandbox.distance import far_away

    specs = [e.spec for e in load_catalog(settings.catalog_paths).values()]
    secret = api_secret.get_secret_value() if api_secret else None
    emulator = Emulator(
        specs,
        api_key=api_key,
        api_secret=secret,
        seconds={"*": seconds} if seconds else None,
        extra_models=extra_models,
        shared_sockets=shared_sockets,
    )
    async with serve_in_background(far_away(emulator.app, latency), host, port, log_errors=True) as url:
        mode = "signature" if secret else "key-only"
        late = f", answers {latency:g} s late" if latency else ""
        _err(
            f"Wiro emulator at {url}/v1, its socket at {url.replace('http://', 'ws://', 1)}/v1 "
            f"({len(emulator.state.models)} models, {mode} mode{late}, x-api-key: {api_key}). Ctrl-C stops it."
        )
        await anyio.sleep_forever()


@dataclass(frozen=True)
class JournalOptions:
    json: bool = False
    state: str | None = None
    tool: str | None = None
    since: float | None = None
    limit: int = 50
    yes: bool = False


async def journal(settings: Settings, action: str, sandbox: bool, options: JournalOptions) -> int:
    path = journal_path(settings, sandbox)
    if path is None:
        _err("The journal is off (WIRO_MCP_JOURNAL=off).")
        return 1
    if action == "path":
        print(path if isinstance(path, Path) else shown_url(path))
        return 0
    if isinstance(path, Path) and not path.exists():
        _err(f"No journal yet at {path}: no task has been started.")
        return 0
    found = await open_journal(path)
    try:
        return await _journal_action(found, action, options)
    finally:
        await found.aclose()


async def _journal_action(found: TaskJournal, action: str, options: JournalOptions) -> int:
    path = found.where
    if action == "clear":
        count = await found.count()
        if not options.yes:
            if not sys.stdin.isatty():
                _err(f"journal clear: this removes {count} task(s) from {path}; add --yes to confirm.")
                return 1
            answer = await anyio.to_thread.run_sync(input, f"Remove {count} task(s) from {path}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                _err("Nothing removed.")
                return 1
        _err(f"Removed {await found.clear()} task(s) from {path}.")
        return 0
    query = Query(tool=options.tool, state=options.state, since=options.since, limit=options.limit)
    entries = await found.recent(query)
    if options.json:
        for entry in entries:
            print(json.dumps(entry.as_json()))
    elif entries:
        print(journal_table(entries, width_of(sys.stdout)))
    else:
        _err(f"No tasks match in {path}.")
    return 0


def import_pages(pages: Sequence[Path], into: Path | None) -> int:
    for page in pages:
        try:
            text = page.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"{page}: cannot read ({exc.strerror})") from None
        spec = import_any(text, str(page))
        if into is None:
            sys.stdout.write(spec_json(spec))
            continue
        into.mkdir(parents=True, exist_ok=True)
        target = into / f"{tool_name(spec.owner, spec.project)}.json"
        kept = ""
        if target.exists():
            spec = with_curation(spec, load_spec_file(target).curation)  # hand curation survives re-imports
            kept = " (curation kept)"
        target.write_text(spec_json(spec), encoding="utf-8")
        _err(f"{page} -> {target}{kept}")
    return 0


def parse_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` words → arguments; a value that parses as JSON (5, true, "x") is taken as JSON."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"argument {pair!r} is not key=value")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out
