"""The values a tool call passes through: Prepared (checked and quoted, nothing sent), Started (a task
Wiro accepted, or the one an identical call started), TaskReport (what is known of it after a while);
Rejected at any stage before Run, with why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.pricing import UNKNOWN, Quote
from wiro_mcp.catalog.validate import FieldError
from wiro_mcp.outputs import Preview
from wiro_mcp.settings import Settings
from wiro_mcp.wiro.answers import Answer
from wiro_mcp.wiro.models import Task, TaskHandle


def _default(name: str) -> Any:
    """A setting's default, from Settings: defaults live in one place."""
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class ServiceConfig:
    """What the task stages need of the settings (see docs/settings.md for each)."""

    wait_seconds: float = _default("wait_seconds")
    on_cancel: Literal["kill", "detach"] = _default("on_cancel")
    # The same model with the same arguments within this many seconds returns the first task (0: off).
    dedup_seconds: float = _default("dedup_seconds")
    max_cost_usd: float | None = _default("max_cost_usd")  # per call
    # Per budget period, over the journal's spend: each person's, and everyone's together.
    budget_usd: float | None = _default("budget_usd")
    team_budget_usd: float | None = _default("team_budget_usd")
    budget_seconds: float = 86_400.0  # the default period, a day (Settings.budget_seconds)
    confirm_above_usd: float | None = _default("confirm_above_usd")  # ask the human first above this quote
    # Under a cap or a budget, a run whose most it may cost is unknown counts as this much (None: refused).
    unpriced_run_usd: float | None = _default("unpriced_run_usd")
    # Inline image and audio previews also for a client that shows the task viewer (which plays the files).
    preview_beside_viewer: bool = _default("preview_beside_viewer")

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceConfig:
        return cls(
            wait_seconds=settings.wait_seconds,
            on_cancel=settings.on_cancel,
            dedup_seconds=settings.dedup_seconds,
            max_cost_usd=settings.max_cost_usd,
            budget_usd=settings.budget_usd,
            team_budget_usd=settings.team_budget_usd,
            budget_seconds=settings.budget_seconds,
            confirm_above_usd=settings.confirm_above_usd,
            unpriced_run_usd=settings.unpriced_run_usd,
            preview_beside_viewer=settings.preview_beside_viewer,
        )


@dataclass(frozen=True)
class Rejected:
    """Arguments that never reached Wiro, and why."""

    errors: tuple[FieldError, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Prepared:
    """A call checked and quoted, nothing sent yet: the arguments as Wiro will get them."""

    entry: CatalogEntry
    params: dict[str, Any]
    quote: Quote
    filled: tuple[str, ...] = ()  # required inputs left out and given their published defaults

    @property
    def notes(self) -> tuple[str, ...]:
        if not self.filled:
            return ()
        values = ", ".join(f"{name}={self.params[name]!r}" for name in self.filled)
        return (f"Filled in with the model's published defaults: {values}.",)


@dataclass(frozen=True)
class Started:
    """A task Wiro accepted: its handle, what is known of it so far, and anything to tell the agent."""

    handle: TaskHandle
    slug: str
    task: Task | None  # what Run told; None for a task started earlier (a repeated call)
    notes: tuple[str, ...] = ()
    quote: Quote = UNKNOWN
    repeat_age: float | None = None  # a repeated call: how many seconds ago the first one started it

    @property
    def repeated(self) -> bool:
        """The task of an earlier identical call: this call did not start it, so it never stops it."""
        return self.task is None


EarlyPreviews = dict[tuple[str, str], Preview | None]


@dataclass(frozen=True)
class TaskReport:
    """What the server knows of a task after following it for a while."""

    tool: str
    slug: str
    task: Task
    finished: bool
    saved: dict[str, Path] = field(default_factory=dict[str, Path])
    notes: tuple[str, ...] = ()
    sandbox: bool = False  # the built-in emulator's task: nothing is billed, and results say so
    answer: Answer | None = None  # the text a finished task returned (an LLM's answer, a transcript)
    answer_file: Path | None = None  # the whole answer, when it is longer than a result shows
    session: str = ""  # the conversation a chat model's task belongs to (its session_id)
    # Previews made while the last Task/Detail confirmed the end, by (URL, type) as the end event
    # named them; None for one tried in vain. Used by the result if Detail names the same files.
    early_previews: EarlyPreviews = field(default_factory=EarlyPreviews)
