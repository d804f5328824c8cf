"""The client against the emulator over real loopback HTTP: every endpoint and every error kind."""

from __future__ import annotations

import anyio
import pytest
from pydantic import SecretStr

from tests.conftest import RunningEmulator
from wiro_mcp.catalog.importer import import_tool_detail
from wiro_mcp.errors import (
    WiroAuthError,
    WiroBalanceError,
    WiroConcurrencyError,
    WiroNotFoundError,
    WiroRateLimitError,
    WiroServerError,
    WiroTransportError,
    WiroValidationError,
)
from wiro_mcp.sandbox.state import Fault
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import FilePart, WiroClient

pytestmark = pytest.mark.anyio
REVE = ("reve", "generate")


async def test_run_detail_and_outputs(wiro: RunningEmulator) -> None:
    async with wiro.client() as client:
        answer = await client.run(*REVE, {"prompt": "a koala", "aspectRatio": "1:1"})
        task = await client.detail(taskid=answer.taskid)
        assert task.state == "queued" and task.id == answer.taskid
        same = await client.detail(tasktoken=answer.socketaccesstoken)
        assert same.id == answer.taskid
    (run,) = wiro.state.requests("Run")
    assert run.body == {"prompt": "a koala", "aspectRatio": "1:1"} and run.signed


async def test_kill_and_cancel_send_every_identifier(wiro: RunningEmulator) -> None:
    async with wiro.client() as client:
        wiro.state.plan_next_run(seconds=30)
        first = await client.run(*REVE, {"prompt": "x"})
        cancelled = await client.cancel(taskid=first.taskid, tasktoken=first.socketaccesstoken)
        assert cancelled is not None and cancelled.state == "cancelled"
        wiro.state.plan_next_run(seconds=1.0)
        second = await client.run(*REVE, {"prompt": "y"})
        while True:  # past the queue: running now (the emulator's own clock says when)
            if (await client.detail(taskid=second.taskid)).state == "running":
                break
            await anyio.sleep(0.05)
        with pytest.raises(WiroValidationError, match="Only queued tasks"):
            await client.cancel(taskid=second.taskid)
        killed = await client.kill(taskid=second.taskid, tasktoken=second.socketaccesstoken)
        assert killed is not None and killed.status == "task_cancel"
    kill = wiro.state.requests("Task/Kill")[0]
    assert kill.body == {
        "taskid": second.taskid,
        "tasktoken": second.socketaccesstoken,
        "socketaccesstoken": second.socketaccesstoken,
    }


async def test_upload_tool_list_and_tool_detail(wiro: RunningEmulator) -> None:
    async with wiro.client() as client:
        uploaded = await client.upload("a.png", b"\x89PNG-bytes", "image/png")
        assert uploaded.size == 10 and uploaded.url.startswith(wiro.root)
        listed = await client.tool_list(search="runway")
        assert {t["slugproject"] for t in listed["tool"]} == {
            "image-to-image-gen4-image",
            "image-to-video-gen4-turbo",
        }
        detail = await client.tool_detail("PixVerse", "image-to-video-v4")
    assert wiro.state.requests("File/Upload")[0].files == {"file": b"\x89PNG-bytes"}
    spec = import_tool_detail(detail)
    original = wiro.state.find_model("PixVerse", "image-to-video-v4")
    assert original is not None and spec.inputs == original.inputs


async def test_multipart_run_carries_the_file(wiro: RunningEmulator) -> None:
    async with wiro.client() as client:
        part = FilePart("inputImage", "frame.png", b"frame-bytes", "image/png")
        await client.run("PixVerse", "image-to-video-v4", {"prompt": "p", "duration": "5"}, [part])
    (run,) = wiro.state.requests("Run")
    assert run.files == {"inputImage": b"frame-bytes"}
    assert run.body == {"prompt": "p", "duration": "5", "inputImageUrl": ""}


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        (Fault("wiro", code=97, message="Insufficient balance"), WiroBalanceError, "Insufficient balance"),
        (Fault("wiro", code=96, message="Concurrency limit reached"), WiroConcurrencyError, "Concurrency"),
        (
            Fault("wiro", code=0, message="Request parameter [prompt] required"),
            WiroValidationError,
            "required",
        ),
        (Fault("wiro", code=99, message="Bearer token invalid"), WiroAuthError, "Bearer"),
        (Fault("http", status=429, retry_after=2), WiroRateLimitError, "Too Many Requests"),
        # A gateway error may come after Wiro created the task: as uncertain as a lost answer.
        (Fault("http", status=500), WiroTransportError, "Server error"),
        (Fault("http", status=503), WiroTransportError, "Service Unavailable"),
        (Fault("drop"), WiroTransportError, "may have been received"),
    ],
)
async def test_run_errors_map_to_the_tree_and_run_is_sent_once(
    wiro: RunningEmulator, fault: Fault, error: type[Exception], text: str
) -> None:
    wiro.state.inject("Run", fault)
    async with wiro.client() as client:
        with pytest.raises(error, match=text) as caught:
            await client.run(*REVE, {"prompt": "x"})
    assert len(wiro.state.requests("Run")) == 1
    if isinstance(caught.value, WiroRateLimitError):
        assert caught.value.retry_after == 2
    if isinstance(caught.value, WiroTransportError):
        assert caught.value.sent_maybe


async def test_run_timeout_after_sending_is_not_retried(wiro: RunningEmulator) -> None:
    import httpx2

    wiro.state.inject("Run", Fault("slow", seconds=1.5))
    auth = WiroAuth(SecretStr("test-key-0123456789"), SecretStr("test-secret-do-not-leak-4f9a1c"))
    async with WiroClient(wiro.base_url, auth, timeout=httpx2.Timeout(0.5)) as client:
        with pytest.raises(WiroTransportError) as caught:
            await client.run(*REVE, {"prompt": "x"})
    assert caught.value.sent_maybe
    assert len(wiro.state.requests("Run")) == 1


async def test_unknown_model_and_task_are_not_found(wiro: RunningEmulator) -> None:
    async with wiro.client() as client:
        with pytest.raises(WiroNotFoundError, match="slug-owner-project-not-exist"):
            await client.run("nobody", "nothing", {})
        with pytest.raises(WiroNotFoundError):
            await client.detail(taskid="999999")


async def test_connection_refused_is_a_transport_error_that_sent_nothing() -> None:
    from tests.conftest import API_KEY

    async with WiroClient("http://127.0.0.1:9/v1", WiroAuth(SecretStr(API_KEY))) as client:
        with pytest.raises(WiroTransportError) as caught:
            await client.run(*REVE, {"prompt": "x"})
    assert not caught.value.sent_maybe


async def test_reads_are_retried_through_bursts_honouring_retry_after(wiro: RunningEmulator) -> None:
    async with wiro.client() as client:
        answer = await client.run(*REVE, {"prompt": "x"})
        wiro.state.inject(
            "Task/Detail",
            Fault("http", status=503),
            Fault("http", status=429, retry_after=0.2),
            Fault("drop"),
        )
        task = await client.detail(taskid=answer.taskid)
    assert task.id == answer.taskid
    details = wiro.state.requests("Task/Detail")
    assert len(details) == 4
    assert details[2].time - details[1].time >= 0.19  # waited as Retry-After said


async def test_reads_give_up_after_the_attempt_limit(wiro: RunningEmulator) -> None:
    wiro.state.inject("Tool/List", *[Fault("http", status=500)] * 6)
    async with wiro.client() as client:
        with pytest.raises(WiroServerError):
            await client.tool_list()
    assert len(wiro.state.requests("Tool/List")) == 4


async def test_client_repr_has_no_secret(wiro: RunningEmulator) -> None:
    async with wiro.client() as client:
        assert "secret" not in repr(client)
