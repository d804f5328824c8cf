"""The `wiro-mcp` command. The only module that reads the environment (through Settings).

Global flags (--sandbox, --models, --tools, --catalog-dir, -v, and for serving --http/--host/--port) may
stand before or after the command; one that does not apply to the command is refused, never
silently ignored.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from pydantic import SecretStr, ValidationError

from wiro_mcp import __version__
from wiro_mcp.catalog.spec import MEDIA
from wiro_mcp.errors import ConfigError, SpecError
from wiro_mcp.journal import ACTIVE, JOURNAL_STATES
from wiro_mcp.sandbox import SANDBOX_API_KEY
from wiro_mcp.settings import Settings, unknown_variables

EPILOG = """\
with no COMMAND it serves MCP over stdio (or streamable HTTP with --http).

examples:
  wiro-mcp --sandbox                  try every tool with no account (stdio)
  wiro-mcp --http --port 8765         streamable HTTP at 127.0.0.1:8765/mcp
  wiro-mcp --http --host 0.0.0.0      a team, behind OAuth (docs/deploy.md)
  wiro-mcp call reve_generate prompt="a koala in a red shirt" --sandbox
  wiro-mcp tools reve_generate        a tool's arguments, values, defaults
  wiro-mcp models search kling video  any Wiro model (`models show SLUG`)
  wiro-mcp --models 'category:text-to-video'   typed tools for a category
  wiro-mcp journal list --state running        tasks started earlier
  wiro-mcp import page.txt --into tools/

settings come from the environment: WIRO_API_KEY, WIRO_API_SECRET,
WIRO_API_BASE_URL and WIRO_MCP_* (docs/settings.md lists them all)."""

# Which global flags each command takes (None: serving, no command).
APPLIES: dict[str | None, frozenset[str]] = {
    None: frozenset({"sandbox", "models", "tools", "catalog_dir", "verbose", "http", "host", "port"}),
    "tools": frozenset({"sandbox", "models", "tools", "catalog_dir", "verbose"}),
    "call": frozenset({"sandbox", "models", "tools", "catalog_dir", "verbose"}),
    "models": frozenset({"sandbox", "catalog_dir", "verbose"}),
    "import": frozenset({"verbose"}),
    "sandbox": frozenset({"catalog_dir", "verbose", "host", "port"}),
    "journal": frozenset({"sandbox", "verbose"}),
}
# The global flags: the words on the command line, and how argparse takes each.
GLOBAL_FLAGS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "sandbox": (
        ("--sandbox",),
        {"action": "store_true", "help": "use the built-in Wiro emulator (no account, no cost)"},
    ),
    "models": (
        ("--models",),
        {
            "metavar": "PATTERNS",
            "help": "models offered as typed tools: slugs, globs ('runway/*'), 'category:NAME', 'bundled' "
            "(comma-separated; default: bundled)",
        },
    ),
    "tools": (
        ("--tools",),
        {"metavar": "GLOBS", "help": "only these tools (comma-separated globs, e.g. 'runway_*')"},
    ),
    "catalog_dir": (
        ("--catalog-dir",),
        {"metavar": "DIR", "action": "append", "help": "an extra folder of spec files"},
    ),
    "verbose": (("-v", "--verbose"), {"action": "store_true", "help": "log INFO lines to stderr"}),
    "http": (("--http",), {"action": "store_true", "help": "serve streamable HTTP at /mcp"}),
    "host": (("--host",), {"help": "address to bind (default 127.0.0.1)"}),
    "port": (("--port",), {"type": int, "help": "port to bind"}),
}
ONE_SHOT = frozenset({"tools", "call", "import", "journal", "models"})


class _Intermixed(argparse.ArgumentParser):
    """A command's parser that takes flags anywhere, between its positional words too
    (`models search --sandbox video`, `call reve_generate --json prompt=x`)."""

    _inner = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace | None, list[str]]:
        if self._inner:  # parse_known_intermixed_args calls this itself, twice
            return super().parse_known_args(args, namespace)
        self._inner = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inner = False


def _flag(parser: argparse.ArgumentParser, name: str) -> None:
    """Add one global flag; SUPPRESS keeps a value given before the command from being reset after it."""
    words, options = GLOBAL_FLAGS[name]
    parser.add_argument(*words, default=argparse.SUPPRESS, **options)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="wiro-mcp",
        description="An MCP server that gives AI assistants every Wiro model as a typed tool.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"wiro-mcp {__version__}")
    for name in GLOBAL_FLAGS:
        _flag(top, name)
    sub = top.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=_Intermixed)

    tools = sub.add_parser("tools", help="list the tools, or show one tool's arguments")
    tools.add_argument("name", nargs="?", help="one tool to describe in full")
    tools.add_argument("--json", action="store_true", help="print the MCP tool definitions as JSON")

    call = sub.add_parser("call", help="call one tool from the terminal, with progress")
    call.add_argument("tool", help="a tool name (see `wiro-mcp tools`)")
    call.add_argument(
        "args", nargs="*", metavar="key=value", help="arguments; values are JSON when they parse"
    )
    call.add_argument(
        "--json", action="store_true", help="print only the structured result, as one JSON document"
    )
    call.add_argument(
        "--dry-run",
        action="store_true",
        help="only validate the arguments and quote the price; nothing is sent",
    )
    call.add_argument(
        "--yes",
        action="store_true",
        help="start it without asking even when WIRO_MCP_CONFIRM_ABOVE_USD would (otherwise asked on the terminal)",
    )
    call.add_argument(
        "--save",
        metavar="DIR",
        default="wiro-outputs",
        help="save the outputs under DIR (default ./wiro-outputs)",
    )

    imp = sub.add_parser("import", help="turn Wiro model pages (or Tool/Detail JSON) into catalog spec files")
    imp.add_argument(
        "pages", nargs="+", type=Path, help="page text/markdown files or Tool/Detail JSON answers"
    )
    imp.add_argument(
        "--into", type=Path, help="write DIR/<tool>.json (keeping any curation there); default: stdout"
    )

    models = sub.add_parser("models", help="search Wiro's whole catalog, show a model, pull spec files")
    models.add_argument("action", choices=["search", "show", "pull"])
    models.add_argument("words", nargs="*", metavar="QUERY|SLUG", help="search words, or model slugs")
    models.add_argument("--category", help="search: only this category (e.g. text-to-video)")
    models.add_argument("--media", choices=MEDIA, help="search: output media")
    models.add_argument("--limit", type=int, default=20, help="search: at most this many (default 20)")
    models.add_argument("--json", action="store_true", help="search/show: JSON output")
    models.add_argument("--into", type=Path, help="pull: the folder to write spec files into")

    sandbox = sub.add_parser("sandbox", help="run the Wiro emulator alone, for curl or another client")
    sandbox.add_argument(
        "--seconds", type=float, help="how long every task takes (default: 3 s images, 6 s videos)"
    )
    sandbox.add_argument(
        "--api-key", default=SANDBOX_API_KEY, help=f"the key clients must send (default {SANDBOX_API_KEY})"
    )
    sandbox.add_argument(
        "--api-secret", help="require signatures made with this secret (default: key-only mode)"
    )
    sandbox.add_argument(
        "--extra-models",
        type=int,
        default=0,
        metavar="N",
        help="serve N generated models besides the real ones",
    )
    sandbox.add_argument(
        "--shared-sockets",
        action="store_true",
        help="serve every task registered on a socket connection (Wiro documents one per connection)",
    )
    sandbox.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="answer every HTTP request this much later, as a far-away Wiro does (default 0)",
    )

    journal = sub.add_parser("journal", help="list, locate or clear the local task journal")
    journal.add_argument("action", choices=["list", "clear", "path"])
    journal.add_argument("--json", action="store_true", help="list: one JSON object per line")
    journal.add_argument(
        "--state",
        choices=(ACTIVE, *JOURNAL_STATES),
        metavar="STATE",
        help=f"list: only tasks in this state ({ACTIVE} = queued or running; {', '.join(JOURNAL_STATES)})",
    )
    journal.add_argument("--tool", help="list: only tasks of this tool")
    journal.add_argument("--since", metavar="AGE", help="list: only tasks newer than AGE (30m, 12h, 7d)")
    journal.add_argument("--limit", type=int, default=50, help="list: at most this many (default 50)")
    journal.add_argument("--yes", action="store_true", help="clear: do not ask for confirmation")

    for command, sub_parser in (
        ("tools", tools),
        ("call", call),
        ("models", models),
        ("import", imp),
        ("sandbox", sandbox),
        ("journal", journal),
    ):
        for name in sorted(APPLIES[command]):
            _flag(sub_parser, name)
    return top


def _refuse_misplaced(args: argparse.Namespace) -> None:
    given = [name for name in GLOBAL_FLAGS if hasattr(args, name)]
    wrong = [GLOBAL_FLAGS[n][0][0] for n in given if n not in APPLIES[args.command]]
    if wrong:
        where, helping = (
            (f"the {args.command!r} command", f"wiro-mcp {args.command} --help")
            if args.command
            else ("serving", "wiro-mcp --help")
        )
        raise ConfigError(f"{', '.join(wrong)} does not apply to {where}; see `{helping}`")


def parse_age(text: str) -> float:
    """`30m`, `12h`, `7d`, `90s` → seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    try:
        return float(text[:-1]) * units[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise ConfigError(f"--since {text!r}: give an age such as 30m, 12h or 7d") from None


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "tools", None):
        overrides["tools"] = args.tools
    if getattr(args, "models", None):
        overrides["models"] = args.models
    if getattr(args, "catalog_dir", None):
        overrides["catalog_dirs"] = os.pathsep.join(args.catalog_dir)
    if args.command is None and hasattr(args, "host"):
        overrides["http_host"] = args.host
    if args.command is None and hasattr(args, "port"):
        overrides["http_port"] = args.port
    settings = Settings(**overrides)
    if args.command == "call" and not settings.download_dir:
        settings = settings.model_copy(update={"download_dir": args.save})  # a terminal user wants files
    return settings


def _logging(settings: Settings, command: str | None, verbose: bool) -> None:
    level = settings.log_level
    if command in ONE_SHOT and "log_level" not in settings.model_fields_set and not verbose:
        level = "WARNING"  # one-shot commands stay quiet unless asked
    if verbose and "log_level" not in settings.model_fields_set:
        level = "INFO"
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx2", "httpcore", "httpcore2", "uvicorn.error", "mcp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _dispatch(args: argparse.Namespace) -> int:
    from wiro_mcp import commands

    sandbox = getattr(args, "sandbox", False)
    if args.command == "import":
        return commands.import_pages(args.pages, args.into)
    settings = _settings(args)
    _logging(settings, args.command, getattr(args, "verbose", False))
    match args.command:
        case None:
            anyio.run(commands.serve, settings, sandbox, getattr(args, "http", False))
        case "tools":
            return anyio.run(commands.list_tools, settings, sandbox, args.name, args.json)
        case "call":
            return anyio.run(
                commands.call_tool, settings, sandbox, args.tool, args.args, args.json, args.dry_run, args.yes
            )
        case "sandbox":
            secret = SecretStr(args.api_secret) if args.api_secret else None
            host, port = getattr(args, "host", "127.0.0.1"), getattr(args, "port", 8790)
            if args.extra_models < 0:
                raise ConfigError("--extra-models must be 0 or more")
            if not 0 <= args.latency <= 60:  # NaN is neither
                raise ConfigError("--latency must be 0 to 60 seconds")
            anyio.run(
                commands.run_sandbox,
                settings,
                host,
                port,
                args.seconds,
                args.api_key,
                secret,
                args.extra_models,
                args.shared_sockets,
                args.latency,
            )
        case "models":
            return _models(args, settings, sandbox)
        case "journal":
            since = time.time() - parse_age(args.since) if args.since else None
            options = commands.JournalOptions(
                json=args.json, state=args.state, tool=args.tool, since=since, limit=args.limit, yes=args.yes
            )
            return anyio.run(commands.journal, settings, args.action, sandbox, options)
        case _:
            raise AssertionError(args.command)
    return 0


def _models(args: argparse.Namespace, settings: Settings, sandbox: bool) -> int:
    from wiro_mcp.model_commands import ModelsOptions, models

    if args.action in ("show", "pull") and not args.words:
        raise ConfigError(f"models {args.action}: name at least one model slug (owner/project)")
    if args.action == "pull" and args.into is None:
        raise ConfigError("models pull: say where with --into DIR")
    options = ModelsOptions(
        words=tuple(args.words),
        category=args.category,
        media=args.media,
        limit=args.limit,
        json=args.json,
        into=args.into,
    )
    return anyio.run(models, settings, sandbox, args.action, options)


def _variable(loc: tuple[int | str, ...]) -> str:
    """The environment variable a settings error is about."""
    name = str(loc[0]) if loc else ""
    return (
        name
        if name.startswith("WIRO_")
        else f"WIRO_{name.upper()}"
        if name.startswith("api_")
        else f"WIRO_MCP_{name.upper()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for problem in unknown_variables(os.environ):  # a misspelt setting must not pass unseen
        print(f"wiro-mcp: warning: {problem}", file=sys.stderr)
    try:
        _refuse_misplaced(args)
        return _dispatch(args)
    except (ConfigError, SpecError) as exc:
        print(f"wiro-mcp: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "; ".join(f"{_variable(e['loc'])}: {e['msg']}" for e in exc.errors())
        print(f"wiro-mcp: bad setting: {problems}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        fresh = "\n" if sys.stderr.isatty() else ""  # a live progress bar leaves the cursor mid-line
        print(f"{fresh}wiro-mcp: interrupted", file=sys.stderr)
        return 130
