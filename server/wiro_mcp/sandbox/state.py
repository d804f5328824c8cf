"""The emulator's memory: tasks on a timeline, injected faults, and the log of requests received.
Each is bounded, so a long-lived sandbox does not grow without end: the oldest tasks, logged
requests and files go first (a file then answers 404, as an expired output URL on Wiro does)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from wiro_mcp.catalog.spec import ModelSpec
from wiro_mcp.sandbox.answers import Kind, kind_of
from wiro_mcp.sandbox.prices import billed
from wiro_mcp.wiro.models import STATUS_ORDER

# Where in a task's duration each status begins (fractions of the whole).
STATUS_STARTS: tuple[tuple[float, str], ...] = (
    (0.00, "task_queue"),
    (0.10, "task_accept"),
    (0.15, "task_preprocess_start"),
    (0.20, "task_preprocess_end"),
    (0.25, "task_assign"),
    (0.30, "task_start"),
    (0.35, "task_output"),
    (0.80, "task_output_full"),
    (0.85, "task_end"),
    (0.90, "task_postprocess_start"),
)
assert tuple(s for _, s in STATUS_STARTS) == STATUS_ORDER[:-1]

DEFAULT_SECONDS = {"image": 3.0, "video": 6.0, "audio": 3.0, "text": 1.0, "3d": 4.0}
LIVE_FROM = 0.30  # a realtime task waits for live audio from here on (task_stream_ready), never ending

FaultKind = Literal["http", "wiro", "slow", "drop"]


@dataclass(frozen=True)
class Fault:
    """One injected behaviour, used up by one request to its endpoint.

    http: answer HTTP `status` (with Retry-After when given); wiro: `result:false` with `code` and
    `message`; slow: wait `seconds` first, then answer normally; drop: handle the request, then
    break the connection before the answer is complete.
    """

    kind: FaultKind
    status: int = 500
    retry_after: float | None = None
    code: int = 0
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class LoggedRequest:
    endpoint: str
    body: dict[str, Any]
    files: dict[str, bytes]
    signed: bool
    time: float


@dataclass
class RunPlan:
    seconds: float | None = None
    fail: str | None = None
    live: bool = False  # behave as a realtime model (wait for live audio), whatever the spec says


@dataclass
class SandboxTask:
    id: str
    uuid: str
    token: str
    spec: ModelSpec
    params: dict[str, Any]
    started: float  # monotonic
    created_epoch: int
    seconds: float
    fail: str | None
    files_root: str  # where its output files are served: the host its Run was sent to
    stopped_at: float | None = None
    cost: float = 0.0  # what a successful run bills, fixed when it starts
    outputs: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    turn: int = 1  # for an LLM: which turn of its conversation (session_id) this is
    live: bool = False  # planned to behave as a realtime model

    @property
    def kind(self) -> Kind:
        return "realtime" if self.live else kind_of(self.spec)

    def elapsed(self, now: float) -> float:
        return (self.stopped_at if self.stopped_at is not None else now) - self.started

    def status(self, now: float) -> str:
        if self.stopped_at is not None:
            return "task_cancel"
        fraction = (now - self.started) / self.seconds if self.seconds > 0 else 1.0
        if self.kind == "realtime" and fraction >= LIVE_FROM:
            return "task_stream_ready"
        if fraction >= 1.0:
            return "task_postprocess_end"
        current = "task_queue"
        for start, status in STATUS_STARTS:
            if fraction >= start:
                current = status
        return current


MAX_TASKS = 20_000
MAX_LOGGED = 20_000
MAX_FILE_BYTES = 256_000_000  # output and uploaded files together (an image task's is about 200 KB)


class FileStore:
    """Files served under /files/, by key, the oldest dropped once all of them pass `max_bytes`."""

    def __init__(self, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._files: dict[str, tuple[str, bytes]] = {}
        self._bytes = 0
        self.stored = 0  # files ever stored: a key that never repeats

    def put(self, key: str, contenttype: str, data: bytes) -> None:
        self._drop(key)
        self._files[key] = (contenttype, data)
        self._bytes += len(data)
        self.stored += 1
        while self._bytes > self.max_bytes and len(self._files) > 1:
            self._drop(next(iter(self._files)))

    def get(self, key: str) -> tuple[str, bytes] | None:
        return self._files.get(key)

    def _drop(self, key: str) -> None:
        old = self._files.pop(key, None)
        if old is not None:
            self._bytes -= len(old[1])


class SandboxState:
    def __init__(self, specs: list[ModelSpec], seconds: dict[str, float] | None = None) -> None:
        self.models = {spec.slug.lower(): spec for spec in specs}
        self.seconds = dict(seconds or {})
        self.tasks: dict[str, SandboxTask] = {}
        self._by_token: dict[str, SandboxTask] = {}  # the socket registers by token: no scan per task
        self.files = FileStore()
        self.log: deque[LoggedRequest] = deque(maxlen=MAX_LOGGED)
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.plans: deque[RunPlan] = deque()
        self.turns: dict[str, int] = defaultdict(int)  # LLM conversations: session_id → turns so far
        self._last_id = 0

    # ----- test and control surface
    def inject(self, endpoint: str, *faults: Fault) -> None:
        self.faults[endpoint].extend(faults)

    def plan_next_run(
        self, seconds: float | None = None, fail: str | None = None, live: bool = False
    ) -> None:
        self.plans.append(RunPlan(seconds=seconds, fail=fail, live=live))

    def requests(self, endpoint: str) -> list[LoggedRequest]:
        return [r for r in self.log if r.endpoint == endpoint]

    def take_fault(self, endpoint: str) -> Fault | None:
        queue = self.faults.get(endpoint)
        return queue.popleft() if queue else None

    # ----- task lifecycle
    def find_model(self, owner: str, project: str) -> ModelSpec | None:
        return self.models.get(f"{owner}/{project}".lower())

    def create_task(self, spec: ModelSpec, params: dict[str, Any], *, files_root: str) -> SandboxTask:
        plan = self.plans.popleft() if self.plans else RunPlan()
        seconds = plan.seconds
        if seconds is None:
            seconds = self.seconds.get(
                spec.slug, self.seconds.get("*", DEFAULT_SECONDS[spec.effective_media])
            )
        task = SandboxTask(
            id=self._new_id(),
            uuid=str(uuid.uuid4()),
            token=secrets.token_urlsafe(22)[:30],
            spec=spec,
            params=params,
            started=time.monotonic(),
            created_epoch=int(time.time()),
            seconds=seconds,
            fail=plan.fail,
            cost=billed(spec, params, seconds),
            live=plan.live,
            files_root=files_root,
        )
        session = str(params.get("session_id") or "")
        if session and task.kind == "llm":
            self.turns[session] += 1
            task.turn = self.turns[session]
        self.tasks[task.id] = task
        self._by_token[task.token] = task
        if len(self.tasks) > MAX_TASKS:
            oldest = self.tasks.pop(next(iter(self.tasks)))
            self._by_token.pop(oldest.token, None)
        return task

    def _new_id(self) -> str:
        """A numeric id, like Wiro's, that never repeats across processes: the time in microseconds
        plus a random tail, kept increasing within this process."""
        candidate = time.time_ns() // 1000 * 100 + secrets.randbelow(100)
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def find_task(self, taskid: str | None, token: str | None) -> SandboxTask | None:
        if taskid and taskid in self.tasks:
            return self.tasks[taskid]
        if token:
            return self._by_token.get(token)
        return None
