"""`wiro-mcp models search|show|pull`: the live catalog from the terminal."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from wiro_mcp.catalog.importer import spec_json, with_curation
from wiro_mcp.catalog.load import CatalogEntry, load_spec_file
from wiro_mcp.catalog.pricing import price_line, tier_text
from wiro_mcp.errors import SpecError, WiroError
from wiro_mcp.live_catalog import LiveCatalog, UnknownModel
from wiro_mcp.mcp.catalog_tools import MAX_TIERS_SHOWN, model_details, row_json
from wiro_mcp.runtime import build_app
from wiro_mcp.settings import Settings


@dataclass(frozen=True)
class ModelsOptions:
    words: tuple[str, ...] = ()
    category: str | None = None
    media: str | None = None
    limit: int = 20
    json: bool = False
    into: Path | None = None


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def models(settings: Settings, sandbox: bool, action: str, options: ModelsOptions) -> int:
    # Browsing needs no account: without credentials the sandbox's catalog is shown, and said so.
    offline = sandbox or settings.api_key is None
    if offline and not sandbox:
        _err("wiro-mcp: WIRO_API_KEY is not set: showing the sandbox's catalog.")
    async with build_app(settings, offline) as app:
        offered = app.offered()
        match action:
            case "search":
                return await _search(app.live, offered, options)
            case "show":
                return await _show(app.live, offered, options)
            case "pull":
                return await _pull(app.live, options)
            case _:
                raise AssertionError(action)


async def _search(live: LiveCatalog, offered: dict[str, str], options: ModelsOptions) -> int:
    note = await live.ensure_listing()
    if note:
        _err(f"wiro-mcp: {note}")
    found = live.index.search(" ".join(options.words), category=options.category, media=options.media)
    rows = found[: options.limit]
    if options.json:
        for row in rows:
            print(json.dumps(row_json(row, offered.get(row.key)), ensure_ascii=False))
        return 0
    for row in rows:
        needs = f" · needs {row.needs}" if row.needs else ""
        tool = f" · tool {offered[row.key]}" if row.key in offered else ""
        print(f"{row.slug}  {row.title}\n    → {row.media}{needs} · {price_line(row.prices, {})}{tool}")
    print(
        f"\n{len(found)} model(s) match; {len(rows)} shown. `wiro-mcp models show SLUG` for one model's inputs."
    )
    return 0


async def _entries(live: LiveCatalog, slugs: Sequence[str]) -> AsyncIterator[CatalogEntry | None]:
    """Each named model's entry; None (after saying why on stderr) for one that cannot be had."""
    for slug in slugs:
        try:
            yield await live.entry(slug)
        except UnknownModel as exc:
            search = "" if "Did you mean" in str(exc) else " `wiro-mcp models search WORDS` finds models."
            _err(f"wiro-mcp: {exc}{search}")
            yield None
        except (SpecError, WiroError) as exc:
            _err(f"wiro-mcp: {exc}")
            yield None


async def _show(live: LiveCatalog, offered: dict[str, str], options: ModelsOptions) -> int:
    status = 0
    async for entry in _entries(live, options.words):
        if entry is None:
            status = 2
            continue
        data = model_details(entry, offered.get(entry.spec.slug.lower()))
        if options.json:
            print(json.dumps(data, indent=2, ensure_ascii=False))
            continue
        print(f"{data['model']}: {data['title']}\n  {data['summary']}")
        for name, prop in data["input_schema"]["properties"].items():
            required = "required" if name in data["input_schema"].get("required", []) else "optional"
            allowed = f" one of {', '.join(map(str, prop['enum']))}" if "enum" in prop else ""
            default = f" default {prop['default']!r}" if "default" in prop else ""
            print(f"  - {name} ({prop.get('type')}, {required}){allowed}{default}")
        print(f"  price: {data['price']}")
        for tier in entry.spec.prices[:MAX_TIERS_SHOWN]:
            print(f"    {tier_text(tier)}")
        if "example" in data:
            arguments = data["example"]["arguments"]
            tool = offered.get(entry.spec.slug.lower())
            if tool:
                pairs = " ".join(shlex.quote(f"{k}={v}") for k, v in arguments.items())
                print(f"  example: wiro-mcp call {tool} {pairs}")
            else:
                as_json = shlex.quote(f"arguments={json.dumps(arguments, ensure_ascii=False)}")
                print(f"  example: wiro-mcp call run_model model={entry.spec.slug} {as_json}")
    return status


async def _pull(live: LiveCatalog, options: ModelsOptions) -> int:
    """Write each model's spec from Tool/Detail into DIR, keeping any curation already there."""
    assert options.into is not None
    options.into.mkdir(parents=True, exist_ok=True)
    status = 0
    async for entry in _entries(live, options.words):
        if entry is None:
            status = 2
            continue
        target = options.into / f"{entry.name}.json"
        spec = entry.spec
        if target.exists():
            spec = with_curation(spec, load_spec_file(target).curation)
        target.write_text(spec_json(spec), encoding="utf-8")
        _err(f"wrote {target} ({spec.slug}, {len(spec.inputs)} inputs)")
    return status
