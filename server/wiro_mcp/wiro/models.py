"""Wire models of Wiro's answers (numbers arrive as strings) and the task state they imply."""

from __future__ import annotations

import math
import mimetypes
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from wiro_mcp.jsonish import as_list
from wiro_mcp.wiro.answers import Answer, task_answer

State = Literal["queued", "running", "completed", "failed", "cancelled"]
STATES: tuple[State, ...] = ("queued", "running", "completed", "failed", "cancelled")
TERMINAL_STATES: frozenset[State] = frozenset({"completed", "failed", "cancelled"})

# Wiro's statuses in the order a task passes them.
STATUS_ORDER: tuple[str, ...] = (
    "task_queue",
    "task_accept",
    "task_preprocess_start",
    "task_preprocess_end",
    "task_assign",
    "task_start",
    "task_output",
    "task_output_full",
    "task_end",
    "task_postprocess_start",
    "task_postprocess_end",
)
QUEUED_STATUSES = frozenset({"task_queue", "task_accept"})
# Statuses after which a task changes no more (Kill and Cancel are refused then).
TERMINAL_STATUSES = frozenset({"task_postprocess_end", "task_cancel"})
STATUS_WORDS: dict[str, str] = {
    "task_queue": "waiting in Wiro's queue",
    "task_accept": "accepted",
    "task_preprocess_start": "preparing inputs",
    "task_preprocess_end": "inputs ready",
    "task_assign": "assigned to a worker",
    "task_start": "generating",
    "task_output": "generating",
    "task_output_full": "output complete",
    "task_end": "finishing",
    "task_postprocess_start": "post-processing",
    "task_postprocess_end": "done",
    "task_cancel": "cancelled",
    "task_error": "error reported",
    "task_error_full": "error reported",
    # Realtime models only (tasks.md): waiting for a live audio channel, and its end.
    "task_stream_ready": "waiting for live audio",
    "task_stream_end": "live session ended",
}
# What a file is, by its extension, when Wiro says nothing usable (3D files come as octet streams).
_TYPES_BY_EXTENSION = {
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".obj": "model/obj",
    ".stl": "model/stl",
    ".ply": "model/ply",
    ".fbx": "model/fbx",
    ".usdz": "model/vnd.usdz+zip",
    ".3mf": "model/3mf",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/opus",
    ".webm": "video/webm",
    ".md": "text/markdown",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
}
_VAGUE_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "file"})


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _count(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


# Wiro sends numbers and ids as strings, sometimes null: these read either.
WireText = Annotated[str, BeforeValidator(_text)]
WireCount = Annotated[int, BeforeValidator(_count)]


class Output(_Wire):
    """An output file of a task (also the shape of a File/Upload list item)."""

    id: WireText = ""
    name: WireText = ""
    contenttype: WireText = ""
    size: WireCount = 0
    url: WireText = ""
    content: Any = None

    @property
    def mime(self) -> str:
        """The file's type: Wiro's when it names one, else read from the extension of its name or URL."""
        said = self.contenttype.strip().lower()
        if said not in _VAGUE_TYPES and "/" in said:
            return said
        name = (self.name or self.url.split("?", 1)[0]).lower()
        extension = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        return (
            _TYPES_BY_EXTENSION.get(extension) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        )


class Task(_Wire):
    id: WireText = ""
    uuid: WireText = ""
    socketaccesstoken: WireText = ""
    status: WireText = ""
    pexit: WireText = ""
    debugoutput: WireText = ""
    debugerror: WireText = ""
    createtime: WireText = ""
    starttime: WireText = ""
    endtime: WireText = ""
    elapsedseconds: WireText = ""
    totalcost: WireText = ""
    modelslugowner: WireText = ""
    modelslugproject: WireText = ""
    parameters: Any = None
    outputs: Annotated[list[Output], BeforeValidator(as_list)] = Field(default_factory=list[Output])
    # Not in Task/Detail: what Wiro's socket says of a running generation (0-100, and in words).
    percentage: float | None = None
    progress_note: str = ""
    # Not in Task/Detail either: an LLM's answer so far, as its socket streams it (the last line).
    partial_answer: str = ""
    thinking_now: bool = False

    @property
    def state(self) -> State:
        return state_of(self)

    @property
    def elapsed(self) -> float | None:
        return _float(self.elapsedseconds)

    @property
    def cost_usd(self) -> float | None:
        """What Wiro billed; None when it says nothing usable (a negative, NaN or infinite cost is never
        credited: the budget then counts the quote)."""
        return _float(self.totalcost)

    @property
    def file_outputs(self) -> list[Output]:
        return [o for o in self.outputs if o.url]

    @property
    def answer(self) -> Answer | None:
        """The text a finished task returned (an LLM's answer, a transcript), if any."""
        if self.state != "completed":
            return None
        return task_answer(self.outputs, self.debugoutput, bool(self.file_outputs))


def _float(text: str) -> float | None:
    """A finite, non-negative figure; anything else (negative, NaN, infinite, not a number) is none."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _started(task: Task) -> bool:
    return task.starttime not in ("", "0")


def state_of(task: Task) -> State:
    """Exhaustive over Wiro's statuses; an unknown status counts as running (never as finished)."""
    status = task.status
    if status == "task_postprocess_end":
        if task.pexit == "0" or (task.pexit == "" and not task.debugerror and task.outputs):
            return "completed"
        return "failed"
    if status == "task_cancel":
        return "cancelled"
    if status in ("task_error", "task_error_full") and not _started(task) and task.debugerror:
        # Detail answering task_error for a task that never started: it failed before execution.
        return "failed"
    if status in QUEUED_STATUSES or status == "":
        return "queued"
    return "running"


@dataclass(frozen=True)
class TaskHandle:
    """What identifies one task: Wiro's id and token, and the Wiro endpoint it lives on (tasks of
    different endpoints, e.g. the sandbox and the real API, never mix)."""

    taskid: str
    token: str
    endpoint: str

    @property
    def label(self) -> str:
        return self.taskid or f"token {self.token[:6]}…"

    @property
    def ids(self) -> dict[str, str | None]:
        """The handle as Wiro's task endpoints take it (an id left out as None)."""
        return {"taskid": self.taskid or None, "tasktoken": self.token or None}


class RunAnswer(_Wire):
    taskid: WireText
    socketaccesstoken: WireText = ""
