"""Tasks that end together finish in turn while the event loop is saturated.

Each end costs the one event loop a few milliseconds: its Task/Detail, its previews. Hundreds that
end at once, run side by side, take turns step by step, so every one of them finishes near the end
of the burst; taken in turn, half of them are done within its first half, and none later than before.
So while the loop is saturated (one pass over its ready callbacks takes longer than `busy_pass`), an
end beyond the first `least` waits here, first come first served, for one that finishes; otherwise
it goes at once. A loop that is free (waiting on Wiro's round trips, as it mostly is) never queues
anything: slow answers are not waited for one behind the other. A queued end looks again every
`recheck` seconds and goes as soon as the loop is free, so a turn held long (an end that polling
took over) costs the others nothing then.
"""

from __future__ import annotations

import math
from collections import deque

import anyio
import anyio.lowlevel

LEAST = 16  # ends in hand at once, however busy the loop
BUSY_PASS = 0.005  # seconds: a loop pass this long means it is saturated
RECHECK = 0.05


class _Waiter:
    """An end waiting for its turn: `wake` is set when it is handed one (`turn`), or when it has just
    become the oldest waiting (which alone looks at the loop every `recheck`)."""

    __slots__ = ("turn", "wake")

    def __init__(self) -> None:
        self.turn = False
        self.wake = anyio.Event()


class Finishing:
    def __init__(self, *, least: int = LEAST, busy_pass: float = BUSY_PASS, recheck: float = RECHECK) -> None:
        self.least = least
        self.busy_pass = busy_pass
        self.recheck = recheck
        self.active = 0
        self._queue: deque[_Waiter] = deque()  # oldest first

    def __repr__(self) -> str:
        return f"Finishing(active={self.active}, waiting={len(self._queue)})"

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def enter(self) -> None:
        """Wait for this end's turn; `leave` must follow once it is finished."""
        if self.active < self.least or (not self._queue and not await self._saturated()):
            self.active += 1
            return
        me = _Waiter()
        self._queue.append(me)
        try:
            while not me.turn:  # handed one (and out of the queue) while it looked at the loop
                with anyio.move_on_after(self.recheck if self._queue[0] is me else math.inf):
                    await me.wake.wait()
                if me.turn:
                    return
                me.wake = anyio.Event()  # woken to look at the loop: as the oldest, or on its recheck
                if self._queue[0] is me and not await self._saturated() and not me.turn:
                    self._queue.popleft()
                    self.active += 1
                    self._new_oldest()
                    return
        except BaseException:  # cancelled while waiting: a turn handed over meanwhile goes on
            if me.turn:
                self.leave()
            else:
                head = self._queue[0] is me
                self._queue.remove(me)
                if head:
                    self._new_oldest()
            raise

    def leave(self) -> None:
        """This end is finished: its turn goes to the oldest waiting one."""
        if not self._queue:
            self.active -= 1
            return
        handed = self._queue.popleft()  # as many in hand as before
        handed.turn = True
        handed.wake.set()
        self._new_oldest()

    def _new_oldest(self) -> None:
        if self._queue:
            self._queue[0].wake.set()  # it looks at the loop from now on

    async def _saturated(self) -> bool:
        """One pass of the event loop, timed: longer than `busy_pass` when it is saturated."""
        began = anyio.current_time()
        await anyio.lowlevel.checkpoint()
        return anyio.current_time() - began > self.busy_pass
