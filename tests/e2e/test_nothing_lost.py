"""The journal, local files in and downloads out, through the real command."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx2
import mcp_types as types
import pytest

from tests.conftest import RunningEmulator
from tests.e2e.conftest import OpenServer
from tests.e2e.helpers import TOKEN, free_port, http_client_for, interrupt_call, running_http_server
from wiro_mcp.sandbox.state import Fault

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
PNG = b"\x89PNG\r\n\x1a\n" + b"frame" * 100


async def test_a_task_survives_a_killed_server(wiro: RunningEmulator, tmp_path: Path) -> None:
    env = wiro.env(WIRO_MCP_HTTP_TOKEN=TOKEN, WIRO_MCP_JOURNAL=str(tmp_path / "journal.sqlite3"))
    port = free_port()
    with running_http_server(env, port) as first:

        def kill_the_server() -> None:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)

        wiro.state.plan_next_run(seconds=3)
        async with http_client_for(f"http://127.0.0.1:{port}/mcp") as client:
            # Any progress means the server is now following the task.
            await interrupt_call(
                client, "reve_generate", {"prompt": "x"}, before_cancel=kill_the_server, call_may_fail=True
            )
    assert first.returncode == -signal.SIGKILL

    second_port = free_port()
    with running_http_server(env, second_port):
        async with http_client_for(f"http://127.0.0.1:{second_port}/mcp") as client:
            listed = await client.call_tool("task_list", {"tool": "reve_generate"})
            assert listed.structured_content is not None
            (entry,) = listed.structured_content["tasks"]
            assert entry["state"] in ("queued", "running")
            done = await client.call_tool("task_wait", {"taskid": entry["taskid"]})
            assert done.structured_content is not None and done.structured_content["state"] == "completed"
            assert done.structured_content["outputs"][0]["contenttype"] == "image/png"
            again = await client.call_tool("task_list", {"state": "completed"})
            assert (
                again.structured_content and again.structured_content["tasks"][0]["taskid"] == entry["taskid"]
            )
    assert len(wiro.state.requests("Run")) == 1


async def test_a_local_image_is_sent_as_bytes(
    wiro: RunningEmulator, tmp_path: Path, open_server: OpenServer
) -> None:
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "frame.png").write_bytes(PNG)
    async with open_server(WIRO_MCP_FILE_ROOTS=str(root)) as client:
        by_path = await client.call_tool(
            "pixverse_image_to_video_v4", {"inputImageUrl": str(root / "frame.png"), "prompt": "by path"}
        )
        by_uri = await client.call_tool(
            "pixverse_image_to_video_v4", {"inputImageUrl": (root / "frame.png").as_uri(), "prompt": "by URI"}
        )
    assert not by_path.is_error and not by_uri.is_error
    runs = wiro.state.requests("Run")
    assert [r.files for r in runs] == [{"inputImage": PNG}, {"inputImage": PNG}]
    assert all(r.body.get("inputImageUrl") == "" for r in runs)


async def test_paths_outside_the_roots_are_refused_without_a_request(
    wiro: RunningEmulator,
    tmp_path: Path,
    open_server: OpenServer,
) -> None:
    root = tmp_path / "workspace"
    root.mkdir()
    outside = tmp_path / "secret.png"
    outside.write_bytes(PNG)
    (root / "link.png").symlink_to(outside)
    (root / "folder").mkdir()
    big = root / "big.png"
    big.write_bytes(b"x" * 2_000_001)
    cases = {
        str(outside): "outside the allowed roots",
        f"{root}/../secret.png": "outside the allowed roots",
        str(root / "link.png"): "outside the allowed roots",
        str(root / "missing.png"): "does not exist",
        str(root / "folder"): "not a regular file",
        str(big): "the limit is 2000000",
        "frame.png": "neither an http(s) URL nor a local path",
    }
    async with open_server(WIRO_MCP_FILE_ROOTS=str(root), WIRO_MCP_MAX_FILE_MB="2") as client:
        for value, reason in cases.items():
            result = await client.call_tool("pixverse_image_to_video_v4", {"inputImageUrl": value})
            assert result.is_error, value
            text = result.content[0].text  # type: ignore[union-attr]
            assert reason in text and "nothing was sent" in text, (value, text)
    assert wiro.state.requests("Run") == []


async def test_the_clients_roots_allow_its_files(
    wiro: RunningEmulator, tmp_path: Path, open_server: OpenServer
) -> None:
    (tmp_path / "frame.png").write_bytes(PNG)

    async def roots(context: object) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=tmp_path.as_uri())])  # type: ignore[arg-type]

    async with open_server(mode="legacy", list_roots_callback=roots) as client:
        result = await client.call_tool(
            "pixverse_image_to_video_v4", {"inputImageUrl": str(tmp_path / "frame.png")}
        )
    assert not result.is_error, result
    assert wiro.state.requests("Run")[0].files == {"inputImage": PNG}


async def test_outputs_are_downloaded_where_documented(
    wiro: RunningEmulator, tmp_path: Path, open_server: OpenServer
) -> None:
    folder = tmp_path / "outputs"
    async with open_server(WIRO_MCP_DOWNLOAD_DIR=str(folder)) as client:
        result = await client.call_tool("reve_generate", {"prompt": "x"})
    assert result.structured_content is not None
    taskid = result.structured_content["taskid"]
    (out,) = result.structured_content["outputs"]
    saved = folder / "reve_generate" / taskid / "0.png"
    assert out["path"] == str(saved)
    assert saved.read_bytes() == httpx2.get(out["url"]).content
    assert sorted(p.name for p in saved.parent.iterdir()) == ["0.png"]  # no partial file left


async def test_a_lost_run_answer_is_journalled_as_unknown(
    wiro: RunningEmulator, tmp_path: Path, open_server: OpenServer
) -> None:
    wiro.state.inject("Run", Fault("drop"))
    async with open_server() as client:
        result = await client.call_tool("reve_generate", {"prompt": "lost"})
        listed = await client.call_tool("task_list", {"state": "unknown"})
    assert result.is_error and "may have received" in result.content[0].text  # type: ignore[union-attr]
    assert listed.structured_content is not None
    (entry,) = listed.structured_content["tasks"]
    assert entry["arguments"] == {"prompt": "lost"} and entry["taskid"] is None
    assert len(wiro.state.requests("Run")) == 1
