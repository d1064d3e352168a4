"""The tiered engine's cold path: LLVM is not loaded before native code is needed,
the compile cache is asked without it, and the background compile waits until the
program has stopped translating functions (its start-up)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: no tiered strategy")

import nanoproc  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src"

PROGRAM = """
import sys, nanoproc
engine = nanoproc.Engine()
assert engine.tier == "tiered", engine.tier
module = nanoproc.Module(engine, '(module (func (export "f") (param i32) (result i32)'
                         ' (i32.mul (local.get 0) (i32.const 3))))')
store = nanoproc.Store(engine)
inst = nanoproc.Instance(store, module, [])
print(inst.exports(store)["f"](store, 14))
if sys.argv[1] == "fill":
    assert module._compiled.artifacts["tiered"].wait(timeout=300)
loaded = sorted(m for m in ("llvmlite.binding", "nanoproc.internal.llvm.backend")
                if m in sys.modules)
print(",".join(loaded) or "-")
"""


def _run(cache: Path, mode: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(SRC), NANOPROC_CACHE_DIR=str(cache),
               NANOPROC_TIER_DELAY="3600")  # fmt: skip
    env.pop("NANOPROC_STRATEGY", None)
    proc = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True,
                          text=True, env=env, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_a_cold_start_does_not_load_llvm(tmp_path: Path) -> None:
    """Empty cache: the first result comes from interp code, LLVM never loaded (the
    program ends before its compile would start); then a warm start (after a run
    that filled the cache) finds the code through the probe and loads LLVM."""
    cache = tmp_path / "cache"
    assert _run(cache, "cold") == ["42", "-"]
    assert _run(cache, "fill")[0] == "42"
    assert list((cache / "llvm").glob("host-*.key")), "the host key was not recorded"
    out = _run(cache, "warm")
    assert out[0] == "42"
    assert "llvmlite.binding" in out[1]  # native code from the cache: LLVM links it


def test_a_damaged_host_key_is_only_a_cache_miss(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert _run(cache, "fill")[0] == "42"
    for key in (cache / "llvm").glob("host-*.key"):
        key.write_text("not a host key")
    assert _run(cache, "cold") == ["42", "-"]
    for key in (cache / "llvm").glob("host-*.key"):
        key.write_bytes(b"\xff\xfe\n\x00")
    assert _run(cache, "cold") == ["42", "-"]


CHAIN = """
(module
  (func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "run") (param i32) (result i32) (call $f (local.get 0))))
"""


@pytest.fixture
def _own_cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from nanoproc.internal.llvm import cache

    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", {})


@pytest.mark.usefixtures("_own_cache")
def test_the_compile_waits_for_a_quiet_spell(monkeypatch: pytest.MonkeyPatch) -> None:
    """In use past the delay but still translating (QUIET not reached): no compile;
    once quiet, the compile starts and the instance switches."""
    from nanoproc.internal.tiered import backend

    monkeypatch.setattr(backend, "DELAY", 0.01)
    monkeypatch.setattr(backend, "QUIET", 3600.0)
    config = nanoproc.Config()
    config.strategy = "tiered"
    engine = nanoproc.Engine(config)
    module = nanoproc.Module(engine, CHAIN)
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, module, [])
    run = inst.exports(store)["run"]
    assert run(store, 1) == 2
    art = module._compiled.artifacts["tiered"]
    time.sleep(0.3)
    assert art.state == "scheduled"
    assert engine.backend._llvm is None  # LLVM still not loaded
    monkeypatch.setattr(backend, "QUIET", 0.0)
    deadline = time.monotonic() + 300
    while art.state != "ready":
        assert art.state in ("scheduled", "compiling"), art.failed
        assert time.monotonic() < deadline, "never compiled"
        assert run(store, 5) == 6
        time.sleep(0.02)
    assert run(store, 7) == 8
    core = next(got for got in (getattr(inst, n, None) for n in ("_inst", "_instance", "inst"))
                if got is not None and hasattr(got, "tier_state"))
    assert type(core.tier_state).__name__ == "SwitchedState"


@pytest.mark.usefixtures("_own_cache")
def test_a_module_too_big_is_not_compiled_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above MAX_BACKGROUND_CODE the module stays on the interp tier (a whole-module
    compile of CPython for WASI takes CPU hours and gigabytes); asked explicitly
    (wait, serialize), it is still compiled."""
    from nanoproc.internal.tiered import backend

    monkeypatch.setattr(backend, "DELAY", 0.0)
    monkeypatch.setattr(backend, "QUIET", 0.0)
    monkeypatch.setattr(backend, "MAX_BACKGROUND_CODE", 0)
    config = nanoproc.Config()
    config.strategy = "tiered"
    engine = nanoproc.Engine(config)
    module = nanoproc.Module(engine, CHAIN)
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, module, [])
    run = inst.exports(store)["run"]
    assert run(store, 1) == 2
    art = module._compiled.artifacts["tiered"]
    time.sleep(0.3)
    assert art.state == "idle" and engine.backend._llvm is None
    assert run(store, 2) == 3
    assert art.wait(timeout=300)
    assert run(store, 3) == 4
