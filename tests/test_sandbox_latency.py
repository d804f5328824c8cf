"""`wiro-mcp sandbox --latency`: the emulator as a far-away Wiro, every HTTP answer that much later
(what loopback hides, requests queued behind one another, then shows in a benchmark)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx2


def test_every_http_answer_comes_the_latency_later_and_a_bad_one_is_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "wiro_mcp", "sandbox", "--port", str(port)]
    proc = subprocess.Popen([*command, "--latency", "0.4"], stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        assert "answers 0.4 s late" in proc.stderr.readline()
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for path in ("/v1/Tool/List", "/files/none/0.png"):
                began = time.monotonic()
                answer = http.post(path, json={}) if path.startswith("/v1") else http.get(path)
                assert time.monotonic() - began >= 0.4 and answer.status_code in (200, 401, 404)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stderr is not None:
            proc.stderr.close()
    for bad in ("-1", "nan", "61"):
        refused = subprocess.run([*command, "--latency", bad], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "--latency must be 0 to 60 seconds" in refused.stderr
