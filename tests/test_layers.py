"""The layout's rules (docs/design.md), checked on the source: who may import the MCP SDK, who speaks
HTTP, what the pure layers may not touch, no module past ~400 lines, no import that runs back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO
from wiro_mcp.mcp.app import SERVER_TOOL_NAMES

PACKAGE = REPO / "server" / "wiro_mcp"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
# The one-shot commands are an MCP client of the server (they call its tools through the SDK's
# client); the SDK stays out of everything below them.
MCP_ALLOWED = ("mcp/", "commands.py", "terminal.py")
# Output files are fetched without Wiro's credentials, so outputs.py has a client of its own.
# The authorization server's keys are fetched by the OAuth verifier, also without Wiro's credentials.
HTTP_CLIENTS_ALLOWED = ("wiro/", "outputs.py", "mcp/oauth.py")
IO_MODULES = {"sqlite3", "httpx2", "httpcore2", "anyio", "socket", "subprocess", "uvicorn", "starlette"}
PURE_EXCEPT = {"catalog/load.py"}  # reads the spec files; every other catalog module is pure
MAX_LINES = 420


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_the_layers_hold(path: Path) -> None:
    name, found = relative(path), imports(path)
    roots = {m.split(".")[0] for m in found}
    ours = {m.removeprefix("wiro_mcp.").split(".")[0] for m in found if m.startswith("wiro_mcp.")}
    if not name.startswith(MCP_ALLOWED):
        assert not roots & {"mcp", "mcp_types"}, f"{name} imports the MCP SDK"
    if not name.startswith(HTTP_CLIENTS_ALLOWED):
        assert "httpx2.AsyncClient(" not in path.read_text(), f"{name} builds an HTTP client"
    if name.startswith(("catalog/", "wiro/", "tasks/")):
        assert "mcp" not in ours, f"{name} imports the MCP layer"
    if name.startswith("catalog/") and name not in PURE_EXCEPT:
        assert not roots & IO_MODULES and not ours & {"wiro", "tasks", "journal", "outputs", "files"}, name
    if name.startswith("wiro/"):
        assert not ours & {"catalog", "tasks", "journal", "outputs", "live_catalog"}, f"{name} runs back up"
    if name.startswith("tasks/"):
        assert not ours & {"live_catalog", "runtime", "commands", "cli"}, f"{name} runs back up"
    if name.startswith(("tasks/", "catalog/")):  # their texts name no MCP tool: the MCP layer adds that
        named = [t for t in SERVER_TOOL_NAMES if t in path.read_text()]
        assert not named, f"{name} names MCP tools {named}"


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES, relative(path)
