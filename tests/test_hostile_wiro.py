"""A hostile Wiro on loopback: answers nested past any honest depth, trickled a byte at a time, a
socket handshake never answered, slugs that climb out of the Run path, a download cut short. Nothing
of it may hang, crash or mislead the server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.conftest import RunningEmulator, serve_app
from wiro_mcp.catalog.importer import import_tool_detail
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.errors import SpecError, WiroServerError, WiroTransportError, WiroValidationError
from wiro_mcp.live_catalog import CatalogCache, LiveCatalog
from wiro_mcp.outputs import OutputPolicy, Outputs
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import Output, Task, TaskHandle
from wiro_mcp.wiro.socket import SocketFollower
from wiro_mcp.wiro.watch import PollingFollower, PollPolicy

pytestmark = pytest.mark.anyio
DEEP = "[" * 100_000 + "]" * 100_000
Handler = Callable[[Request], Any]


@contextlib.contextmanager
def hostile(routes: dict[str, Handler]) -> Iterator[str]:
    """`routes` (path under /v1 → handler) served on loopback; yields the base URL."""
    app = Starlette(routes=[Route(f"/v1/{path}", h, methods=["POST", "GET"]) for path, h in routes.items()])
    server, thread, root = serve_app(app)
    try:
        yield f"{root}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def client_for(base_url: str, **options: Any) -> WiroClient:
    return WiroClient(base_url, WiroAuth(SecretStr("k")), **options)


def deep(request: Request) -> Response:
    return Response(DEEP, media_type="application/json")


async def trickle_body() -> AsyncIterator[bytes]:
    for ch in '{"result": true, "tool": [], "total": "0"}':
        await anyio.sleep(0.3)
        yield ch.encode()


def trickled(request: Request) -> Response:
    return StreamingResponse(trickle_body(), media_type="application/json")


async def test_an_answer_nested_past_any_honest_depth_is_a_clear_error(
    catalog: dict[str, CatalogEntry],
) -> None:
    with hostile({"Tool/List": deep, "Tool/Detail": deep, "Task/Detail": deep}) as base:
        async with client_for(base) as client:
            with pytest.raises(WiroServerError, match="not JSON, or larger or deeper"):
                await client.tool_detail("acme", "x")
            with pytest.raises(WiroServerError):
                await client.detail(taskid="1")
            live = LiveCatalog(catalog, client, CatalogCache(None))
            note = await live.ensure_listing()  # the start-up sync and search_models take this path
    assert "could not be fetched" in note


async def test_a_trickled_listing_holds_no_call_past_its_deadline(catalog: dict[str, CatalogEntry]) -> None:
    with hostile({"Tool/List": trickled}) as base:
        async with client_for(base, deadline_seconds=1.0) as client:
            with anyio.fail_after(10):
                with pytest.raises(WiroTransportError, match="within 1 s"):
                    await client.tool_list()
            live = LiveCatalog(catalog, client, CatalogCache(None), wait_seconds=0.5)
            with anyio.fail_after(10):
                note = await live.ensure_listing()
                entry = await live.priced(catalog["reve_generate"])  # a typed tool's first call
    assert "could not be fetched" in note and entry.name == "reve_generate"


def detail_with_slug(owner: str, project: str) -> dict[str, Any]:
    return {
        "cleanslugowner": owner,
        "cleanslugproject": project,
        "parameters": [{"items": [{"id": "prompt", "type": "textarea"}]}],
    }


@pytest.mark.parametrize(
    ("owner", "project"),
    [("..", "x"), ("acme", "../../File/Upload"), ("acme", "a/b"), ("acme", "x%2f.."), (" ", "x")],
)
async def test_a_slug_that_is_not_one_path_segment_never_names_a_model_or_a_path(
    owner: str, project: str
) -> None:
    with pytest.raises(SpecError):
        import_tool_detail(detail_with_slug(owner, project))
    posted: list[str] = []

    def record(request: Request) -> Response:
        posted.append(request.scope["raw_path"].decode())
        return JSONResponse({"result": True, "taskid": "1", "socketaccesstoken": "t"})

    with hostile({"{path:path}": record}) as base:
        async with client_for(base) as client:
            if owner in ("..", " ") or project in ("..",):
                with pytest.raises(WiroValidationError):
                    await client.run(owner.strip() or ".", project, {"prompt": "x"})
            else:
                await client.run(owner, project, {"prompt": "x"})
    # Whatever was sent went to Run/<one segment>/<one segment>, quoted.
    assert all(p.startswith("/v1/Run/") and p.count("/") == 4 for p in posted)


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A TCP server that accepts and reads, and never answers (a socket upgrade left hanging)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")

    async def hold(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                while await stream.receive():
                    pass

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, hold)
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        yield f"ws://127.0.0.1:{port}/v1"
        tg.cancel_scope.cancel()


async def test_a_socket_handshake_never_answered_hands_the_task_to_polling(wiro: RunningEmulator) -> None:
    wiro.state.plan_next_run(seconds=1.0)
    async with silent_server() as socket_url:
        async with wiro.client() as client:
            polling = PollingFollower(client, PollPolicy(scale=0.05))
            follower = SocketFollower(client, socket_url, polling, connect_seconds=0.5)
            answer = await client.run("reve", "generate", {"prompt": "x"})
            handle = TaskHandle(answer.taskid, answer.socketaccesstoken, wiro.base_url)
            with anyio.fail_after(15):
                outcome = await follower.follow(
                    handle, wait_seconds=12, last_known=Task(id=answer.taskid, status="task_queue")
                )
        assert outcome.finished and outcome.task.state == "completed"
        assert len(wiro.state.requests("Task/Detail")) >= 1


async def slow_file() -> AsyncIterator[bytes]:
    yield b"\x89PNG" + b"\0" * 65_536
    await anyio.sleep(30)
    yield b"never"


async def test_a_cancelled_download_leaves_no_partial_file(tmp_path: Path) -> None:
    with hostile({"out.png": lambda r: StreamingResponse(slow_file(), media_type="image/png")}) as base:
        async with httpx2.AsyncClient() as http:
            outputs = Outputs(OutputPolicy(base_url=base, download_dir=tmp_path), http=http)
            output = Output(url=f"{base}/out.png", name="out.png", contenttype="image/png", size=10)
            with anyio.move_on_after(1.0) as waited:
                await outputs.save("reve_generate", "1", [output])
    assert waited.cancelled_caught
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
