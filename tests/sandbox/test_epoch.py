"""Epoch interruption and the wall-clock timeout built on it.

Code checks the epoch at every function entry and loop header, so an infinite loop
stops whether or not it makes calls (and endless tail calls, which have no loop); ``Store.set_timeout`` and ``-W timeout=`` must
stop one within twice the deadline.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sandbox_helpers import engine, instance, outcome, tier_fixture  # noqa: F401

import nanoproc

SLACK = 2.0
"""Seconds a timeout may fire late: the ticker is a thread, and a loaded 2-core test
machine delayed it by more than the deadline (0.4 s) itself. Never early."""

LOOPS = '''(module
  (import "" "tick" (func $tick))
  (func (export "tight") (loop (br 0)))
  (func (export "counting") (local i32)
    (loop (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if 0 (i32.const 1))))
  (func $rec (export "tail_calling") (return_call $rec))
  (func (export "ticking") (call $tick) (loop (br 0)))
  (func (export "seven") (result i32) i32.const 7)
  (func $nothing)
  (func (export "calling") (loop (call $nothing) (br 0))))'''


def _setup(tier: str, tick: object = None) -> tuple[nanoproc.Store, dict[str, object]]:
    eng = engine(tier, epoch_interruption=True)
    store = nanoproc.Store(eng)
    func = nanoproc.Func(store, nanoproc.FuncType([], []), tick or (lambda: None))
    inst = nanoproc.Instance(store, nanoproc.Module(eng, LOOPS), [func])
    return store, inst.exports(store)  # type: ignore[return-value]


def test_default_deadline_traps_at_once(tier: str) -> None:
    store, ex = _setup(tier)
    assert outcome(nanoproc, store, ex["seven"]) == ("trap", "INTERRUPT")
    store.set_epoch_deadline(1)
    assert ex["seven"](store) == 7  # type: ignore[operator]


def test_epoch_increment_from_a_host_function_stops_a_loop(tier: str) -> None:
    store, ex = _setup(tier, tick=lambda: store.engine.increment_epoch())
    store.set_epoch_deadline(1)
    assert outcome(nanoproc, store, ex["ticking"]) == ("trap", "INTERRUPT")


def test_host_can_move_the_deadline(tier: str) -> None:
    """A cached deadline that was extended by a host function does not trap."""
    calls = []

    def tick() -> None:
        calls.append(1)
        store.engine.increment_epoch()
        if len(calls) < 3:
            store.set_epoch_deadline(1)

    eng = engine(tier, epoch_interruption=True)
    store = nanoproc.Store(eng)
    wat = '''(module (import "" "tick" (func $tick))
      (func (export "f") (result i32) (local i32)
        (loop (call $tick) (local.set 0 (i32.add (local.get 0) (i32.const 1)))
              (br_if 0 (i32.lt_u (local.get 0) (i32.const 10))))
        (local.get 0)))'''
    func = nanoproc.Func(store, nanoproc.FuncType([], []), tick)
    f = nanoproc.Instance(store, nanoproc.Module(eng, wat), [func]).exports(store)["f"]
    store.set_epoch_deadline(1)
    assert outcome(nanoproc, store, f) == ("trap", "INTERRUPT")
    assert len(calls) == 3


@pytest.mark.parametrize("name", ["tight", "counting", "tail_calling", "calling"])
def test_timeout_stops_an_infinite_loop_soon_after_the_deadline(tier: str, name: str) -> None:
    store, ex = _setup(tier)
    deadline = 0.4
    start = time.monotonic()  # before set_timeout: the deadline counts from there
    store.set_timeout(deadline)
    result = outcome(nanoproc, store, ex[name])
    elapsed = time.monotonic() - start
    assert result == ("trap", "INTERRUPT")
    assert deadline <= elapsed < deadline + SLACK, elapsed


def test_a_lagging_ticker_does_not_fire_a_new_timeout_early(tier: str) -> None:
    """One ticker serves every store of an engine. If it falls behind (here: held off
    for 0.3 s), it must not make up the lost ticks in a burst, or a timeout set just
    after counts those ticks and fires early."""
    from nanoproc.api import timeout

    store, ex = _setup(tier)
    other = nanoproc.Store(store.engine)
    other.set_timeout(1.0)  # keeps the engine's ticker running
    with timeout._lock:
        time.sleep(0.3)
    deadline = 0.2
    start = time.monotonic()
    store.set_timeout(deadline)
    assert outcome(nanoproc, store, ex["tight"]) == ("trap", "INTERRUPT")
    assert time.monotonic() - start >= deadline
    thread = timeout.ticker_of(store.engine).thread
    if thread is not None:  # other tests look for running tickers
        thread.join(timeout=10)


def _call_tree(levels: int) -> str:
    """No loop, no recursion, 2**levels calls: $f<i> calls $f<i+1> twice, and only
    the last level (a leaf, which checks nothing itself) does arithmetic."""
    funcs = [f"(func $f{i} (param i32) (result i32) (i32.add (call $f{i + 1} (local.get 0)) "
             f"(call $f{i + 1} (i32.add (local.get 0) (i32.const 1)))))" for i in range(levels)]
    funcs.append(f"(func $f{levels} (param i32) (result i32) "
                 "(i32.xor (i32.mul (local.get 0) (i32.const 31)) (i32.const 7)))")
    return f"(module {' '.join(funcs)} (export \"tree\" (func $f0)))"


def test_timeout_stops_a_call_tree_without_loops(tier: str) -> None:
    """Unbounded time needs no loop or recursion: a tree of calls grows
    exponentially with the module. Functions that call check the epoch."""
    eng = engine(tier, epoch_interruption=True)
    store = nanoproc.Store(eng)
    ex = nanoproc.Instance(store, nanoproc.Module(eng, _call_tree(48)), []).exports(store)
    deadline = 0.4
    start = time.monotonic()
    store.set_timeout(deadline)
    result = outcome(nanoproc, store, ex["tree"], 1)
    elapsed = time.monotonic() - start
    assert result == ("trap", "INTERRUPT")
    assert deadline <= elapsed < deadline + SLACK, elapsed


def test_timeout_is_per_call_when_set_per_call(tier: str) -> None:
    store, ex = _setup(tier)
    for _ in range(3):
        store.set_timeout(0.05)
        assert outcome(nanoproc, store, ex["tight"]) == ("trap", "INTERRUPT")
    store.set_timeout(None)
    assert ex["seven"](store) == 7  # type: ignore[operator]


def test_ticker_thread_ends_after_the_deadline(tier: str) -> None:
    store, ex = _setup(tier)
    store.set_timeout(0.05)
    assert outcome(nanoproc, store, ex["tight"]) == ("trap", "INTERRUPT")
    for _ in range(100):
        if not any(t.name == "nanoproc-epoch-ticker" for t in threading.enumerate()):
            break
        time.sleep(0.01)
    assert not any(t.name == "nanoproc-epoch-ticker" for t in threading.enumerate())


def test_set_timeout_needs_epoch_interruption() -> None:
    store = nanoproc.Store(nanoproc.Engine())
    with pytest.raises(nanoproc.WasmtimeError, match="epoch_interruption"):
        store.set_timeout(1.0)
    eng = engine("interp", epoch_interruption=True)
    with pytest.raises(nanoproc.WasmtimeError):
        nanoproc.Store(eng).set_timeout(-1)


@pytest.mark.parametrize("option", ["timeout=1s", "fuel=100000"])
def test_cli_stops_an_infinite_loop(tier: str, option: str, tmp_path: Path) -> None:
    def run(body: str, name: str) -> tuple[subprocess.CompletedProcess[str], float]:
        wat = tmp_path / name
        wat.write_text(f'(module (func (export "_start") {body}))')
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "nanoproc", "run", "--engine", tier,
                               "-W", option, str(wat)], capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        return proc, time.monotonic() - start

    proc, elapsed = run("(loop (br 0))", "spin.wat")
    assert proc.returncode == 134, proc.stderr
    assert ("interrupt" if option.startswith("timeout") else "all fuel consumed") in proc.stderr
    if option.startswith("timeout"):
        # The same run of a program that returns at once, taken right after, measures
        # what start-up and compiling cost on this machine now (a loaded machine
        # makes them seconds); the deadline is judged on top of it.
        quick, baseline = run("(nop)", "quick.wat")
        assert quick.returncode == 0, quick.stderr
        assert elapsed < baseline + 2 * 1.0 + 0.5


SLEEPER = '''(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "sleep") (result i32)
    ;; one clock subscription at 0: tag 0 (clock), clock id 1 (monotonic), 10 s, relative
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 10000000000))
    (call $poll (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200))))'''


def test_timeout_stops_a_wasi_sleep(tier: str) -> None:
    eng = engine(tier, epoch_interruption=True)
    store = nanoproc.Store(eng)
    store.set_wasi(nanoproc.WasiConfig())
    linker = nanoproc.Linker(eng)
    linker.define_wasi()
    sleep = linker.instantiate(store, nanoproc.Module(eng, SLEEPER)).exports(store)["sleep"]
    store.set_timeout(0.3)
    start = time.monotonic()
    assert outcome(nanoproc, store, sleep) == ("trap", "INTERRUPT")
    assert time.monotonic() - start < 0.6


def test_stack_overflow_is_still_told_from_an_interrupt(tier: str) -> None:
    """In the llvm tier the epoch check at a function entry is the stack check: a
    real overflow must still be STACK_OVERFLOW, and a due deadline INTERRUPT."""
    eng = engine(tier, epoch_interruption=True)
    store = nanoproc.Store(eng)
    wat = '(module (func $r (export "r") (param i32) (result i32) ' \
          '(i32.add (call $r (local.get 0)) (i32.const 1))))'
    ex = nanoproc.Instance(store, nanoproc.Module(eng, wat), []).exports(store)
    store.set_epoch_deadline(1 << 40)
    assert outcome(nanoproc, store, ex["r"], 1) == ("trap", "STACK_OVERFLOW")
    store.set_epoch_deadline(0)
    assert outcome(nanoproc, store, ex["r"], 1) == ("trap", "INTERRUPT")
    store.set_epoch_deadline(1)
    assert outcome(nanoproc, store, ex["r"], 1) == ("trap", "STACK_OVERFLOW")
