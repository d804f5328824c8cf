"""A throwaway PostgreSQL cluster for the tests: the distribution's server, on a loopback port, in a
temporary folder removed after. Run as the `postgres` user when the tests run as root (PostgreSQL
refuses root). Without PostgreSQL installed the tests that need it are skipped, except in CI, where
they fail (`.ci/run` installs it)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "wiro"


def bin_dir() -> Path | None:
    """The newest installed server's programs (Debian keeps them per version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """A running cluster; yields the URL of its `postgres` database (trust authentication, loopback)."""
    programs = bin_dir()
    if programs is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs the distribution's postgresql package")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="wiro-mcp-pg-"))
    data, port = folder / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")

    def run(program: str, *args: str) -> None:
        subprocess.run(_as_server_user([str(programs / program), *args]), check=True, capture_output=True)

    try:
        run("initdb", "-D", str(data), "-A", "trust", "-U", USER, "--no-sync", "-E", "UTF8")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
        try:
            yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """A new, empty database on the cluster; its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')  # pyright: ignore[reportArgumentType]
        db.execute(f'CREATE DATABASE "{name}"')  # pyright: ignore[reportArgumentType]
    return server_url.rsplit("/", 1)[0] + f"/{name}"
