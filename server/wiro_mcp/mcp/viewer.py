"""The task viewer, an MCP Apps UI (`io.modelcontextprotocol/ui`): one self-contained HTML file
(viewer.html beside this module: no script from anywhere else) that a host renders in a sandboxed
frame beside a task's result, showing its outputs by kind and acting through the host (Keep waiting,
Stop, Use as input). Offered only to clients that negotiated Apps; the others get the same text,
links and structured content as ever (nothing depends on the viewer)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import mcp_types as types
from mcp.server.apps import APP_MIME_TYPE

VIEWER_URI = "ui://wiro-mcp/task"
# Where Wiro's output files come from: its CDN.
WIRO_FILE_ORIGINS = ("https://cdn1.wiro.ai", "https://cdn.wiro.ai")
# The tools whose results the viewer shows: model tools, run_model and the task tools.
UI_META: dict[str, Any] = {"ui": {"resourceUri": VIEWER_URI}}


@cache
def viewer_html() -> str:
    return (resources.files("wiro_mcp.mcp") / "viewer.html").read_text(encoding="utf-8")


def file_origins(base_url: str) -> list[str]:
    """The domains the viewer may load outputs from: Wiro's CDN, and the API's own host where it
    serves files itself (the sandbox emulator on loopback)."""
    parts = urlsplit(base_url)
    own = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    is_wiro = parts.hostname is not None and parts.hostname.endswith("wiro.ai")
    return [*WIRO_FILE_ORIGINS, *([own] if own and not is_wiro else [])]


def _ui_meta(base_url: str) -> dict[str, Any]:
    return {"ui": {"csp": {"resourceDomains": file_origins(base_url)}, "prefersBorder": True}}


def viewer_resource(base_url: str) -> types.Resource:
    return types.Resource(
        name="task-viewer",
        title="Wiro task viewer",
        uri=VIEWER_URI,
        description="Shows a Wiro task's outputs (images, video, audio, text) and acts on it.",
        mime_type=APP_MIME_TYPE,
        _meta=_ui_meta(base_url),
    )


def viewer_contents(base_url: str) -> types.ReadResourceResult:
    contents: list[types.TextResourceContents | types.BlobResourceContents] = [
        types.TextResourceContents(
            uri=VIEWER_URI, mime_type=APP_MIME_TYPE, text=viewer_html(), _meta=_ui_meta(base_url)
        )
    ]
    return types.ReadResourceResult(contents=contents)


def with_viewer(tool: types.Tool) -> types.Tool:
    """The tool as an Apps client sees it: its results shown in the viewer."""
    return tool.model_copy(update={"meta": {**(tool.meta or {}), **UI_META}})
