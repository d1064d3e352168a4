"""GC values through the public API, in both tiers: results (one, several, externref
holding a GC value after ``extern.convert_any``), arguments, host functions taking
and returning them, and repeated calls after a trap."""

from __future__ import annotations

from typing import Any

import pytest

import nanoproc
from nanoproc.api.tiers import llvm_unavailable_reason

TIERS = ["interp", "llvm"]

WAT = """(module
  (type $s (struct (field i32)))
  (import "host" "echo_x" (func $echo_x (param externref) (result externref)))
  (import "host" "echo_a" (func $echo_a (param anyref) (result anyref)))
  (import "host" "make_x" (func $make_x (param i32) (result externref)))
  (func (export "x1") (param i32) (result externref)
    (extern.convert_any (ref.i31 (local.get 0))))
  (func (export "x4") (param i32) (result externref i32 externref anyref)
    (extern.convert_any (struct.new $s (local.get 0))) (i32.const 7) (ref.null extern)
    (ref.i31 (i32.const 5)))
  (func (export "field") (param externref) (result i32)
    (struct.get $s 0 (ref.cast (ref $s) (any.convert_extern (local.get 0)))))
  (func (export "i31") (param externref) (result i32)
    (i31.get_s (ref.cast i31ref (any.convert_extern (local.get 0)))))
  (func (export "id") (param externref) (result externref) (local.get 0))
  (func (export "through_host") (param i32) (result i32)
    (struct.get $s 0 (ref.cast (ref $s) (any.convert_extern
      (call $echo_x (extern.convert_any (struct.new $s (local.get 0))))))))
  (func (export "through_host_a") (param i32) (result i32)
    (i31.get_u (ref.cast i31ref (call $echo_a (ref.i31 (local.get 0))))))
  (func (export "host_made") (param i32) (result i32)
    (i31.get_s (ref.cast i31ref (any.convert_extern (call $make_x (local.get 0))))))
  (func (export "host_made_test") (param i32) (result i32)
    (ref.test i31ref (any.convert_extern (call $make_x (local.get 0)))))
)"""


def _setup(tier: str) -> tuple[nanoproc.Store, dict[str, Any]]:
    if tier == "llvm" and llvm_unavailable_reason() is not None:
        pytest.skip(str(llvm_unavailable_reason()))
    config = nanoproc.Config()
    config.strategy = tier
    store = nanoproc.Store(nanoproc.Engine(config))
    linker = nanoproc.Linker(store.engine)
    x, a = nanoproc.ValType.externref(), nanoproc.ValType.anyref()
    i32 = nanoproc.ValType.i32()
    linker.define_func("host", "echo_x", nanoproc.FuncType([x], [x]), lambda v: v)
    linker.define_func("host", "echo_a", nanoproc.FuncType([a], [a]), lambda v: v)
    linker.define_func("host", "make_x", nanoproc.FuncType([i32], [x]),
                       lambda n: nanoproc.I31(n) if n >= 0 else "not gc")
    inst = linker.instantiate(store, nanoproc.Module(store.engine, WAT))
    return store, inst.exports(store)


@pytest.mark.parametrize("tier", TIERS)
def test_gc_values_in_externref_results_and_arguments(tier: str) -> None:
    store, ex = _setup(tier)
    for _ in range(2):
        one = ex["x1"](store, 42)
        assert one == nanoproc.I31(42)
        s, seven, null, five = ex["x4"](store, 9)
        assert isinstance(s, nanoproc.StructRef)
        assert (seven, null, five) == (7, None, nanoproc.I31(5))
        assert ex["field"](store, s) == 9
        assert ex["i31"](store, one) == 42
        assert ex["id"](store, s) is s
        assert ex["id"](store, "text") == "text"
        assert ex["id"](store, None) is None


@pytest.mark.parametrize("tier", TIERS)
def test_gc_values_through_host_functions(tier: str) -> None:
    store, ex = _setup(tier)
    assert ex["through_host"](store, 11) == 11
    assert ex["through_host_a"](store, 12) == 12
    # A host function's I31 in an externref is the i31 itself, not a host object.
    assert ex["host_made"](store, 13) == 13
    assert ex["host_made_test"](store, 13) == 1
    assert ex["host_made_test"](store, -1) == 0
    with pytest.raises(nanoproc.Trap):
        ex["host_made"](store, -1)  # a host string is not an i31: the cast fails
    assert ex["host_made"](store, 14) == 14


EXN = """(module
  (type $s (struct (field i32) (field (mut anyref))))
  (tag $t (export "t") (param (ref null $s)))
  (tag $a (export "a") (param anyref))
  (global $g (mut exnref) (ref.null exn))
  (func (export "churn") (param $k i32) (local $i i32)
    (loop $l (drop (struct.new $s (local.get $i) (ref.null any)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $k)))))
  (func (export "stash") (param $v i32)
    (block $h (result (ref null $s) exnref)
      (try_table (catch_ref $t $h)
        (throw $t (struct.new $s (local.get $v)
          (struct.new $s (i32.add (local.get $v) (i32.const 1)) (ref.null any)))))
      (unreachable))
    (global.set $g)
    (drop))
  (func (export "use") (result i32)
    (block $h (result (ref null $s))
      (try_table (catch $t $h) (throw_ref (global.get $g)))
      (unreachable))
    (struct.get $s 0 (ref.cast (ref $s) (struct.get $s 1))))
  (func (export "throw_any") (param anyref) (throw $a (local.get 0)))
  (func (export "throw_struct") (param i32)
    (throw $t (struct.new $s (local.get 0) (ref.i31 (i32.const 3)))))
  (func (export "field") (param anyref) (result i32)
    (struct.get $s 0 (ref.cast (ref $s) (local.get 0))))
)"""


@pytest.mark.parametrize("tier", TIERS)
def test_gc_references_in_exception_payloads_stay_alive(tier: str) -> None:
    """A GC object reachable only from a caught exception (an exnref in a global)
    survives collections; payloads cross to Python as GC values."""
    if tier == "llvm" and llvm_unavailable_reason() is not None:
        pytest.skip(str(llvm_unavailable_reason()))
    config = nanoproc.Config()
    config.strategy = tier
    store = nanoproc.Store(nanoproc.Engine(config))
    ex = nanoproc.Instance(store, nanoproc.Module(store.engine, EXN), []).exports(store)
    ex["stash"](store, 41)
    ex["churn"](store, 400_000 if tier == "interp" else 3_000_000)
    store.gc()
    ex["churn"](store, 1_000 if tier == "interp" else 3_000_000)
    assert ex["use"](store) == 42
    for v in (nanoproc.I31(9), None, "host"):
        with pytest.raises(nanoproc.ThrownException) as info:
            ex["throw_any"](store, v)
        assert info.value.exn(store).fields(store) == [v]
    with pytest.raises(nanoproc.ThrownException) as info:
        ex["throw_struct"](store, 17)
    (s,) = info.value.exn(store).fields(store)
    assert isinstance(s, nanoproc.StructRef)
    store.gc()
    assert ex["field"](store, s) == 17
