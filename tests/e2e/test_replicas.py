"""A team's deployment, all real and on loopback: three `wiro-mcp --http` replicas on one
PostgreSQL journal behind nginx (round-robin), OAuth tokens from a test issuer, the emulator as
Wiro. A task started on one replica is seen, waited on and stopped through any; budgets and
repeats hold across them; a confirmation asked on one is taken on another; a replica killed
mid-wait loses nothing."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
import psycopg
import pytest

from tests.conftest import RunningEmulator, bundled_and_generated, text_of
from tests.e2e.helpers import free_port, http_client_for
from tests.e2e.test_costs import RUNWAY, VIDEO, until_priced
from tests.mcp.test_confirm import never_called
from tests.oauth_issuer import Issuer, issuer_on_loopback
from tests.postgres import new_database
from tests.topology import Replica, nginx, replicas

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
PER_PERSON_USD, TEAM_USD = 1.0, 2.0


@dataclass
class Team:
    balancer: str  # the MCP URL through nginx
    replicas: list[Replica]
    issuer: Issuer
    wiro: RunningEmulator
    database: str

    def token(self, sub: str) -> str:
        return self.issuer.token(sub, self.balancer)

    def rows(self) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database) as db:
            return db.execute("SELECT owner, state, taskid, quote_usd, cost_usd FROM tasks").fetchall()


@pytest.fixture(scope="module")
def team(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    folder = tmp_path_factory.mktemp("team")
    database = new_database(postgres_server, "replicas")
    ports, front = [free_port() for _ in range(3)], free_port()
    with bundled_and_generated(folder / "cache", 0, seconds=0.6) as wiro, issuer_on_loopback() as issuer:
        env = wiro.env(
            WIRO_MCP_JOURNAL=database,
            WIRO_MCP_OAUTH_ISSUER=issuer.url,
            WIRO_MCP_PUBLIC_URL=f"http://127.0.0.1:{front}",
            WIRO_MCP_STATE_KEYS="replica-shared-key-0123456789",
            WIRO_MCP_BUDGET_USD=str(PER_PERSON_USD),
            WIRO_MCP_TEAM_BUDGET_USD=str(TEAM_USD),
            WIRO_MCP_CONFIRM_ABOVE_USD="0.3",
            WIRO_MCP_WAIT_SECONDS="3",
        )
        with replicas(env, ports, folder / "stderr.txt") as running, nginx(ports, front):
            yield Team(f"http://127.0.0.1:{front}/mcp", running, issuer, wiro, database)


def test_every_replica_is_healthy_and_ready(team: Team) -> None:
    import httpx2

    for replica in team.replicas:
        base = replica.url.removesuffix("/mcp")
        assert httpx2.get(f"{base}/healthz").json() == {"status": "ok"}
        assert httpx2.get(f"{base}/readyz").json() == {"status": "ready"}  # its journal answers


async def test_identical_calls_on_two_replicas_start_one_task(team: Team) -> None:
    runs = len(team.wiro.state.requests("Run"))
    token = team.token("ann")
    results: list[types.CallToolResult] = []

    async def call(replica: Replica) -> None:
        async with http_client_for(replica.url, token=token) as client:
            results.append(await client.call_tool("reve_generate", {"prompt": "one koala, twice"}))

    async with anyio.create_task_group() as tg:
        for replica in team.replicas[:2]:
            tg.start_soon(call, replica)
    ids = {r.structured_content["taskid"] for r in results if r.structured_content}
    assert len(ids) == 1 and len(team.wiro.state.requests("Run")) == runs + 1


async def test_a_task_started_on_one_replica_is_stopped_through_another(team: Team) -> None:
    team.wiro.state.plan_next_run(seconds=30)
    token = team.token("bob")
    async with http_client_for(team.replicas[0].url, token=token) as client:
        started = await client.call_tool("reve_generate", {"prompt": "a slow koala"})  # handed back at 3 s
    assert started.structured_content is not None and started.structured_content["state"] != "completed"
    async with http_client_for(team.replicas[1].url, token=token) as client:
        stopped = await client.call_tool("task_kill", {"taskid": started.structured_content["taskid"]})
    assert not stopped.is_error and len(team.wiro.state.requests("Task/Kill")) >= 1


async def test_a_confirmation_asked_on_one_replica_is_taken_on_another(team: Team) -> None:
    token = team.token("cyd")
    yes = {"confirm": types.ElicitResult(action="accept", content={"confirm": True})}
    runs = len(team.wiro.state.requests("Run"))
    async with http_client_for(team.replicas[0].url, token=token, elicitation_callback=never_called) as first:
        await until_priced(first, RUNWAY)
        asked = await first.session.call_tool(RUNWAY, VIDEO, allow_input_required=True)
    assert isinstance(asked, types.InputRequiredResult) and asked.request_state
    async with http_client_for(team.replicas[2].url, token=token, elicitation_callback=never_called) as other:
        await until_priced(other, RUNWAY)
        done = await other.session.call_tool(
            RUNWAY, VIDEO, input_responses=yes, request_state=asked.request_state, allow_input_required=True
        )
    assert isinstance(done, types.CallToolResult) and not done.is_error, text_of(done)  # type: ignore[arg-type]
    assert len(team.wiro.state.requests("Run")) == runs + 1
    # Used once for the whole team: replayed on a third replica, it approves nothing (asked again).
    async with http_client_for(team.replicas[1].url, token=token, elicitation_callback=never_called) as third:
        await until_priced(third, RUNWAY)
        replayed = await third.session.call_tool(
            RUNWAY, VIDEO, input_responses=yes, request_state=asked.request_state, allow_input_required=True
        )
    assert isinstance(replayed, types.InputRequiredResult)
    # Another person cannot use cyd's approval.
    async with http_client_for(
        team.replicas[1].url, token=team.token("dan"), elicitation_callback=never_called
    ) as dan:
        await until_priced(dan, RUNWAY)
        stolen = await dan.session.call_tool(
            RUNWAY, VIDEO, input_responses=yes, request_state=asked.request_state, allow_input_required=True
        )
    assert isinstance(stolen, types.InputRequiredResult) and len(team.wiro.state.requests("Run")) == runs + 1


async def test_a_replica_killed_mid_wait_loses_nothing(team: Team) -> None:
    team.wiro.state.plan_next_run(seconds=5)
    token = team.token("eve")
    victim = team.replicas[0]

    async def call() -> None:
        async with http_client_for(victim.url, token=token) as client:
            await client.call_tool("reve_generate", {"prompt": "a koala that outlives its replica"})

    runs = len(team.wiro.state.requests("Run"))
    with pytest.raises(BaseException):  # noqa: B017, PT011  (its connection is cut: whatever the client raises)
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            with anyio.fail_after(10):
                while len(team.wiro.state.requests("Run")) == runs:
                    await anyio.sleep(0.02)
            await anyio.sleep(0.3)  # its id is recorded
            os.kill(victim.proc.pid, signal.SIGKILL)
    async with http_client_for(team.balancer, token=token) as client:
        listed = await client.call_tool("task_list", {"state": "active"})
        assert listed.structured_content is not None
        (task,) = listed.structured_content["tasks"]
        waited = await client.call_tool("task_wait", {"taskid": task["taskid"]})
        while waited.structured_content and waited.structured_content["state"] != "completed":
            waited = await client.call_tool("task_wait", {"taskid": task["taskid"]})
    assert waited.structured_content is not None and waited.structured_content["outputs"]


async def test_300_concurrent_calls_of_three_people_never_pass_a_budget(team: Team) -> None:
    """Last in the module: it fills the team's budget."""
    outcomes: list[types.CallToolResult] = []

    async def person(sub: str) -> None:
        async with http_client_for(team.balancer, token=team.token(sub)) as client:

            async def one(n: int) -> None:
                outcomes.append(await client.call_tool("reve_generate", {"prompt": f"koala {sub} {n}"}))

            async with anyio.create_task_group() as tg:
                for n in range(100):
                    tg.start_soon(one, n)

    async with anyio.create_task_group() as tg:
        for sub in ("fay", "gus", "hal"):
            tg.start_soon(person, sub)
    rows = team.rows()
    spent: dict[str, float] = {}
    for owner, state, _taskid, quote, cost in rows:
        counted = cost if cost is not None else quote
        if state not in ("failed", "cancelled") or cost is not None:
            spent[owner] = spent.get(owner, 0.0) + float(counted or 0.0)
    assert all(v <= PER_PERSON_USD + 1e-9 for v in spent.values()), spent
    # Filled to the team's budget (one image short of it at most), never past it.
    assert TEAM_USD - 0.05 < sum(spent.values()) <= TEAM_USD + 1e-9, spent
    refused = [r for r in outcomes if r.is_error and "budget" in text_of(r)]
    assert len(outcomes) == 300 and refused  # the budgets were reached, and held
    assert len({r[2] for r in rows if r[2]}) == len(
        team.wiro.state.requests("Run")
    )  # every Run is in the journal
