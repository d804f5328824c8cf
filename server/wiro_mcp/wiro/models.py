"""Wire models of Wiro's answers (numbers arrive as strings) and the task state they imply."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wiro_mcp.jsonish import as_list

State = Literal["queued", "running", "completed", "failed", "cancelled"]
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
}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class Output(_Wire):
    id: str = ""
    name: str = ""
    contenttype: str = ""
    size: int = 0
    url: str = ""
    content: Any = None

    @field_validator("id", "name", "contenttype", "url", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> str:
        return _text(value)

    @field_validator("size", mode="before")
    @classmethod
    def _as_int(cls, value: Any) -> int:
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


class Task(_Wire):
    id: str = ""
    uuid: str = ""
    socketaccesstoken: str = ""
    status: str = ""
    pexit: str = ""
    debugoutput: str = ""
    debugerror: str = ""
    createtime: str = ""
    starttime: str = ""
    endtime: str = ""
    elapsedseconds: str = ""
    totalcost: str = ""
    modelslugowner: str = ""
    modelslugproject: str = ""
    parameters: Any = None
    outputs: list[Output] = Field(default_factory=list[Output])

    @field_validator(
        "id",
        "uuid",
        "socketaccesstoken",
        "status",
        "pexit",
        "debugoutput",
        "debugerror",
        "createtime",
        "starttime",
        "endtime",
        "elapsedseconds",
        "totalcost",
        "modelslugowner",
        "modelslugproject",
        mode="before",
    )
    @classmethod
    def _as_text(cls, value: Any) -> str:
        return _text(value)

    @field_validator("outputs", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return as_list(value)

    @property
    def state(self) -> State:
        return state_of(self)

    @property
    def elapsed(self) -> float | None:
        return _float(self.elapsedseconds)

    @property
    def cost_usd(self) -> float | None:
        return _float(self.totalcost)

    @property
    def file_outputs(self) -> list[Output]:
        return [o for o in self.outputs if o.url]


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


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


class RunAnswer(_Wire):
    taskid: str
    socketaccesstoken: str = ""

    @field_validator("taskid", "socketaccesstoken", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> str:
        return _text(value)


class UploadedFile(_Wire):
    id: str = ""
    name: str = ""
    contenttype: str = ""
    size: int = 0
    url: str = ""

    @field_validator("id", "name", "contenttype", "url", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> str:
        return _text(value)

    @field_validator("size", mode="before")
    @classmethod
    def _as_int(cls, value: Any) -> int:
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0
