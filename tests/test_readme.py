"""The README's API example is real code: run it and check what it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_api_example_runs() -> None:
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None, "README has no python example"
    proc = subprocess.run(
        [sys.executable, "-c", code.group(1)],
        capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3", "3"]
