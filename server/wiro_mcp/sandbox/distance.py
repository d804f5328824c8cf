"""The emulator as a far-away Wiro: every HTTP answer (the API's and the files') comes `seconds`
later, as over a real round trip, so what loopback hides (requests queued behind one another in a
pool or a limit) shows. The socket's events keep their task's timeline."""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send


def far_away(app: ASGIApp, seconds: float) -> ASGIApp:
    if seconds <= 0:
        return app

    async def delayed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await anyio.sleep(seconds)
        await app(scope, receive, send)

    return delayed
