"""Exceptions under stress, per tier: unwinding thousands of frames, and throwing in
long loops in bounded memory; the store stays usable after each run."""

from __future__ import annotations

import ctypes
import tracemalloc

import pytest

import nanoproc
from core_helpers import api_instance

TIERS = ("interp", "llvm")
"""Tiers that run exceptions."""

ROUNDS = {"interp": 5_000, "llvm": 50_000}
"""Rounds of the loop test per run (native code runs them ~100x faster)."""

DEPTH = {"interp": 10_000, "llvm": 10_000}
"""Frames to unwind (issue 12): the interp tier allows 16,384 nested Wasm calls (see
interp/backend.MAX_FRAMES), the llvm tier as many as ``max_wasm_stack`` holds."""

WAT = """
(module
  (tag $t (param i32))
  (tag $u)
  (func $rec (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (throw $t (i32.const 42))))
    (i32.add (call $rec (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))
  (func (export "deep") (param $n i32) (result i32)
    (block $h (result i32)
      (try_table (catch $t $h) (return (call $rec (local.get $n))))
      (i32.const -1)))
  ;; each round: throw, catch with the exception, rethrow it, catch it again
  (func (export "loop") (param $n i32) (result i32) (local $sum i32)
    (loop $l
      (block $outer (result i32)
        (try_table (catch $t $outer)
          (block $inner (result i32 exnref)
            (try_table (catch_ref $t $inner) (throw $t (local.get $n)))
            (unreachable))
          (throw_ref)
          (drop))
        (i32.const 0))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  ;; exceptions that no one catches inside Wasm, caught by the host each time
  (func (export "escape") (throw $u))
)
"""


def _instance(tier: str) -> tuple[nanoproc.Store, nanoproc.InstanceExports]:
    return api_instance(tier, WAT, max_wasm_stack=16 << 20)  # type: ignore[no-any-return]


@pytest.mark.parametrize("tier", TIERS)
def test_deep_unwinding(tier: str) -> None:
    store, ex = _instance(tier)
    n = DEPTH[tier]
    for _ in range(3):  # the unwinding leaves nothing behind
        assert ex["deep"](store, n) == 42
    assert ex["deep"](store, 10) == 42


def _native_heap() -> int:
    """Bytes malloc has handed out and not got back (glibc's mallinfo2)."""

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]  # fmt: skip

    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("no mallinfo2 in this C library: native memory cannot be measured")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


@pytest.mark.parametrize("tier", TIERS)
def test_throwing_in_loops_runs_in_bounded_memory(tier: str) -> None:
    store, ex = _instance(tier)
    rounds = ROUNDS[tier]
    expect = rounds * (rounds + 1) // 2 & 0xFFFFFFFF
    expect -= (expect & 0x8000_0000) << 1
    ex["loop"](store, rounds)  # warm up (translation, caches, the exception registry)
    tracemalloc.start()
    try:
        ex["loop"](store, rounds)
        first = tracemalloc.get_traced_memory()[0]
        native = _native_heap()
        for _ in range(4):
            assert ex["loop"](store, rounds) == expect
        growth = tracemalloc.get_traced_memory()[0] - first
        native_growth = _native_heap() - native
    finally:
        tracemalloc.stop()
    assert growth < 256 * 1024, f"{growth} bytes kept after {4 * rounds} rounds"
    # Each round exposes an exception object (catch_ref): the collector frees them.
    assert native_growth < 1 << 20, f"{native_growth} native bytes kept after {4 * rounds} rounds"


@pytest.mark.parametrize("tier", TIERS)
def test_uncaught_exceptions_in_a_loop(tier: str) -> None:
    store, ex = _instance(tier)
    for _ in range(2000):
        with pytest.raises(nanoproc.ThrownException):
            ex["escape"](store)
    assert ex["deep"](store, 5) == 42


KEEPER = """
(module
  (tag $t (param i32))
  (tag $c (param i32 exnref))
  (func $catch (param i32) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $t (local.get 0)))
      (ref.null exn)))
  (func $val (param exnref) (result i32)
    (block $h (result i32)
      (try_table (catch $t $h) (throw_ref (local.get 0)))
      (i32.const -1)))
  ;; Each level keeps an exnref in a local and one in another exception's payload
  ;; while the levels below expose thousands more (each collection runs with all
  ;; of them live on the stack); every one is checked on the way back.
  (func $rec (export "rec") (param $n i32) (param $churn i32) (result i32)
    (local $mine exnref) (local $chain exnref) (local $i i32) (local $ok i32)
    (local.set $mine (call $catch (local.get $n)))
    (block $h (result i32 exnref exnref)
      (try_table (catch_ref $c $h) (throw $c (local.get $n) (local.get $mine)))
      (unreachable))
    (local.set $chain)
    (drop) (drop)
    (local.set $i (local.get $churn))
    (block $d (loop $l
      (br_if $d (i32.eqz (local.get $i)))
      (drop (call $catch (local.get $i)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $l)))
    (local.set $ok (i32.const 1))
    (if (local.get $n)
      (then (local.set $ok (call $rec (i32.sub (local.get $n) (i32.const 1))
                                      (local.get $churn)))))
    (if (i32.ne (call $val (local.get $mine)) (local.get $n))
      (then (local.set $ok (i32.const 0))))
    (block $h (result i32 exnref)
      (try_table (catch $c $h) (throw_ref (local.get $chain)))
      (unreachable))
    (call $val)
    (i32.add)  ;; the payload's number and the number of the exception in it: 2n
    (i32.ne (i32.shl (local.get $n) (i32.const 1)))
    (if (then (local.set $ok (i32.const 0))))
    (local.get $ok))
)
"""

KEEPER_SIZE = {"interp": (400, 20), "llvm": (3000, 40)}
"""(levels, exceptions made and dropped per level): on llvm, ~120,000 registrations
of exception objects, so the collector runs many times with thousands live."""


@pytest.mark.parametrize("tier", TIERS)
def test_live_exceptions_survive_collections(tier: str) -> None:
    store, ex = api_instance(tier, KEEPER, max_wasm_stack=16 << 20)
    levels, churn = KEEPER_SIZE[tier]
    for _ in range(2):
        assert ex["rec"](store, levels, churn) == 1


CHAIN = """
(module
  (tag $c (param exnref))
  ;; each exception carries the previous one: all of them stay reachable
  (func (export "chain") (param $n i32) (result i32) (local $e exnref)
    (loop $l
      (block $h (result exnref exnref)
        (try_table (catch_ref $c $h) (throw $c (local.get $e)))
        (unreachable))
      (local.set $e)
      (drop)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.const 7)))
"""


def test_live_exceptions_are_bounded_in_llvm() -> None:
    """A guest keeping every exception alive (a chain through their payloads) traps
    once a million are live, instead of taking all of the host's memory; the store
    works on (the interp tier's exceptions are Python objects, bounded by Python's
    own memory, so this is about the llvm tier's native objects)."""
    pytest.importorskip("llvmlite", reason="llvmlite is not installed")
    from nanoproc.internal.llvm.exnheap import MAX_REGISTRY

    store, ex = _instance_of("llvm", CHAIN)
    assert ex["chain"](store, 10_000) == 7
    with pytest.raises(nanoproc.Trap, match="out of memory"):
        ex["chain"](store, MAX_REGISTRY + 10)
    assert ex["chain"](store, 10) == 7


def _instance_of(tier: str, wat: str) -> tuple[nanoproc.Store, nanoproc.InstanceExports]:
    return api_instance(tier, wat)  # type: ignore[no-any-return]
