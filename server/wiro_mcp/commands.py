"""What each `wiro-mcp` command does, given Settings (read by cli.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from pydantic import SecretStr

from wiro_mcp.catalog.importer import import_any, spec_json, with_curation
from wiro_mcp.catalog.load import load_catalog, load_spec_file
from wiro_mcp.catalog.schema import tool_name
from wiro_mcp.errors import ConfigError, SpecError
from wiro_mcp.journal import Journal
from wiro_mcp.mcp.transports import check_http_bind, run_http, run_stdio, serve_in_background
from wiro_mcp.runtime import build_app, journal_for
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.settings import Settings


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def serve(settings: Settings, sandbox: bool, http: bool) -> None:
    if http:
        check_http_bind(settings.http_host, settings.http_token)  # refuse before starting anything
    async with build_app(settings, sandbox) as app:
        if http:
            await run_http(app.server, settings.http_host, settings.http_port, settings.http_token)
        else:
            await run_stdio(app.server)


async def list_tools(settings: Settings, sandbox: bool, as_json: bool) -> None:
    # Listing needs no account: without credentials the tools are read from a sandboxed server.
    offline = sandbox or settings.api_key is None
    async with build_app(settings, offline) as app, Client(app.server) as client:
        listed = await client.list_tools()
    if as_json:
        print(
            json.dumps(
                [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools], indent=2
            )
        )
        return
    for tool in listed.tools:
        entry = app.catalog.get(tool.name)
        args = ", ".join(
            f"{n}{'*' if n in tool.input_schema.get('required', []) else ''}"
            for n in tool.input_schema.get("properties", {})
        )
        kind = f"model {entry.spec.slug}" if entry else "task tool"
        print(f"{tool.name}  ({kind})\n    {args}")
    print("\n* = required. `wiro-mcp call TOOL key=value ...` calls one.")


class _ProgressBar:
    def __init__(self) -> None:
        self.shown = False

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        width = 30
        filled = int(width * progress / total) if total else 0
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {message or ''}".ljust(90))
        sys.stderr.flush()
        self.shown = True


async def call_tool(settings: Settings, sandbox: bool, tool: str, pairs: Sequence[str], as_json: bool) -> int:
    arguments = parse_pairs(pairs)
    bar = _ProgressBar()
    async with build_app(settings, sandbox) as app, Client(app.server) as client:
        result = await client.call_tool(tool, arguments, progress_callback=bar)
    if bar.shown:
        sys.stderr.write("\n")
    if as_json:
        print(json.dumps(result.structured_content, indent=2))
    for block in result.content:
        if isinstance(block, types.TextContent):
            print(block.text)
        elif isinstance(block, types.ImageContent):
            print(f"(inline preview: {block.mime_type}, {len(block.data) * 3 // 4} bytes)")
    return 1 if result.is_error else 0


async def run_sandbox(
    settings: Settings,
    host: str,
    port: int,
    seconds: float | None,
    api_key: str,
    api_secret: SecretStr | None,
) -> None:
    specs = [e.spec for e in load_catalog(settings.catalog_paths).values()]
    secret = api_secret.get_secret_value() if api_secret else None
    emulator = Emulator(
        specs, api_key=api_key, api_secret=secret, seconds={"*": seconds} if seconds else None
    )
    async with serve_in_background(emulator.app, host, port) as url:
        mode = "signature" if secret else "key-only"
        _err(
            f"Wiro emulator at {url}/v1 ({len(specs)} models, {mode} mode, x-api-key: {api_key}). Ctrl-C stops it."
        )
        await anyio.sleep_forever()


async def journal(settings: Settings, action: str, sandbox: bool) -> int:
    found: Journal | None = journal_for(settings, sandbox)
    if found is None:
        _err("The journal is off (WIRO_MCP_JOURNAL=off).")
        return 1
    if action == "path":
        print(found.path)
    elif action == "clear":
        _err(f"Removed {found.clear()} task(s) from {found.path}.")
    else:
        for entry in await found.recent(limit=100):
            print(json.dumps(entry.as_json()))
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
