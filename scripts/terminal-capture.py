"""Render a real `wiro-mcp call` in the sandbox as an SVG terminal picture (docs/sandbox-call.svg).

    .venv/bin/python scripts/terminal-capture.py

The text is what the command printed (stderr's progress lines, then the result), nothing edited
but the temporary folder's name.
"""

from __future__ import annotations

import html
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["call", "reve_generate", "prompt=a koala in a red shirt", "--sandbox"]


def main() -> None:
    wiro_mcp = str(Path(sys.executable).parent / "wiro-mcp")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "WIRO_MCP_SANDBOX_SECONDS": "2", "WIRO_MCP_JOURNAL": "off"}
        done = subprocess.run(
            [wiro_mcp, *COMMAND], capture_output=True, text=True, cwd=tmp, env=env, check=True
        )
        text = (done.stderr + done.stdout).replace(tmp, ".")
    lines = ['$ wiro-mcp call reve_generate prompt="a koala in a red shirt" --sandbox', *text.splitlines()]
    lines = [line if len(line) <= 118 else line[:115] + "…" for line in lines]
    height = 24 + 18 * len(lines)
    command = ' class="cmd"'
    rows = "\n".join(
        f'<text x="12" y="{28 + 18 * n}"{command if n == 0 else ""}>{html.escape(line)}</text>'
        for n, line in enumerate(lines)
    )
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" width="980" height="{height}" viewBox="0 0 980 {height}">
<style>text {{ font: 13px ui-monospace, Menlo, Consolas, monospace; fill: #d8dee9; white-space: pre; }}
.cmd {{ fill: #a3be8c; }}</style>
<rect width="100%" height="100%" rx="8" fill="#2e3440"/>
{rows}
</svg>
"""
    target = ROOT / "docs" / "sandbox-call.svg"
    target.write_text(svg, encoding="utf-8")
    print(f"wrote {target} ({len(lines)} lines)")


if __name__ == "__main__":
    main()
