"""``nanoproc run`` of a WASI 0.2 command component: flags, exit statuses, traps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from wasip2_harness import HERE, WASM, make_world, run_cli

EXPECTED = (HERE / "expected" / "p2command.out").read_text()


@pytest.mark.parametrize("engine", ["interp", "llvm"])
def test_run_component(engine: str, tmp_path: Path) -> None:
    make_world(tmp_path)
    stdin = tmp_path / "in.txt"
    stdin.write_bytes(b"hello stdin")
    r = run_cli("p2command", tmp_path, ["x", "7"], ["GREETING=hi"], stdin, "--engine", engine)
    assert r.stdout.decode() == EXPECTED
    assert r.stderr == b"to stderr\n"
    assert r.returncode == 1


def test_run_component_exit_zero(tmp_path: Path) -> None:
    make_world(tmp_path)
    r = run_cli("p2command", tmp_path, ["0"], [], None)
    assert r.returncode == 0, r.stderr
    assert b"read back: written by the guest\n" in r.stdout


def _nanoproc(*args: str) -> subprocess.CompletedProcess[bytes]:
    src = Path(__file__).resolve().parents[2] / "src"
    import os

    env = dict(os.environ, PYTHONPATH=str(src))
    return subprocess.run([sys.executable, "-m", "nanoproc", "run", *args],
                          capture_output=True, timeout=300, env=env)  # fmt: skip


def test_fuel_exhaustion_traps() -> None:
    r = _nanoproc("-W", "fuel=1000", str(WASM / "p2command.wasm"))
    assert r.returncode == 134
    assert b"all fuel consumed" in r.stderr
    assert b"Traceback" not in r.stderr


def test_invoke_component_export() -> None:
    # `run` of the exported wasi:cli/run instance, found by its name; its result in WAVE
    r = _nanoproc("--invoke", "run()", str(WASM / "p2command.wasm"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(b"\nok\n") and b"Traceback" not in r.stderr
    r = _nanoproc("--invoke", "wasi:cli/run@0.2.12#run()", str(WASM / "p2command.wasm"))
    assert r.returncode == 0 and r.stdout.endswith(b"\nok\n"), r.stderr


def test_not_a_command(tmp_path: Path) -> None:
    p = tmp_path / "empty.wat"
    p.write_text("(component)")
    r = _nanoproc(str(p))
    assert r.returncode == 1
    assert b"not a WASI command" in r.stderr and b"Traceback" not in r.stderr


def test_timeout_stops_a_sleeping_component() -> None:
    import time

    start = time.monotonic()
    r = _nanoproc("-W", "timeout=1s", str(WASM / "p2command.wasm"), "sleep")
    assert r.returncode == 134, r.stderr
    assert b"interrupt" in r.stderr and b"Traceback" not in r.stderr
    assert b"woke up" not in r.stdout
    assert time.monotonic() - start < 120
