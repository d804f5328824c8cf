"""Ends that come together: at once on a free event loop, in turn (first come, first served) while it
is saturated, and never a turn lost to a cancelled wait. The loop is saturated for real, by tasks
that hold it a few milliseconds between their checkpoints."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

from wiro_mcp.tasks.finishing import Finishing

pytestmark = pytest.mark.anyio


class Saturated:
    """Four tasks each holding the loop 4 ms between checkpoints: one pass takes about 16 ms."""

    def __init__(self) -> None:
        self.on = False

    async def _hog(self) -> None:
        while self.on:
            time.sleep(0.004)
            await anyio.lowlevel.checkpoint()

    def start(self, tg: anyio.abc.TaskGroup) -> None:
        self.on = True
        for _ in range(4):
            tg.start_soon(self._hog)


@pytest.fixture
async def tg() -> AsyncIterator[anyio.abc.TaskGroup]:
    async with anyio.create_task_group() as group:
        yield group
        group.cancel_scope.cancel()


async def settle(
    finishing: Finishing, waiting: int, entered: list[object] | None = None, count: int = 0
) -> None:
    """Until `waiting` ends wait (and `count` have entered, by `entered`)."""
    with anyio.fail_after(5):
        while finishing.waiting != waiting or (entered is not None and len(entered) < count):
            await anyio.sleep(0.005)


async def queue_ends(
    tg: anyio.abc.TaskGroup, finishing: Finishing, names: str
) -> tuple[list[str], dict[str, anyio.CancelScope]]:
    """An end for each of `names`, queued in that order: (those that went, in order; each one's scope)."""
    order: list[str] = []
    scopes: dict[str, anyio.CancelScope] = {}

    async def end(name: str) -> None:
        with anyio.CancelScope() as scope:
            scopes[name] = scope
            await finishing.enter()
            order.append(name)

    for n, name in enumerate(names):
        tg.start_soon(end, name)
        await settle(finishing, n + 1)
    return order, scopes


async def test_on_a_free_loop_every_end_goes_at_once(tg: anyio.abc.TaskGroup) -> None:
    finishing = Finishing(least=2)
    release = anyio.Event()

    async def end() -> None:
        await finishing.enter()
        await release.wait()
        finishing.leave()

    for _ in range(20):
        tg.start_soon(end)
    with anyio.fail_after(5):
        while finishing.active < 20:
            await anyio.sleep(0.005)
    assert finishing.waiting == 0
    release.set()
    with anyio.fail_after(5):
        while finishing.active:
            await anyio.sleep(0.005)


async def test_while_the_loop_is_saturated_ends_beyond_the_least_go_in_turn(
    tg: anyio.abc.TaskGroup,
) -> None:
    finishing = Finishing(least=2, recheck=0.02)
    load = Saturated()
    load.start(tg)
    await finishing.enter()
    await finishing.enter()  # the two in hand, however busy the loop
    order: list[int] = []

    async def end(n: int) -> None:
        await finishing.enter()
        order.append(n)

    for n in range(4):
        tg.start_soon(end, n)
        await settle(finishing, n + 1)  # each queued before the next comes
    await anyio.sleep(0.1)  # several rechecks: the loop is still saturated, so nobody goes
    assert order == [] and finishing.active == 2
    finishing.leave()  # a turn handed to the oldest waiting
    await settle(finishing, 3, order, 1)
    finishing.leave()
    await settle(finishing, 2, order, 2)
    assert order == [0, 1] and finishing.active == 2
    load.on = False  # the loop is free: the rest go without waiting for a turn
    await settle(finishing, 0, order, 4)
    assert order == [0, 1, 2, 3] and finishing.active == 4


async def test_a_cancelled_wait_loses_no_one_their_turn(tg: anyio.abc.TaskGroup) -> None:
    finishing = Finishing(least=1, recheck=0.02)
    load = Saturated()
    load.start(tg)
    await finishing.enter()
    order, scopes = await queue_ends(tg, finishing, "abcd")
    scopes["a"].cancel()  # the oldest gives up: the next is the oldest now
    scopes["c"].cancel()
    await settle(finishing, 2)
    finishing.leave()
    await settle(finishing, 1, order, 1)
    assert order == ["b"] and finishing.active == 1
    finishing.leave()
    await settle(finishing, 0, order, 2)
    assert order == ["b", "d"] and finishing.active == 1
    finishing.leave()
    assert finishing.active == 0
    load.on = False


async def test_once_the_loop_is_free_an_end_goes_even_when_the_one_before_it_gave_up(
    tg: anyio.abc.TaskGroup,
) -> None:
    finishing = Finishing(least=1, recheck=0.02)
    load = Saturated()
    load.start(tg)
    await finishing.enter()
    order, scopes = await queue_ends(tg, finishing, "ab")
    scopes["a"].cancel()  # "b" is the oldest now: it looks at the loop from here on
    await settle(finishing, 1)
    load.on = False
    await settle(finishing, 0, order, 1)
    assert order == ["b"] and finishing.active == 2


async def test_a_turn_handed_over_while_the_oldest_looks_at_the_loop_is_taken(
    tg: anyio.abc.TaskGroup,
) -> None:
    """The oldest waiting end looks at the loop (a checkpoint) at each recheck; a turn handed to it
    meanwhile, leaving no one else waiting, is still its own. Here it looks at every turn of the loop
    and always finds it saturated, and the turn is handed over at a different moment each time."""
    finishing = Finishing(least=1, busy_pass=-1.0, recheck=0.0)
    await finishing.enter()
    for attempt in range(20):
        order, _ = await queue_ends(tg, finishing, "w")
        for _ in range(attempt % 5):
            await anyio.lowlevel.checkpoint()
        finishing.leave()  # the turn goes to the one waiting
        await settle(finishing, 0, order, 1)
        assert finishing.active == 1
