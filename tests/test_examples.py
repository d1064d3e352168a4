"""Every example in examples/ runs as ``python examples/X.py`` and prints what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPECTED = {
    "gcd.py": ["gcd(6, 27) = 3", "gcd(1071, 462) = 21"],
    "hello.py": ["Hello from Python! Wasm passed 42."],
    "memory.py": ["Checking memory...", "trapped as expected", "growth past the maximum refused", "Done."],
    "linking.py": ["result: 42", "library calls: 1"],
    "trap.py": ["run(4) = 25", "TrapCode.INTEGER_DIVISION_BY_ZERO", "example!divide", "example!average"],
    "component_host.py": ["greet() = Hello, WebAssembly!", "[('info', 'Hello, WebAssembly!')]"],
    "component_compose.py": ["linked: HELLO, COMPONENTS!", "composed imports: []",
                             "composed: ONE COMPONENT!"],
}


def test_every_example_is_checked():
    checked = [*EXPECTED, "cpython.py"]  # cpython.py: tests/test_cpython_example.py
    assert sorted(p.name for p in (ROOT / "examples").glob("*.py")) == sorted(checked)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example(name):
    run = subprocess.run(
        [sys.executable, f"examples/{name}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    for line in EXPECTED[name]:
        assert line in run.stdout, run.stdout
