"""What every mainstream client and model API accepts of a tool definition, checked.

Anthropic's API refuses `oneOf`, `allOf` or `anyOf` at the top of an input schema; OpenAI's strict
mode refuses the same and wants an object; several clients drop a tool whose name falls outside
`^[a-zA-Z0-9_-]{1,64}$`. The gate runs these rules over every tool the server lists, with the
bundled catalog and with hundreds of generated models, and so does `scripts/inspector-check`:

    python -m wiro_mcp.mcp.portable < tools-list.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import mcp_types as types

from wiro_mcp.catalog.schema import TOOL_NAME

ROOT_COMBINATORS = ("oneOf", "anyOf", "allOf", "not", "if", "then", "else")


def _schema_problems(kind: str, schema: dict[str, Any] | None) -> list[str]:
    if schema is None:
        return []
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append(f"{kind} schema is not `type: object`")
    problems += [f"{kind} schema has `{k}` at its root" for k in ROOT_COMBINATORS if k in schema]
    return problems


def problems(tool: types.Tool) -> list[str]:
    """Everything about `tool` that a mainstream client or model API would refuse."""
    found: list[str] = []
    if not TOOL_NAME.match(tool.name):
        found.append("its name is not ^[a-zA-Z0-9_-]{1,64}$")
    found += _schema_problems("input", tool.input_schema)
    found += _schema_problems("output", tool.output_schema)
    return [f"{tool.name}: {p}" for p in found]


def all_problems(tools: Iterable[types.Tool]) -> list[str]:
    tools = list(tools)
    names = [t.name for t in tools]
    found = [f"{n}: listed more than once" for n in sorted({n for n in names if names.count(n) > 1})]
    for tool in tools:
        found += problems(tool)
    return found


def main() -> int:
    """Read a tools/list result (JSON, as the Inspector's CLI prints it) on stdin; one line per problem."""
    data = json.load(sys.stdin)
    tools = [types.Tool.model_validate(t) for t in data.get("tools", [])]
    found = all_problems(tools)
    for line in found:
        print(line)
    print(f"{len(tools)} tools, {len(found)} portability problems", file=sys.stderr)
    return 1 if found or not tools else 0


if __name__ == "__main__":
    raise SystemExit(main())
