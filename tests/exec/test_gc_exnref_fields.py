"""Exnrefs held in struct and array fields, in every tier: they keep their exception
objects alive across many collections (llvm: the GC's marking follows them, see
llvm/gcheap.py), are thrown again afterwards, and garbage made of them (cycles through
an exception's payload and a struct's field too) is freed, so a loop making them runs
in bounded memory."""

from __future__ import annotations

import ctypes
import gc
import tracemalloc

import pytest

import nanoproc
from core_helpers import api_instance, api_store

TIERS = ("interp", "llvm", "tiered")

WAT = """
(module
  (type $s (struct (field $e (mut exnref)) (field $v (mut i32)) (field $next (mut anyref))))
  (type $a (array (mut exnref)))
  (type $bytes (array (mut i8)))
  (tag $t (param i32))
  (tag $ts (param (ref null $s)))
  (global $keep (mut (ref null $s)) (ref.null $s))
  (global $karr (mut (ref null $a)) (ref.null $a))

  ;; an exnref of an exception of tag $t carrying n
  (func $mk (export "mk") (param $n i32) (result exnref) (local $x exnref)
    (block $h (result i32 exnref)
      (try_table (catch_ref $t $h) (throw $t (local.get $n)))
      (unreachable))
    (local.set $x) (drop) (local.get $x))
  ;; an exnref of an exception of tag $ts carrying s
  (func $mks (param $s (ref null $s)) (result exnref) (local $x exnref)
    (block $h (result (ref null $s) exnref)
      (try_table (catch_ref $ts $h) (throw $ts (local.get $s)))
      (unreachable))
    (local.set $x) (drop) (local.get $x))
  ;; the payload of an exception of tag $t, thrown again (-1 for null)
  (func $payload (export "payload") (param $x exnref) (result i32)
    (if (ref.is_null (local.get $x)) (then (return (i32.const -1))))
    (block $h (result i32)
      (try_table (catch $t $h) (throw_ref (local.get $x)))
      (unreachable)))

  ;; keep = {exn n, n, null}; karr = [n+2, n+1, n+1, n+2, n+1, n+3, n+3, n+1]
  ;; (array.new, array.set, array.fill, array.copy)
  (func (export "stash") (param $n i32)
    (global.set $keep (struct.new $s (call $mk (local.get $n)) (local.get $n) (ref.null any)))
    (global.set $karr (array.new $a (call $mk (i32.add (local.get $n) (i32.const 1)))
                                    (i32.const 8)))
    (array.set $a (global.get $karr) (i32.const 3)
      (call $mk (i32.add (local.get $n) (i32.const 2))))
    (array.fill $a (global.get $karr) (i32.const 5)
      (call $mk (i32.add (local.get $n) (i32.const 3))) (i32.const 2))
    (array.copy $a $a (global.get $karr) (i32.const 0) (global.get $karr) (i32.const 3)
      (i32.const 1)))
  ;; keep.next = s2 with s2.e an exception whose payload is s2 (a kept cycle)
  (func (export "stash_cycle") (param $n i32) (local $s2 (ref null $s))
    (local.set $s2 (struct.new $s (ref.null exn) (local.get $n) (ref.null any)))
    (struct.set $s $e (local.get $s2) (call $mks (local.get $s2)))
    (struct.set $s $next (global.get $keep) (local.get $s2)))
  ;; the payload of keep.e (i < 0) or of karr[i], thrown again
  (func (export "kept") (param $i i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $i) (i32.const 0))
      (then (call $payload (struct.get $s $e (global.get $keep))))
      (else (call $payload (array.get $a (global.get $karr) (local.get $i))))))
  ;; s2.e thrown again: its payload's v
  (func (export "cycle_v") (result i32)
    (block $h (result (ref null $s))
      (try_table (catch $ts $h)
        (throw_ref (struct.get $s $e
          (ref.cast (ref $s) (struct.get $s $next (global.get $keep))))))
      (unreachable))
    (struct.get $s $v))
  (func (export "kept_exn") (result exnref) (struct.get $s $e (global.get $keep)))
  (func (export "throw_kept") (throw_ref (array.get $a (global.get $karr) (i32.const 7))))
  (func (export "set_kept") (param $x exnref) (struct.set $s $e (global.get $keep) (local.get $x)))
  (func (export "drop_kept")
    (global.set $keep (ref.null $s)) (global.set $karr (ref.null $a)))

  ;; k rounds of garbage: a struct holding an exnref, an array of exnrefs, a cycle
  ;; struct <-> exception, a byte array (the GC heap fills up too); returns the sum
  ;; of the payloads read back
  (func (export "churn") (param $k i32) (result i32)
    (local $sum i32) (local $s (ref null $s)) (local $a (ref null $a))
    (loop $l
      (local.set $s (struct.new $s (call $mk (local.get $k)) (local.get $k) (ref.null any)))
      (local.set $a (array.new $a (struct.get $s $e (local.get $s)) (i32.const 4)))
      (struct.set $s $e (local.get $s) (call $mks (local.get $s)))
      (array.set $a (local.get $a) (i32.const 1) (struct.get $s $e (local.get $s)))
      (drop (array.new_default $bytes (i32.const 200)))
      (local.set $sum (i32.add (local.get $sum)
        (call $payload (array.get $a (local.get $a) (i32.const 0)))))
      (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
    (local.get $sum))
)
"""

ROUNDS = {"interp": 3_000, "llvm": 100_000, "tiered": 100_000}


def _instance(tier: str, wat: str = WAT) -> tuple[nanoproc.Store, nanoproc.InstanceExports]:
    return api_instance(tier, wat)  # type: ignore[no-any-return]


def _sum(k: int) -> int:
    s = k * (k + 1) // 2 & 0xFFFFFFFF
    return s - ((s & 0x8000_0000) << 1)


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


def _check_kept(store: nanoproc.Store, ex: nanoproc.InstanceExports, n: int) -> None:
    assert ex["kept"](store, -1) == n
    got = [ex["kept"](store, i) for i in range(8)]
    assert got == [n + 2, n + 1, n + 1, n + 2, n + 1, n + 3, n + 3, n + 1]
    assert ex["cycle_v"](store) == n + 10


@pytest.mark.parametrize("tier", TIERS)
def test_exnrefs_in_fields_survive_many_collections(tier: str) -> None:
    store, ex = _instance(tier)
    ex["stash"](store, 100)
    ex["stash_cycle"](store, 110)
    _check_kept(store, ex, 100)
    k = ROUNDS[tier]
    for _ in range(3):  # many collections of both kinds of object in each
        assert ex["churn"](store, k) == _sum(k)
        store.gc()
        _check_kept(store, ex, 100)
    # thrown again out of Wasm after the collections
    with pytest.raises(nanoproc.ThrownException) as info:
        ex["throw_kept"](store)
    assert info.value.exn(store).fields(store) == [101]
    # an exnref round trip through the host, stored into a field, then collected
    exn = ex["kept_exn"](store)
    ex["set_kept"](store, ex["mk"](store, 7))
    assert ex["churn"](store, 1_000) == _sum(1_000)
    store.gc()
    assert ex["kept"](store, -1) == 7
    assert ex["payload"](store, exn) == 100
    ex["set_kept"](store, exn)
    store.gc()
    assert ex["kept"](store, -1) == 100


@pytest.mark.parametrize("tier", TIERS)
def test_garbage_holding_exnrefs_is_freed(tier: str) -> None:
    store, ex = _instance(tier)
    k = ROUNDS[tier]
    ex["stash"](store, 5)
    ex["stash_cycle"](store, 15)
    assert ex["churn"](store, k) == _sum(k)  # warm up: translation, registry, heap
    gc.collect()
    if tier == "interp":
        tracemalloc.start()
        try:
            assert ex["churn"](store, k) == _sum(k)
            gc.collect()
            first = tracemalloc.get_traced_memory()[0]
            for _ in range(3):
                assert ex["churn"](store, k) == _sum(k)
            gc.collect()
            growth = tracemalloc.get_traced_memory()[0] - first
        finally:
            tracemalloc.stop()
        assert growth < 256 * 1024, f"{growth} bytes kept after {3 * k} rounds"
    else:
        native = _native_heap()
        for _ in range(4):
            assert ex["churn"](store, k) == _sum(k)
        growth = _native_heap() - native
        # Each round registers two exception objects (one in a cycle with a struct)
        # and makes ~400 bytes of GC objects: 400,000 rounds kept would be > 100 MB.
        assert growth < 4 << 20, f"{growth} native bytes kept after {4 * k} rounds"
        sc = store._state.tier_state.sc
        assert sc.exn_n < 20_000, sc.exn_n
    _check_kept(store, ex, 5)
    ex["drop_kept"](store)
    store.gc()
    if tier != "interp":  # nothing reaches the kept ones any more: all freed
        assert store._state.tier_state.sc.exn_n <= 2


IMPORTED = """
(module
  (type $s (struct (field $e exnref)))
  (type $a (array exnref))
  (import "host" "t" (tag $t (param i32)))
  (import "host" "x" (global $x exnref))
  ;; GC objects made by constant expressions and an element segment (the host's
  ;; ExnRef enters native code through them)
  (global $k (ref $s) (struct.new $s (global.get $x)))
  (elem $seg exnref (global.get $x) (ref.null exn) (global.get $x))
  (func $payload (param $x exnref) (result i32)
    (if (ref.is_null (local.get $x)) (then (return (i32.const -1))))
    (block $h (result i32)
      (try_table (catch $t $h) (throw_ref (local.get $x)))
      (unreachable)))
  (func (export "from_global") (result i32)
    (call $payload (struct.get $s $e (global.get $k))))
  (func (export "from_elem") (param $i i32) (result i32)
    (call $payload (array.get $a (array.new_elem $a $seg (i32.const 0) (i32.const 3))
                                 (local.get $i))))
  (func (export "churn") (param $n i32)
    (loop $l
      (drop (array.new_default $a (i32.const 100)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
)
"""


@pytest.mark.parametrize("tier", TIERS)
def test_host_exnrefs_stored_by_constant_expressions_and_segments(tier: str) -> None:
    store = api_store(tier)
    engine = store.engine
    tag = nanoproc.Tag(store, nanoproc.TagType(nanoproc.FuncType([nanoproc.ValType.i32()], [])))
    exn = nanoproc.ExnRef(store, tag, [77])
    x = nanoproc.Global(store, nanoproc.GlobalType(nanoproc.ValType.exnref(), False),
                        nanoproc.Val.exnref(exn))
    linker = nanoproc.Linker(engine)
    linker.define(store, "host", "t", tag)
    linker.define(store, "host", "x", x)
    ex = linker.instantiate(store, nanoproc.Module(engine, IMPORTED)).exports(store)
    for _ in range(2):
        ex["churn"](store, 20_000)  # ~16 MB of arrays: several collections
        store.gc()
        assert ex["from_global"](store) == 77
        assert [ex["from_elem"](store, i) for i in range(3)] == [77, -1, 77]


DEEP = """
(module
  (type $box (struct (field $e (mut exnref))))
  (type $boxes (array (mut exnref)))
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
  ;; Each level keeps an exnref in a local, one in a struct and another (carrying
  ;; the second) in an array, reachable only from the level's frame, while the levels below
  ;; expose and drop thousands more (collections run with all of them live).
  (func $rec (export "rec") (param $n i32) (param $churn i32) (result i32)
    (local $b (ref null $box)) (local $a (ref null $boxes)) (local $x exnref)
    (local $mine exnref) (local $i i32) (local $ok i32)
    (local.set $mine (call $catch (i32.add (local.get $n) (i32.const 1000000))))
    (local.set $b (struct.new $box (call $catch (local.get $n))))
    (local.set $a (array.new_default $boxes (i32.const 3)))
    (block $h (result i32 exnref exnref)
      (try_table (catch_ref $c $h)
        (throw $c (local.get $n) (struct.get $box $e (local.get $b))))
      (unreachable))
    (local.set $x)
    (drop) (drop)
    (array.set $boxes (local.get $a) (i32.const 2) (local.get $x))
    (local.set $x (ref.null exn))
    (local.set $i (local.get $churn))
    (block $d (loop $l
      (br_if $d (i32.eqz (local.get $i)))
      (drop (struct.new $box (call $catch (local.get $i))))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $l)))
    (local.set $ok (i32.const 1))
    (if (local.get $n)
      (then (local.set $ok (call $rec (i32.sub (local.get $n) (i32.const 1))
                                      (local.get $churn)))))
    (if (i32.ne (call $val (struct.get $box $e (local.get $b))) (local.get $n))
      (then (local.set $ok (i32.const 0))))
    (if (i32.ne (call $val (local.get $mine)) (i32.add (local.get $n) (i32.const 1000000)))
      (then (local.set $ok (i32.const 0))))
    (block $h (result i32 exnref)
      (try_table (catch $c $h) (throw_ref (array.get $boxes (local.get $a) (i32.const 2))))
      (unreachable))
    (call $val)
    (i32.add)  ;; the payload's number and the number of the exception in it: 2n
    (i32.ne (i32.shl (local.get $n) (i32.const 1)))
    (if (then (local.set $ok (i32.const 0))))
    (local.get $ok))
  ;; n live exceptions in one array (the registry must grow), checked after
  (func (export "many") (param $n i32) (result i32)
    (local $a (ref null $boxes)) (local $i i32) (local $sum i32)
    (local.set $a (array.new_default $boxes (local.get $n)))
    (loop $l
      (array.set $boxes (local.get $a) (local.get $i) (call $catch (local.get $i)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get $n))))
    (local.set $i (i32.const 0))
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (call $val (array.get $boxes (local.get $a) (local.get $i)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get $n))))
    (local.get $sum))
  ;; keeps exnrefs in fields, then traps half-way (an allocation too large)
  (func (export "trap") (param $n i32)
    (local $a (ref null $boxes))
    (local.set $a (array.new $boxes (call $catch (local.get $n)) (i32.const 4)))
    (drop (call $rec (i32.const 20) (i32.const 50)))
    (drop (array.new_default $boxes (i32.const -1))))
)
"""

DEEP_SIZE = {"interp": (300, 10), "llvm": (2000, 40), "tiered": (2000, 40)}
"""(levels, exceptions made and dropped per level): on llvm ~80,000 registrations, so
collections of both kinds run many times with thousands of exceptions live."""


@pytest.mark.parametrize("tier", TIERS)
def test_exnrefs_in_objects_held_by_deep_frames_survive(tier: str) -> None:
    store, ex = api_instance(tier, DEEP, max_wasm_stack=16 << 20)
    levels, churn = DEEP_SIZE[tier]
    n = 10_000 if tier == "interp" else 40_000
    for _ in range(2):
        assert ex["rec"](store, levels, churn) == 1
        assert ex["many"](store, n) == n * (n - 1) // 2
        # a trap leaves nothing behind: the store runs on, its memory is reclaimed
        with pytest.raises(nanoproc.Trap, match="allocation too large"):
            ex["trap"](store, 5)
        store.gc()
        assert ex["rec"](store, 10, 5) == 1
    store.gc()
    if tier != "interp":  # nothing holds any of them now
        assert store._state.tier_state.sc.exn_n <= 2


HOSTED = """
(module
  (type $box (struct (field $e (mut exnref))))
  (import "host" "poke" (func $poke (param exnref) (result exnref)))
  (tag $t (export "t") (param i32))
  (func $catch (param i32) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $t (local.get 0)))
      (ref.null exn)))
  (func $val (param exnref) (result i32)
    (block $h (result i32)
      (try_table (catch $t $h) (throw_ref (local.get 0)))
      (i32.const -1)))
  ;; every level: an exnref in a local, the host's exnref in a struct; the host
  ;; collects while all the levels above hold theirs
  (func $rec (export "rec") (param $n i32) (result i32)
    (local $mine exnref) (local $b (ref null $box)) (local $ok i32)
    (local.set $mine (call $catch (local.get $n)))
    (local.set $b (struct.new $box
      (call $poke (call $catch (i32.add (local.get $n) (i32.const 500))))))
    (local.set $ok (i32.const 1))
    (if (local.get $n)
      (then (local.set $ok (call $rec (i32.sub (local.get $n) (i32.const 1))))))
    (if (i32.ne (call $val (local.get $mine)) (local.get $n))
      (then (local.set $ok (i32.const 0))))
    (if (i32.ne (call $val (struct.get $box $e (local.get $b)))
                (i32.add (local.get $n) (i32.const 1000)))
      (then (local.set $ok (i32.const 0))))
    (local.get $ok))
)
"""


@pytest.mark.parametrize("tier", TIERS)
def test_collections_from_a_host_function_keep_the_frames_exnrefs(tier: str) -> None:
    store = api_store(tier)
    engine = store.engine
    tags: list[nanoproc.Tag] = []

    def poke(exn: nanoproc.ExnRef) -> nanoproc.ExnRef:
        store.gc()
        (v,) = exn.fields(store)
        out = nanoproc.ExnRef(store, tags[0], [v + 500])
        store.gc()
        return out

    ref = nanoproc.ValType.exnref()
    linker = nanoproc.Linker(engine)
    linker.define(store, "host", "poke",
                  nanoproc.Func(store, nanoproc.FuncType([ref], [ref]), poke))
    ex = linker.instantiate(store, nanoproc.Module(engine, HOSTED)).exports(store)
    tags.append(ex["t"])
    for _ in range(2):
        assert ex["rec"](store, 60) == 1
    store.gc()
    if tier != "interp":
        assert store._state.tier_state.sc.exn_n <= 2


BIG_HEAP = """
(module
  (type $node (struct (field $v i32) (field $next (mut (ref null $node)))))
  (type $box (struct (field exnref)))
  (tag $t (param i32))
  (global $keep (mut (ref null $node)) (ref.null $node))
  (func (export "build") (param $n i32) (local $head (ref null $node))
    (loop $l
      (local.set $head (struct.new $node (local.get $n) (local.get $head)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (global.set $keep (local.get $head)))
  ;; each round exposes an exception (catch_ref) that is garbage at once
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
    (local.get $sum)))
"""


@pytest.mark.parametrize("tier", ("llvm", "tiered"))
def test_exposing_exceptions_next_to_a_big_heap_collects_rarely(tier: str) -> None:
    """A full exception registry grows instead of marking a GC heap far bigger than
    it (llvm/exnheap.GC_BYTES_PER_SLOT): 200,000 exposures next to ~1 million live
    structs take a few collections, not one per 4,096 exposures (~50), and the
    registry stays within its share of the heap."""
    store, ex = _instance(tier, BIG_HEAP)
    ex["build"](store, 1_000_000)
    ns = store._state.tier_state
    before = ns.gc.stats()["collections"]
    for _ in range(2):
        assert ex["loop"](store, 100_000) == _sum(100_000)
    assert ns.gc.stats()["collections"] - before <= 12
    assert ns.sc.exn_cap * 64 <= 2 * ns.gc.live_bytes()
