"""Wiro's socket events, as its WebSocket page documents them: lifecycle statuses with `message: null`;
`task_output` with a `progressGenerate` object or a plain string (either may arrive JSON-encoded as a
string), for an LLM an object with the growing `thinking`/`answer` arrays; `task_error`, an interim
stderr line, never a failure; `task_end`, before post-processing and not the end;
`task_postprocess_end`, the end, with the outputs array."""

from __future__ import annotations

import contextlib
import logging
import math
import re
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError

from wiro_mcp.jsonish import as_dict, bounded_loads
from wiro_mcp.wiro.answers import answer_in, is_streamed_answer
from wiro_mcp.wiro.models import STATUS_ORDER, Output, Task

log = logging.getLogger(__name__)

_STATUSES = frozenset({*STATUS_ORDER, "task_cancel", "task_stream_ready", "task_stream_end"})
MAX_ID_CHARS = 200
PARTIAL_ANSWER_CHARS = 160  # the tail of a growing answer that progress shows (a line)
MAX_ANNOUNCED_OUTPUTS = 100


@dataclass(frozen=True)
class SocketEvent:
    kind: str
    message: Any
    token: str = ""  # the task it is about, as Wiro names it in every event
    taskid: str = ""


def parse_event(text: str) -> SocketEvent | None:
    """One socket message, or None for anything that is not a Wiro event (bad JSON, or JSON nested
    deeper than any event: never a RecursionError)."""
    try:
        data = as_dict(bounded_loads(text))
    except ValueError:
        return None
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    message = data.get("message")
    if isinstance(message, str) and message.lstrip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            message = bounded_loads(message)  # the JSON-encoded-as-a-string variant
    return SocketEvent(kind, message, _text(data.get("tasktoken")), _text(data.get("id")))


def announced_outputs(event: SocketEvent) -> list[Output]:
    """The files a `task_postprocess_end` event names, before Task/Detail confirms them (at most
    MAX_ANNOUNCED_OUTPUTS, each with a URL); none for any other event, or a message of another shape."""
    message: Any = event.message
    if event.kind != "task_postprocess_end" or not isinstance(message, list):
        return []
    found: list[Output] = []
    for item in cast(list[Any], message)[:MAX_ANNOUNCED_OUTPUTS]:
        with contextlib.suppress(ValidationError):
            output = Output.model_validate(as_dict(item))
            if output.url:
                found.append(output)
    return found


def progress_of(message: Any) -> tuple[float | None, str]:
    """A `progressGenerate` object → (percentage 0-100, `step 6/10, 3s left`)."""
    data = as_dict(message)
    if data.get("type") != "progressGenerate":
        return None, ""
    try:
        percentage = min(max(float(str(data.get("percentage"))), 0.0), 100.0)
    except ValueError:
        percentage = None
    if percentage is not None and not math.isfinite(percentage):
        percentage = None
    # Only the figures are shown, and briefly: the text reaches the agent with every notification.
    parts: list[str] = []
    step, steps = _figure(data.get("stepCurrent")), _figure(data.get("stepTotal"))
    if step and steps:
        parts.append(f"step {step}/{steps}")
    remaining = _figure(data.get("remainingTime"), _DURATION)
    if remaining:
        parts.append(f"{remaining} left")
    return percentage, ", ".join(parts)


_COUNT = re.compile(r"\d{1,9}(?:\.\d{1,3})?")
_DURATION = re.compile(r"\d{1,9}(?:\.\d{1,3})?(?:ms|s|m|h)?")


def _figure(value: Any, form: re.Pattern[str] = _COUNT) -> str:
    """A short number (`6`, `3.5s`, `12m`) as text, or "" for anything else."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return ""
    text = str(value).strip()[:20]
    return text if form.fullmatch(text) else ""


def apply_event(task: Task, event: SocketEvent) -> Task | None:
    """The task as this event leaves it, or None when the event changes nothing we report."""
    if event.kind not in _STATUSES:
        if event.kind == "task_error":
            log.debug("task %s wrote to stderr (an interim log line, not a failure)", task.id or "?")
        return None
    if event.kind == "task_output" and is_streamed_answer(event.message):
        return _answering(task, event.message)
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


def _answering(task: Task, message: Any) -> Task | None:
    """An LLM's growing answer: its last words (one line), and whether it is still thinking."""
    so_far = answer_in(message)
    flat = " ".join(so_far.text.split())
    tail = flat if len(flat) <= PARTIAL_ANSWER_CHARS else "…" + flat[-PARTIAL_ANSWER_CHARS:]
    thinking = as_dict(message).get("isThinking") is True or (not flat and bool(so_far.thinking))
    if task.status == "task_output" and (tail, thinking) == (task.partial_answer, task.thinking_now):
        return None
    return task.model_copy(update={"status": "task_output", "partial_answer": tail, "thinking_now": thinking})


def _text(value: Any) -> str:
    """Wiro's ids come as strings or numbers; anything longer than an id is none."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return text if len(text) <= MAX_ID_CHARS else ""
