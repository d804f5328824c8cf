"""The emulator's WebSocket channel, as Wiro documents it: register with `task_info` and a task token,
then receive one event per status on the task's timeline, progress objects while it generates (some
as plain strings, some JSON-encoded as a string), an interim `task_error`, and `task_postprocess_end`
with the outputs (or `task_cancel`).

Faults, each used up by one connection: `refuse` (the handshake is rejected), `drop` (the connection
closes once generation starts), `silent` (registered, then nothing), `garbage` (text that is not an
event, instead of events).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from wiro_mcp.jsonish import as_dict
from wiro_mcp.sandbox.answers import streamed
from wiro_mcp.sandbox.state import LIVE_FROM, STATUS_STARTS, LoggedRequest, SandboxState, SandboxTask

SocketFault = Literal["refuse", "drop", "silent", "garbage"]
STEPS = 10  # progress events while generating
OUTPUT_SPAN = (0.35, 0.80)  # the part of the timeline spent in task_output (see STATUS_STARTS)
MAX_SLEEP = 0.2  # a stopped task is noticed within this


Send = Callable[[Any], Awaitable[None]]


def _sender(socket: WebSocket, lock: anyio.Lock | None) -> Send:
    """Events as JSON, anything else (the `garbage` fault) as raw text; one at a time when shared."""

    async def send(event: Any) -> None:
        async with lock or contextlib.nullcontext():
            if isinstance(event, str):
                await socket.send_text(event)
            else:
                await socket.send_json(event)

    return send


class _Dropped(Exception):
    """The `drop` fault: the connection breaks once generation starts."""


def _event(task: SandboxTask, kind: str, message: Any = None) -> dict[str, Any]:
    return {"type": kind, "id": task.id, "tasktoken": task.token, "message": message, "result": True}


def _progress(task: SandboxTask, step: int) -> dict[str, Any]:
    left = task.seconds * (OUTPUT_SPAN[1] - OUTPUT_SPAN[0]) * (STEPS - step) / STEPS
    return {
        "type": "progressGenerate",
        "task": "Generate",
        "percentage": str(step * 100 // STEPS),
        "stepCurrent": str(step),
        "stepTotal": str(STEPS),
        "speed": "1.2",
        "speedType": "it/s",
        "elapsedTime": f"{task.elapsed(time.monotonic()):.0f}s",
        "remainingTime": f"{left:.0f}s",
    }


def timeline(task: SandboxTask) -> list[tuple[float, dict[str, Any] | str]]:
    """Every event of a task that runs to its end, at its offset (seconds after the start); a
    realtime task's end at task_stream_ready, where it waits for live audio."""
    out: list[tuple[float, dict[str, Any] | str]] = []
    for start, status in STATUS_STARTS:
        if task.kind == "realtime" and start >= LIVE_FROM:
            out.append((LIVE_FROM * task.seconds, _event(task, "task_stream_ready")))
            return out
        out.append((start * task.seconds, _event(task, status)))
        if status == "task_output" and task.kind == "llm":
            begin, end = (f * task.seconds for f in OUTPUT_SPAN)
            for step in range(1, STEPS + 1):
                message = streamed(task.params, task.turn, step / STEPS)
                out.append(
                    (begin + (end - begin) * (step - 0.5) / STEPS, _event(task, "task_output", message))
                )
        elif status == "task_output":
            begin, end = (f * task.seconds for f in OUTPUT_SPAN)
            out.append((begin, _event(task, "task_output", "Loading model weights...")))
            out.append((begin, _event(task, "task_error", "UserWarning: some weights were not initialized")))
            for step in range(1, STEPS + 1):
                message: Any = _progress(task, step)
                if step % 3 == 0:  # Wiro sometimes sends the object JSON-encoded as a string
                    message = json.dumps(message)
                out.append(
                    (begin + (end - begin) * (step - 0.5) / STEPS, _event(task, "task_output", message))
                )
        if status == "task_output_full":
            out.append(
                (start * task.seconds, _event(task, "task_output_full", {"raw": "100%|##########| 10/10"}))
            )
    return out


class SocketChannel:
    """`several_per_connection`: serve every `task_info` sent on a connection, the events of all its
    tasks interleaved, until the client closes it (Wiro's page documents one registration per
    connection, and the default serves only the first, ignoring any later one)."""

    def __init__(
        self, state: SandboxState, make_outputs: Callable[[SandboxTask], list[dict[str, Any]]]
    ) -> None:
        self.state = state
        self._make_outputs = make_outputs
        self.faults: list[SocketFault] = []
        self.several_per_connection = False
        self.connections = 0  # accepted so far

    def inject(self, *faults: SocketFault) -> None:
        self.faults.extend(faults)

    async def serve(self, socket: WebSocket) -> None:
        fault = self.faults.pop(0) if self.faults else None
        if fault == "refuse":
            await socket.close(code=1008)  # before accepting: the handshake fails
            return
        await socket.accept()
        self.connections += 1
        try:
            if self.several_per_connection:
                await self._serve_several(socket, fault)
                return
            task = await self._registered(socket)
            if task is None:
                await socket.close()
                return
            if fault == "silent":
                while True:
                    await socket.receive_text()
            await self._follow(_sender(socket, None), task, fault)
            await socket.close()
        except _Dropped:
            await socket.close(code=1011)
        except WebSocketDisconnect:
            return

    async def _registered(self, socket: WebSocket) -> SandboxTask | None:
        registration = as_dict(await socket.receive_json())
        token = str(registration.get("tasktoken") or "")
        self.state.log.append(LoggedRequest("socket", {"tasktoken": token}, {}, True, time.monotonic()))
        task = self.state.find_task(None, token) if token else None
        if task is None:
            await socket.send_json({"type": "task_info", "message": "task-not-exist", "result": False})
        return task

    async def _serve_several(self, socket: WebSocket, fault: SocketFault | None) -> None:
        send = _sender(socket, anyio.Lock())

        async def follow(task: SandboxTask) -> None:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # the client left first
                try:
                    await self._follow(send, task, fault)
                except _Dropped:
                    await socket.close(code=1011)

        async with anyio.create_task_group() as tg:
            while True:
                try:
                    task = await self._registered(socket)
                except WebSocketDisconnect:
                    tg.cancel_scope.cancel()
                    return
                if task is not None and fault != "silent":
                    tg.start_soon(follow, task)

    async def _follow(self, send: Send, task: SandboxTask, fault: SocketFault | None) -> None:
        events = timeline(task)
        sent = 0
        while True:
            now = time.monotonic()
            if task.stopped_at is not None:
                await send(_event(task, "task_cancel"))
                return
            elapsed = now - task.started
            while sent < len(events) and events[sent][0] <= elapsed:
                event = events[sent][1]
                sent += 1
                if fault == "drop" and isinstance(event, dict) and event["type"] == "task_output":
                    raise _Dropped
                if fault == "garbage":
                    await send("\x00not an event{")
                    continue
                await send(event)
            live = task.kind == "realtime"  # waits for audio until stopped: it never ends by itself
            if elapsed >= task.seconds and not live:
                if fault != "garbage":
                    outputs = [] if task.fail else self._outputs(task)
                    await send(_event(task, "task_postprocess_end", outputs))
                return
            upcoming = events[sent][0] if sent < len(events) else math.inf if live else task.seconds
            await anyio.sleep(min(upcoming - elapsed, MAX_SLEEP))

    def _outputs(self, task: SandboxTask) -> list[dict[str, Any]]:
        if not task.outputs:
            task.outputs = self._make_outputs(task)
        return task.outputs
