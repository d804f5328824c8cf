"""Output files directly: the URL policy (hop by hop), byte and time limits, and downloads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.conftest import serve_app
from wiro_mcp.outputs import ByteBudget, OutputPolicy, Outputs, RefusedUrl, distinct_names
from wiro_mcp.sandbox.media import png
from wiro_mcp.wiro.models import Output

pytestmark = pytest.mark.anyio
BASE = "http://wiro.test/v1"  # not resolvable: Wiro is not on an internal address here
PNG = png("ok", 8, 8)  # a real image: previews are thumbnails made from it


IN_FLIGHT = {"now": 0, "most": 0}  # fetches of far.png the CDN is answering at once


async def cdn(request: Request) -> Response:
    match request.path_params["name"]:
        case "ok.png":
            return Response(PNG, media_type="image/png")
        case "big.png":
            return Response(png("big", 256, 256), media_type="image/png")
        case "far.png":  # a CDN a round trip away
            IN_FLIGHT["now"] += 1
            IN_FLIGHT["most"] = max(IN_FLIGHT["most"], IN_FLIGHT["now"])
            await anyio.sleep(0.2)
            IN_FLIGHT["now"] -= 1
            return Response(PNG, media_type="image/png")
        case "to-metadata":
            return RedirectResponse("http://169.254.169.254/latest/meta-data")
        case "to-private":
            return RedirectResponse("https://10.0.0.7/x.png")
        case "to-ok":
            return RedirectResponse("/files/ok.png")
        case "endless":

            async def body():
                for _ in range(1000):  # far over any cap used here, yet bounded
                    yield b"x" * 1000
                    await anyio.sleep(0.001)  # lets the server notice the client leaving

            return StreamingResponse(body(), media_type="image/png")
        case "slow":

            async def slow():
                yield b"x"
                await anyio.sleep(30)
                yield b"y"

            return StreamingResponse(slow(), media_type="image/png")
        case _:
            return Response(status_code=404)


APP = Starlette(routes=[Route("/files/{name}", cdn)])


def outputs(**policy: object) -> Outputs:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=APP))
    return Outputs(OutputPolicy(base_url=BASE, **policy), http=http)  # type: ignore[arg-type]


async def test_the_wiro_host_and_redirects_within_it_are_fetched() -> None:
    fetcher = outputs()
    assert await fetcher.fetch("http://wiro.test/files/ok.png", 10_000, 5) == PNG
    assert await fetcher.fetch("http://wiro.test/files/to-ok", 10_000, 5) == PNG


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://cdn.example.com/a.png", "only https"),
        ("file:///etc/passwd", "no host"),
        ("ftp://cdn.example.com/a.png", "only https"),
        ("https://127.0.0.1/a.png", "internal address"),
        ("https://[::1]/a.png", "internal address"),
        ("https://[::ffff:127.0.0.1]/a.png", "internal address"),
        ("https://169.254.169.254/latest", "internal address"),
        ("https://192.168.1.10/a.png", "internal address"),
        ("http://wiro.test/files/to-metadata", "only https"),
        ("http://wiro.test/files/to-private", "internal address"),
        ("https:///a.png", "no host"),
    ],
)
async def test_internal_and_plain_http_urls_are_refused_at_every_hop(url: str, reason: str) -> None:
    with pytest.raises(RefusedUrl, match=reason):
        await outputs().fetch(url, 10_000, 5)


@pytest.fixture
def cdn_url() -> Iterator[str]:
    """The CDN on real loopback HTTP (the ASGI transport would buffer an endless body)."""
    server, thread, root = serve_app(APP)
    yield root
    server.should_exit = True
    thread.join(timeout=10)


async def test_fetches_are_capped_in_bytes_and_time(cdn_url: str) -> None:
    fetcher = Outputs(OutputPolicy(base_url=f"{cdn_url}/v1"))
    with pytest.raises(RefusedUrl, match="larger than 5000 bytes"):
        await fetcher.fetch(f"{cdn_url}/files/endless", 5000, 5)
    with pytest.raises(TimeoutError):
        await fetcher.fetch(f"{cdn_url}/files/slow", 5000, 0.3)
    assert await fetcher.fetch(f"{cdn_url}/files/ok.png", 5000, 5) == PNG
    await fetcher.aclose()


async def test_internal_addresses_are_allowed_when_wiro_itself_is_on_one() -> None:
    sandboxed = Outputs(OutputPolicy(base_url="http://127.0.0.1:9/v1"))
    await sandboxed.urls.check("http://127.0.0.1:9/files/a.png")
    await sandboxed.urls.check("https://10.0.0.7/a.png")
    with pytest.raises(RefusedUrl, match="only https"):
        await sandboxed.urls.check("http://10.0.0.7/a.png")
    await sandboxed.aclose()


async def test_previews_are_quiet_about_refusals() -> None:
    items = [
        Output(name="a.png", contenttype="image/png", size=len(PNG), url="http://wiro.test/files/ok.png"),
        Output(name="b.png", contenttype="image/png", size=10, url="https://127.0.0.1/b.png"),
        Output(name="c.png", contenttype="image/png", size=10, url="http://wiro.test/files/missing"),
    ]
    found = await outputs(preview_max_bytes=2000).previews(items, {})
    assert list(found) == [items[0].url] and found[items[0].url].mime == "image/jpeg"


@pytest.mark.parametrize(("budget", "most"), [(64_000_000, 40), (3 * (len(PNG) * 105 // 100 + 65_536), 3)])
async def test_previews_of_small_files_are_fetched_side_by_side_within_the_byte_budget(
    budget: int, most: int
) -> None:
    """Each preview holds its file's given size of the budget while it is made: forty small images
    of tasks that end together are fetched at once (their round trips side by side), a budget of
    three of them lets three go at a time."""
    fetcher = outputs(preview_bytes_at_once=budget)
    items = [
        Output(name=f"{n}.png", contenttype="image/png", size=len(PNG), url="http://wiro.test/files/far.png")
        for n in range(40)
    ]
    IN_FLIGHT["most"] = 0
    made: list[int] = []

    async def one(out: Output) -> None:
        made.append(len(await fetcher.previews([out], {})))

    async with anyio.create_task_group() as tg:
        for out in items:
            tg.start_soon(one, out)
    assert made == [1] * 40 and IN_FLIGHT["most"] == most


async def test_a_file_larger_than_its_given_size_gets_no_preview() -> None:
    """Bytes held are counted by the sizes Wiro gives, so one that comes larger is refused."""
    lied = Output(name="a.png", contenttype="image/png", size=1000, url="http://wiro.test/files/big.png")
    told = Output(name="b.png", contenttype="image/png", size=len(PNG), url="http://wiro.test/files/ok.png")
    found = await outputs().previews([lied, told], {})
    assert list(found) == [told.url]


async def test_a_byte_budget_goes_first_come_first_served_and_loses_nothing_to_a_cancel() -> None:
    budget = ByteBudget(100)
    order: list[str] = []
    gates = {name: anyio.Event() for name in "abcd"}
    scopes: dict[str, anyio.CancelScope] = {}

    async def hold(name: str, n: int) -> None:
        with anyio.CancelScope() as scope:
            scopes[name] = scope
            async with budget.hold(n):
                order.append(name)
                await gates[name].wait()

    async with anyio.create_task_group() as tg:
        for name, n in (("a", 60), ("b", 500), ("c", 30), ("d", 10)):  # b: more than all, waits for all
            tg.start_soon(hold, name, n)
            await anyio.wait_all_tasks_blocked()
        assert order == ["a"] and budget.free == 40  # c would fit, but b came first
        scopes["b"].cancel()
        await anyio.wait_all_tasks_blocked()
        assert order == ["a", "c", "d"] and budget.free == 0
        for gate in gates.values():
            gate.set()
    assert budget.free == 100


async def test_downloads_replace_old_files_and_keep_same_named_outputs_apart(tmp_path: Path) -> None:
    target = tmp_path / "reve_generate" / "42"
    target.mkdir(parents=True)
    (target / "0.png").write_bytes(b"an older file of another run")
    items = [
        Output(name="0.png", url="http://wiro.test/files/ok.png"),
        Output(name="../0.png", url="http://wiro.test/files/to-ok"),
        Output(name="x.png", url="http://wiro.test/files/missing"),
        Output(name="y.png", url="https://10.1.2.3/y.png"),
    ]
    saved, note = await outputs(download_dir=tmp_path, download_max_bytes=4000).save(
        "reve_generate", "42", items
    )
    assert saved == {items[0].url: target / "0.png", items[1].url: target / "0-1.png"}
    assert all(path.read_bytes() == PNG for path in saved.values())
    assert "x.png (HTTP 404)" in note and "y.png (10.1.2.3 is an internal address)" in note
    assert sorted(p.name for p in target.iterdir()) == ["0-1.png", "0.png"]  # no partial file left


def test_distinct_names() -> None:
    names = distinct_names([Output(name=n) for n in ("0.png", "0.png", "a/0.png", "", "")])
    assert names == ["0.png", "0-1.png", "0-2.png", "output-3", "output-4"]
