"""Socket connections for the tasks being followed: one per task (Wiro's documented way: one
`task_info` registration per connection), or several tasks' registrations on one connection when
`per_connection` allows it and Wiro serves them.

No background task reads a connection: whichever follower is waiting reads the next frame and files
each event under the task it names (its `tasktoken`, else its `id`), so one connection per task costs
no task switch more than reading the socket directly. If a shared connection turns out to serve only
its first registration (another task's events arrive, never this one's), the pool says so once and
gives every later task a connection of its own.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable

import anyio

from wiro_mcp.wiro.socket_events import SocketEvent, parse_event
from wiro_mcp.wiro.wsclient import SocketClosed, WireSocket

log = logging.getLogger(__name__)

CLOSE_SECONDS = 2.0
Connect = Callable[[], Awaitable[WireSocket]]


class SharedConnection:
    def __init__(self, socket: WireSocket) -> None:
        self.socket = socket
        self.inboxes: dict[str, deque[SocketEvent]] = {}  # by task token
        self.ids: dict[str, str] = {}  # task id → token
        self.delivered: set[str] = set()  # registered tokens that received at least one event
        self.delivered_any = False  # to any task, ever
        self.closed: SocketClosed | None = None
        self._reading = False
        self._news: anyio.Event | None = None  # made only when a second task waits on this connection

    def add(self, token: str, taskid: str) -> None:
        self.inboxes[token] = deque()
        if taskid:
            self.ids[taskid] = token

    def remove(self, token: str, taskid: str) -> None:
        self.inboxes.pop(token, None)
        self.ids.pop(taskid, None)
        self.delivered.discard(token)

    async def next_event(self, token: str) -> SocketEvent:
        """The next event for this task; SocketClosed once the connection has ended."""
        box = self.inboxes[token]
        while not box:
            if self.closed is not None:
                raise self.closed
            if self._reading:  # another follower is reading: wait for what it files
                if self._news is None:
                    self._news = anyio.Event()
                await self._news.wait()
                continue
            self._reading = True
            try:
                self._file(await self.socket.receive_text())
            except SocketClosed as closed:
                self.closed = closed
            finally:
                self._reading = False
                news, self._news = self._news, None
                if news is not None:
                    news.set()
        return box.popleft()

    def _file(self, text: str) -> None:
        event = parse_event(text)
        if event is None:
            return  # not an event: the silence clock of every task runs on
        token = event.token if event.token in self.inboxes else self.ids.get(event.taskid, "")
        if not token and len(self.inboxes) == 1:
            token = next(iter(self.inboxes))  # one task on this connection: every event is its own
        if token in self.inboxes:
            self.inboxes[token].append(event)
            self.delivered.add(token)
            self.delivered_any = True

    def serves_only_others(self, token: str) -> bool:
        """This connection delivers other tasks' events but never this one's (a connection that only
        ever carried this task cannot: whatever it delivered was this task's)."""
        return self.delivered_any and token not in self.delivered


class Subscription:
    """One task's events on a connection it may share."""

    def __init__(self, pool: SocketPool, connection: SharedConnection, token: str) -> None:
        self.pool = pool
        self.connection = connection
        self.token = token

    async def next_event(self) -> SocketEvent:
        return await self.connection.next_event(self.token)

    def note_unserved(self) -> None:
        """The task is handed to polling for silence: if its shared connection served other tasks
        and never this one, Wiro serves one registration per connection."""
        if self.connection.serves_only_others(self.token):
            self.pool.learn_one_per_connection()


class SocketPool:
    def __init__(self, connect: Connect, per_connection: int = 1) -> None:
        self.connect = connect
        self.per_connection = max(per_connection, 1)
        self.open: set[SharedConnection] = set()
        self._opening = anyio.Lock()
        self.opened = 0  # connections opened so far

    def __repr__(self) -> str:
        return f"SocketPool(per_connection={self.per_connection}, open={len(self.open)})"

    def learn_one_per_connection(self) -> None:
        if self.per_connection > 1:
            self.per_connection = 1
            log.warning(
                "Wiro's socket serves only the first task registered on a connection: one connection "
                "per task from now on"
            )

    @contextlib.asynccontextmanager
    async def subscribe(self, token: str, taskid: str = "") -> AsyncGenerator[Subscription]:
        # When sharing, one connect at a time, so that tasks arriving together fill one connection.
        async with self._opening if self.per_connection > 1 else contextlib.nullcontext():
            connection = self._with_room(token) or await self._new()
            connection.add(token, taskid)
        try:
            await connection.socket.send_json({"type": "task_info", "tasktoken": token})
            yield Subscription(self, connection, token)
        finally:
            connection.remove(token, taskid)
            if not connection.inboxes:
                await self._close(connection)

    def _with_room(self, token: str) -> SharedConnection | None:
        """An open connection with room for this task (and not already carrying it: a second follower
        of the same task gets its own, so each has its own inbox)."""
        if self.per_connection == 1:
            return None
        for connection in self.open:
            room = len(connection.inboxes) < self.per_connection
            if connection.closed is None and room and token not in connection.inboxes:
                return connection
        return None

    async def _new(self) -> SharedConnection:
        connection = SharedConnection(await self.connect())
        self.opened += 1
        self.open.add(connection)
        return connection

    async def _close(self, connection: SharedConnection) -> None:
        self.open.discard(connection)
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_SECONDS):
            await connection.socket.close()
