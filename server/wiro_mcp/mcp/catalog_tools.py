"""The catalog tools, always offered: find any Wiro model, read its inputs, run it validated.

`run_model` takes the same derived schema as a typed tool would, checked before anything is sent,
and answers exactly as a typed tool does (bounded wait, progress, journal, cancel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mcp_types as types

from wiro_mcp.catalog.choosing import ANYTHING, INPUT_KINDS, ORIENTATIONS, Wanted, price_span
from wiro_mcp.catalog.fields import defaults
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.pricing import Quote, price_line
from wiro_mcp.catalog.reading import inputs_text, prices_text
from wiro_mcp.catalog.rows import ModelRow
from wiro_mcp.catalog.schema import capability_line, chosen_example
from wiro_mcp.catalog.spec import MEDIA
from wiro_mcp.errors import SpecError, WiroError
from wiro_mcp.live_catalog import LiveCatalog, UnknownModel
from wiro_mcp.mcp.results import OUTPUT_SCHEMA, error_result, quoted_result, rejected_result
from wiro_mcp.mcp.tools import LOOK, CheckedTool, Context, RootsLister, run_entry
from wiro_mcp.tasks import Rejected, TaskService

CATALOG_TOOL_NAMES = frozenset({"search_models", "model_info", "run_model"})
MAX_TIERS_SHOWN = 24
MODEL_ARG = {"type": "string", "maxLength": 300, "description": "The model's slug, owner/project."}


def row_json(row: ModelRow, tool: str | None, wanted: Wanted = ANYTHING) -> dict[str, Any]:
    """One search result, as search_models and `wiro-mcp models search --json` give it."""
    offers = row.offers
    data: dict[str, Any] = {
        "model": row.slug,
        "title": row.title,
        "media": row.media,
        "takes": list(offers.inputs),
        "needs": row.needs or None,
        "price": price_line(row.prices, {}),
    }
    for name, values in (
        ("durations", offers.durations),
        ("resolutions", offers.resolutions),
        ("orientations", offers.orientations),
    ):
        if values:
            data[name] = list(values)
    span = price_span(row.prices, wanted)
    if span is not None:
        data["price_usd"] = {"low": round(span[0], 6), "high": round(span[1], 6)}
    if tool:
        data["tool"] = tool
    return data


def row_text(row: dict[str, Any], wanted: Wanted) -> str:
    """`- slug: title · text → video · 5|10 s · 720p|1080p · vertical|horizontal · $0.10-0.45 per run`."""
    takes = "+".join(row["takes"])
    parts = [f"- {row['model']}: {row['title']}", f"{takes} → {row['media']}".lstrip()]
    parts += [
        "|".join(row[k]) + (" s" if k == "durations" else "")
        for k in ("durations", "resolutions", "orientations")
        if k in row
    ]
    if row["needs"]:
        parts.append(f"needs {row['needs']}")
    price = row["price"]
    if "price_usd" in row and wanted != ANYTHING:
        low, high = row["price_usd"]["low"], row["price_usd"]["high"]
        price = f"{Quote(low, high).text()} per run as asked"
    parts.append(price)
    if "tool" in row:
        parts.append(f"typed tool {row['tool']}")
    return " · ".join(parts)


def wanted_of(arguments: dict[str, Any]) -> Wanted:
    duration = arguments.get("duration")
    return Wanted(
        duration=None if duration is None else f"{float(duration):g}",
        resolution=arguments.get("resolution"),
        orientation=arguments.get("orientation"),
    )


class SearchModelsTool(CheckedTool):
    def __init__(self, live: LiveCatalog, offered: Callable[[], dict[str, str]]) -> None:
        self._live = live
        self._offered = offered  # model key → typed tool name, for the models that have one
        self.definition = types.Tool(
            name="search_models",
            title="Search Wiro models",
            description=(
                "Find any Wiro model by words (tts, voiceover, upscale, lip sync… find theirs), category "
                "(text-to-video, image-to-video, text-to-image, text-to-speech, speech-to-text, llm…), input "
                "and output kind, duration, resolution, orientation; sort by price. Each row: slug, what it "
                "takes and makes, durations, resolutions, orientations, its cheapest and dearest price, and its "
                "typed tool if offered. Then model_info for its inputs, and run_model (or the typed tool)."
            ),
            input_schema={
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "maxLength": 200,
                        "description": "Words, e.g. 'kling video'.",
                    },
                    "category": {
                        "type": "string",
                        "maxLength": 100,
                        "description": "e.g. text-to-video: exact.",
                    },
                    "media": {"type": "string", "enum": list(MEDIA), "description": "Output media."},
                    "takes": {"type": "string", "enum": list(INPUT_KINDS), "description": "An input kind."},
                    "duration": {"type": "number", "minimum": 0, "maximum": 3600, "description": "Seconds."},
                    "resolution": {"type": "string", "maxLength": 20, "description": "e.g. 1080p"},
                    "orientation": {"type": "string", "enum": list(ORIENTATIONS)},
                    "sort": {"type": "string", "enum": ["relevance", "price"], "default": "relevance"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                },
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {"total": {"type": "integer"}, "models": {"type": "array"}},
                "required": ["models"],
            },
            annotations=LOOK,
        )

    async def run(self, ctx: Context, arguments: dict[str, Any]) -> types.CallToolResult:
        note = await self._live.ensure_listing()
        offered = self._offered()
        wanted = wanted_of(arguments)
        query = str(arguments.get("query") or "")
        by_price = arguments.get("sort") == "price"
        index = self._live.index

        def search(any_word: bool) -> list[ModelRow]:
            return index.search(
                query,
                category=arguments.get("category"),
                media=arguments.get("media"),
                takes=arguments.get("takes"),
                wanted=wanted,
                by_price=by_price,
                preferred=offered,
                any_word=any_word,
            )

        found = search(False)
        loose = not found and len(query.split()) > 1
        if loose:
            found = search(True)
        limit = int(arguments.get("limit", 10))
        rows = [row_json(r, offered.get(r.key), wanted) for r in found[:limit]]
        order = "cheapest first" if by_price else "best first"
        some = " some of the words" if loose else ""
        lines = [f"{len(found)} model(s) match{some}; showing {len(rows)}, {order}:"]
        lines += [row_text(r, wanted) for r in rows]
        if not found:
            lines.append(
                "None. Try fewer words or filters, or a category: " + ", ".join(index.categories(20)) + "."
            )
        if note:
            lines.append(note)
        data: dict[str, Any] = {"total": len(found), "models": rows}
        if loose and found:
            data["matched"] = "any word"
        if note:
            data["note"] = note
        return types.CallToolResult(
            content=[types.TextContent(text="\n".join(lines))], structured_content=data
        )


def _tiers(entry: CatalogEntry) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", exclude_none=True) for t in entry.spec.prices[:MAX_TIERS_SHOWN]]


def model_details(entry: CatalogEntry, tool: str | None) -> dict[str, Any]:
    spec = entry.spec
    data: dict[str, Any] = {
        "model": spec.slug,
        "title": spec.title,
        "summary": capability_line(spec, entry.rules),
        "description": spec.effective_description,
        "input_schema": entry.input_schema,
        "prices": _tiers(entry),
        "price": price_line(spec.prices, defaults(entry.rules)),
    }
    if entry.constraints:
        data["combinations"] = [f"{c.text()} ({c.why})" if c.why else c.text() for c in entry.constraints]
    example = chosen_example(spec, entry.rules, entry.constraints)
    if example:
        data["example"] = {"model": spec.slug, "arguments": example}
    if tool:
        data["tool"] = tool
    return data


class ModelInfoTool(CheckedTool):
    def __init__(self, live: LiveCatalog, offered: Callable[[], dict[str, str]]) -> None:
        self._live = live
        self._offered = offered
        self.definition = types.Tool(
            name="model_info",
            title="A Wiro model's inputs and prices",
            description=(
                "One Wiro model: the exact input schema run_model checks its arguments against, price tiers, "
                "and an example call."
            ),
            input_schema={
                "type": "object",
                "properties": {"model": MODEL_ARG},
                "required": ["model"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {"model": {"type": "string"}, "input_schema": {"type": "object"}},
                "required": ["model", "input_schema"],
            },
            annotations=LOOK,
        )

    async def run(self, ctx: Context, arguments: dict[str, Any]) -> types.CallToolResult:
        found = await find_entry(self._live, "model_info", str(arguments["model"]))
        if isinstance(found, types.CallToolResult):
            return found
        tool = self._offered().get(found.spec.slug.lower())
        data = model_details(found, tool)
        lines = [
            f"{data['model']}: {data['title']}",
            data["summary"],
            *inputs_text(found.rules),
            *prices_text(found.spec.prices),
        ]
        if "combinations" in data:
            lines.append("Only these together: " + "; ".join(data["combinations"]))
        if "example" in data:
            lines.append(f"Example: run_model {data['example']}")
        if tool:
            lines.append(f"Also offered as the typed tool {tool}.")
        return types.CallToolResult(
            content=[types.TextContent(text="\n".join(lines))], structured_content=data
        )


async def find_entry(live: LiveCatalog, tool: str, model: str) -> CatalogEntry | types.CallToolResult:
    """The model's entry, or an error result that says what to do."""
    try:
        return await live.entry(model)
    except UnknownModel as exc:
        search = "" if "Did you mean" in str(exc) else " Use search_models to find one."
        return error_result(f"{tool}: {exc}{search}")
    except SpecError as exc:
        return error_result(f"{tool}: {exc}")
    except WiroError as exc:
        return error_result(
            f"{tool}: could not read {model!r} from Wiro ({exc}); nothing was run. Try again later."
        )


class RunModelTool(CheckedTool):
    def __init__(self, live: LiveCatalog, service: TaskService, roots: RootsLister) -> None:
        self._live = live
        self._service = service
        self._roots = roots
        self.definition = types.Tool(
            name="run_model",
            title="Run any Wiro model",
            description=(
                "Run any Wiro model by slug (find it with search_models; model_info gives its inputs). "
                "arguments are checked against the model's schema before anything is sent. Starts a paid "
                "task (billed only if it succeeds) and answers like a typed tool: continue a running task "
                "with task_wait; calling again bills a second task."
            ),
            input_schema={
                "type": "object",
                "properties": {
                    "model": MODEL_ARG,
                    "arguments": {"type": "object", "description": "The model's inputs (see model_info)."},
                    "dry_run": {"type": "boolean", "description": "Only validate and quote the price."},
                },
                "required": ["model"],
                "additionalProperties": False,
            },
            # A dry run answers with a quote and no task, so nothing is required here.
            output_schema={**OUTPUT_SCHEMA, "required": []},
            annotations=types.ToolAnnotations(destructive_hint=False),
        )

    async def run(
        self, ctx: Context, arguments: dict[str, Any]
    ) -> types.CallToolResult | types.InputRequiredResult:
        found = await find_entry(self._live, "run_model", str(arguments["model"]))
        if isinstance(found, types.CallToolResult):
            return found
        label = f"run_model ({found.spec.slug})"
        if arguments.get("dry_run"):
            prepared = self._service.prepare(found, dict(arguments.get("arguments") or {}))
            if isinstance(prepared, Rejected):
                return rejected_result(label, prepared)
            return quoted_result(label, prepared)
        return await run_entry(
            self._service, found, dict(arguments.get("arguments") or {}), ctx, self._roots, label
        )
