"""The `wiro-mcp` command. The only module that reads the environment (through Settings)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from pydantic import SecretStr, ValidationError

from wiro_mcp import __version__
from wiro_mcp.errors import ConfigError, SpecError
from wiro_mcp.settings import Settings

EPILOG = """\
with no COMMAND it serves MCP over stdio (or streamable HTTP with --http).

examples:
  wiro-mcp --sandbox                       try every tool with no account (stdio)
  wiro-mcp --http --port 8765              streamable HTTP at http://127.0.0.1:8765/mcp
  wiro-mcp call reve_generate prompt="a koala in a red shirt" --sandbox
  wiro-mcp import page.txt --into tools/

settings come from the environment: WIRO_API_KEY, WIRO_API_SECRET, WIRO_API_BASE_URL and
WIRO_MCP_* (see the README's table)."""


def _serve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox", action="store_true", help="use the built-in Wiro emulator (no account, no cost)"
    )
    parser.add_argument(
        "--tools", metavar="GLOBS", help="only these tools (comma-separated globs, e.g. 'runway_*')"
    )
    parser.add_argument("--catalog-dir", metavar="DIR", action="append", help="an extra folder of spec files")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="wiro-mcp",
        description="An MCP server that gives AI assistants every Wiro model as a typed tool.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"wiro-mcp {__version__}")
    top.add_argument("--http", action="store_true", help="serve streamable HTTP at /mcp instead of stdio")
    top.add_argument(
        "--host", help="HTTP address (default 127.0.0.1; off loopback needs WIRO_MCP_HTTP_TOKEN)"
    )
    top.add_argument("--port", type=int, help="HTTP port (default 8765)")
    _serve_flags(top)
    sub = top.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    tools = sub.add_parser("tools", help="list the tools this server offers")
    _serve_flags(tools)
    tools.add_argument("--json", action="store_true", help="print the MCP tool list as JSON")

    call = sub.add_parser("call", help="call one tool from the terminal, with a progress bar")
    call.add_argument("tool", help="a tool name (see `wiro-mcp tools`)")
    call.add_argument(
        "args", nargs="*", metavar="key=value", help="arguments; values are JSON when they parse"
    )
    call.add_argument("--json", action="store_true", help="print the structured result as JSON")
    call.add_argument(
        "--save",
        metavar="DIR",
        default="wiro-outputs",
        help="save the outputs under DIR (default ./wiro-outputs)",
    )
    _serve_flags(call)

    imp = sub.add_parser("import", help="turn Wiro model pages (or Tool/Detail JSON) into catalog spec files")
    imp.add_argument(
        "pages", nargs="+", type=Path, help="page text/markdown files or Tool/Detail JSON answers"
    )
    imp.add_argument(
        "--into", type=Path, help="write DIR/<tool>.json (keeping any curation there); default: stdout"
    )

    sandbox = sub.add_parser("sandbox", help="run the Wiro emulator alone, for curl or another client")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8790)
    sandbox.add_argument(
        "--seconds", type=float, help="how long every task takes (default: 3 s images, 6 s videos)"
    )
    sandbox.add_argument(
        "--api-key", default="sandbox-key", help="the key clients must send (default sandbox-key)"
    )
    sandbox.add_argument(
        "--api-secret", help="require signatures made with this secret (default: key-only mode)"
    )

    journal = sub.add_parser("journal", help="list, locate or clear the local task journal")
    journal.add_argument("action", choices=["list", "clear", "path"])
    journal.add_argument("--sandbox", action="store_true", help="the sandbox's journal")
    return top


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "tools", None):
        overrides["tools"] = args.tools
    if getattr(args, "catalog_dir", None):
        overrides["catalog_dirs"] = os.pathsep.join(args.catalog_dir)
    if getattr(args, "host", None) and args.command is None:
        overrides["http_host"] = args.host
    if getattr(args, "port", None) is not None and args.command is None:
        overrides["http_port"] = args.port
    settings = Settings(**overrides)
    if args.command == "call" and not settings.download_dir:
        settings = settings.model_copy(update={"download_dir": args.save})  # a terminal user wants files
    return settings


def _logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr, level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx2", "httpcore", "httpcore2", "uvicorn.error", "mcp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "import":
            from wiro_mcp.commands import import_pages

            return import_pages(args.pages, args.into)
        settings = _settings(args)
        _logging(settings.log_level)
        from wiro_mcp import commands

        match args.command:
            case None:
                anyio.run(commands.serve, settings, args.sandbox, args.http)
            case "tools":
                anyio.run(commands.list_tools, settings, args.sandbox, args.json)
            case "call":
                return anyio.run(commands.call_tool, settings, args.sandbox, args.tool, args.args, args.json)
            case "sandbox":
                secret = SecretStr(args.api_secret) if args.api_secret else None
                anyio.run(
                    commands.run_sandbox, settings, args.host, args.port, args.seconds, args.api_key, secret
                )
            case "journal":
                return anyio.run(commands.journal, settings, args.action, args.sandbox)
            case _:
                raise AssertionError(args.command)
    except (ConfigError, SpecError) as exc:
        print(f"wiro-mcp: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        print(f"wiro-mcp: bad setting: {problems}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
