"""What the one-shot commands show a person: progress, one tool's arguments, the journal as a table."""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

import anyio.to_thread
import mcp_types as types

from wiro_mcp.journal import JournalEntry


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class TerminalConfirmation:
    """The person at the terminal answers the server's "start this paid run?" (MCP elicitation):
    yes in advance with --yes, else on the terminal. Without a terminal there is no one to ask, so
    no callback is given and the server refuses, as it would for any client that cannot ask."""

    def __init__(self, yes: bool, stream: TextIO | None = None) -> None:
        self.yes = yes
        self.stream = stream or sys.stderr

    def available(self) -> bool:
        return self.yes or (sys.stdin.isatty() and self.stream.isatty())

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        if isinstance(params, types.ElicitRequestURLParams):
            return types.ElicitResult(action="decline")
        if self.yes:
            return types.ElicitResult(action="accept", content={"confirm": True})
        self.stream.write(f"\n{params.message}\nStart it? [y/N] ")
        self.stream.flush()
        reply = await anyio.to_thread.run_sync(sys.stdin.readline)
        if reply.strip().lower() in ("y", "yes"):
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action="decline")


class ProgressDisplay:
    """A live bar on a terminal; elsewhere (a pipe, a log file) one plain line per status change."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.shown = False
        self._last = ""

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        text = message or ""
        if self.live:
            width = 30
            filled = int(width * progress / total) if total else 0
            line = f"[{'#' * filled}{'.' * (width - filled)}] {text}"
            # Cut to the terminal's width (a wrapped line cannot be redrawn in place) and erase to the end
            # of the line, so a shorter message leaves nothing of a longer one.
            columns = width_of(self.stream) or 80
            self.stream.write(f"\r{line[: max(columns - 1, 20)]}\x1b[K")
            self.shown = True
        elif text != self._last:
            self.stream.write(f"{text}\n")
        self._last = text
        self.stream.flush()

    def finish(self) -> None:
        if self.live and self.shown:
            self.stream.write("\n")
            self.stream.flush()


def width_of(stream: TextIO) -> int | None:
    """The width of the terminal `stream` writes to (the bar goes to stderr, which may be the terminal
    while stdout is a pipe), or None when it is no terminal."""
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else None
    except (OSError, ValueError, AttributeError):
        return None


def describe_tool(tool: types.Tool, kind: str) -> str:
    """Every argument with its type, allowed values, default, whether it is required, and its help."""
    schema = tool.input_schema
    required = set(schema.get("required", []))
    lines = [f"{tool.name}  ({kind})", ""]
    lines += [f"  {line}" for line in (tool.description or "").splitlines()]
    lines += ["", "arguments:"]
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    for name, prop in properties.items():
        need = "required" if name in required else "optional"
        lines.append(f"  {name}  ({prop.get('type', 'any')}, {need})")
        if "enum" in prop:
            shown = ", ".join(repr(v) for v in prop["enum"])
            lines.append(f"      allowed: {shown}")
        bounds = [
            f"{word} {prop[key]:g}" for key, word in (("minimum", "min"), ("maximum", "max")) if key in prop
        ]
        if bounds:
            lines.append(f"      range: {', '.join(bounds)}")
        if "default" in prop:
            lines.append(f"      default: {prop['default']!r}")
        if prop.get("description"):
            lines.append(f"      {prop['description']}")
    if not properties:
        lines.append("  (none)")
    examples: list[dict[str, Any]] = schema.get("examples") or []
    if examples:
        pairs = " ".join(f"{k}={v!r}" if " " in str(v) else f"{k}={v}" for k, v in examples[0].items())
        lines += ["", f"example:  wiro-mcp call {tool.name} {pairs}"]
    return "\n".join(lines)


def journal_table(entries: list[JournalEntry], width: int | None = None) -> str:
    """Newest first: when, tool, task id, state, cost, outputs; within `width` columns when given
    (the tool column gives way first)."""
    header = ("CREATED", "TOOL", "TASKID", "STATE", "COST", "OUTPUTS")
    rows: list[tuple[str, ...]] = [header]
    for e in entries:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.created))
        cost = f"${e.cost_usd:.4f}" if e.cost_usd is not None else "-"
        rows.append((created, e.tool or e.slug, e.taskid or "(none)", e.state, cost, str(len(e.outputs))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    over = sum(widths) + 2 * (len(widths) - 1) - (width or 10**6)
    if over > 0:
        widths[1] = max(widths[1] - over, 8)
        rows = [(*r[:1], _cut(r[1], widths[1]), *r[2:]) for r in rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
