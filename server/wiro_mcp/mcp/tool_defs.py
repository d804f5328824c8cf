"""The tool list: one tool per catalog model, plus the task tools."""

from __future__ import annotations

from typing import Any

import mcp_types as types

from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.mcp.results import OUTPUT_SCHEMA

TASK_STATES = ["queued", "running", "completed", "failed", "cancelled", "unknown"]

_TASK_IDS: dict[str, Any] = {
    "taskid": {"type": "string", "description": "Wiro's task id, as returned by a model tool."},
    "tasktoken": {
        "type": "string",
        "description": "The task's token (socketaccesstoken), if you have it instead.",
    },
}


def _ids_schema(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**_TASK_IDS, **(extra or {})},
        "additionalProperties": False,
        "anyOf": [{"required": ["taskid"]}, {"required": ["tasktoken"]}],
    }


def model_tool(entry: CatalogEntry) -> types.Tool:
    return types.Tool(
        name=entry.name,
        title=entry.spec.title,
        description=entry.description,
        input_schema=entry.input_schema,
        output_schema=OUTPUT_SCHEMA,
        annotations=types.ToolAnnotations(
            title=entry.spec.title,
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        ),
    )


def _handle_tool(
    name: str,
    title: str,
    description: str,
    annotations: types.ToolAnnotations,
    extra: dict[str, Any] | None = None,
) -> types.Tool:
    """A task tool that takes a task handle and answers like a model tool."""
    return types.Tool(
        name=name,
        title=title,
        description=description,
        input_schema=_ids_schema(extra),
        output_schema=OUTPUT_SCHEMA,
        annotations=annotations,
    )


def task_tools(max_wait: float) -> list[types.Tool]:
    look = types.ToolAnnotations(read_only_hint=True, open_world_hint=True, idempotent_hint=True)
    stop = types.ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
    )
    wait_arg = {
        "wait_seconds": {
            "type": "number",
            "minimum": 0,
            "maximum": max_wait,
            "description": f"How long to wait this time (default and most: {max_wait:g} s).",
        }
    }
    return [
        _handle_tool(
            "task_status",
            "Task status",
            "One look at a Wiro task: its state, status, outputs, cost. Does not wait.",
            look,
        ),
        _handle_tool(
            "task_wait",
            "Wait for a task",
            "Keep waiting for a Wiro task started earlier (by a model tool, even in another conversation "
            "or before a restart), with progress, up to a bounded wait. Returns the outputs when it ends, "
            "or the handle again if it is still running. Never starts or bills a new task.",
            look,
            wait_arg,
        ),
        _handle_tool(
            "task_kill",
            "Kill a running task",
            "Stop a running Wiro task. Destructive: its work so far is lost.",
            stop,
        ),
        _handle_tool(
            "task_cancel",
            "Cancel a queued task",
            "Take a Wiro task out of the queue before it starts. Destructive. For a running task use task_kill.",
            stop,
        ),
        types.Tool(
            name="task_list",
            title="Recent tasks",
            description=(
                "Recent tasks this server started, from its local journal (survives restarts): use it to find "
                "a task to resume with task_wait. State 'unknown' means Run's answer was lost: Wiro may have "
                "started that task."
            ),
            input_schema={
                "type": "object",
                "properties": {
                    "tool": {"type": "string", "description": "Only tasks of this model tool."},
                    "state": {"type": "string", "enum": TASK_STATES},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                },
                "additionalProperties": False,
            },
            annotations=look,
        ),
    ]
