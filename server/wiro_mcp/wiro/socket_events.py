"""Wiro's socket events, as its WebSocket page documents them: lifecycle statuses with `message: null`;
`task_output` with a `progressGenerate` object or a plain string (either may arrive JSON-encoded as a
string); `task_error`, an interim stderr line, never a failure; `task_end`, before post-processing and
not the end."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from wiro_mcp.jsonish import as_dict
from wiro_mcp.wiro.models import STATUS_ORDER, Task

log = logging.getLogger(__name__)

_STATUSES = frozenset({*STATUS_ORDER, "task_cancel"})


@dataclass(frozen=True)
class SocketEvent:
    kind: str
    message: Any
    token: str = ""  # the task it is about, as Wiro names it in every event
    taskid: str = ""


def parse_event(text: str) -> SocketEvent | None:
    """One socket message, or None for anything that is not a Wiro event."""
    try:
        data = as_dict(json.loads(text))
    except ValueError:
        return None
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    message = data.get("message")
    if isinstance(message, str) and message.lstrip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            message = json.loads(message)  # the JSON-encoded-as-a-string variant
    return SocketEvent(kind, message, _text(data.get("tasktoken")), _text(data.get("id")))


def progress_of(message: Any) -> tuple[float | None, str]:
    """A `progressGenerate` object → (percentage 0-100, `step 6/10, 3s left`)."""
    data = as_dict(message)
    if data.get("type") != "progressGenerate":
        return None, ""
    try:
        percentage = min(max(float(str(data.get("percentage"))), 0.0), 100.0)
    except ValueError:
        percentage = None
    parts: list[str] = []
    if data.get("stepCurrent") and data.get("stepTotal"):
        parts.append(f"step {data['stepCurrent']}/{data['stepTotal']}")
    if data.get("remainingTime"):
        parts.append(f"{data['remainingTime']} left")
    return percentage, ", ".join(parts)


def apply_event(task: Task, event: SocketEvent) -> Task | None:
    """The task as this event leaves it, or None when the event changes nothing we report."""
    if event.kind not in _STATUSES:
        if event.kind == "task_error":
            log.debug("task %s wrote to stderr (an interim log line, not a failure)", task.id or "?")
        return None
    if event.kind == "task_output":
        percentage, note = progress_of(event.message)
        if percentage is None and task.status == "task_output":
            return None  # a log line while generating
        update: dict[str, Any] = {"status": "task_output"}
        if percentage is not None:
            update.update(percentage=percentage, progress_note=note)
        return task.model_copy(update=update)
    if event.kind == task.status:
        return None
    return task.model_copy(update={"status": event.kind, "percentage": None, "progress_note": ""})


def _text(value: Any) -> str:
    return str(value) if isinstance(value, str | int) else ""  # Wiro's ids come as strings or numbers
