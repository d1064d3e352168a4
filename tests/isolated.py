"""Run a piece of Python in a fresh interpreter, so that a crash of the host process
(a segfault, an abort, a hang) is a test failure instead of the end of the run.

The snippet gets ``nanoproc`` from this tree and prints one JSON value on its last
line of stdout, which :func:`run_isolated` returns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

SRC = str(Path(__file__).resolve().parents[1] / "src")


def run_isolated(code: str, *args: str, timeout: float = 120) -> Any:
    """Run ``code`` (dedented) with ``args`` as ``sys.argv[1:]``; return the JSON of
    its last stdout line. Fails with the exit status and stderr if it crashed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONFAULTHANDLER"] = "1"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, (
        f"isolated run failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])
