"""A team's deployment on loopback, as docs/deploy.md describes it: N `wiro-mcp --http` replicas on
one PostgreSQL journal, behind nginx (round-robin), all started here as real processes and stopped
after. Used by the replica tests and by bench/replicas.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.helpers import free_port, running_http_server

NGINX = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream wiro_mcp {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://wiro_mcp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(ports: Sequence[int], port: int = 0) -> Iterator[int]:
    """nginx on a loopback port, round-robin over the replicas at `ports`; yields its port."""
    program = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not program:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed: .ci/run installs the distribution's nginx package")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    folder = Path(tempfile.mkdtemp(prefix="wiro-mcp-nginx-"))
    port = port or free_port()
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in ports)
    config = folder / "nginx.conf"
    config.write_text(NGINX.format(folder=folder, servers=servers, port=port))
    errors = folder / "stderr.txt"
    with errors.open("w") as errlog:
        proc = subprocess.Popen([program, "-c", str(config), "-p", str(folder)], stderr=errlog)
    try:
        deadline = time.monotonic() + 10
        while not (folder / "nginx.pid").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {errors.read_text()}")
            time.sleep(0.05)
        yield port
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Replica:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


@contextlib.contextmanager
def replicas(env: dict[str, str], ports: Sequence[int], log: Path) -> Iterator[list[Replica]]:
    """A `wiro-mcp --http` process on each port, all with the same settings; their stderr in `log`."""
    with contextlib.ExitStack() as stack:
        errlog = stack.enter_context(log.open("a"))
        started = [Replica(p, stack.enter_context(running_http_server(env, p, stderr=errlog))) for p in ports]
        yield started
