"""Fuel of GC instructions equals wasmtime-py's (docs/fuel.md): every instruction costs
1, and the array operations with a length (array.new, new_default, new_data,
new_elem, fill, copy, init_data, init_elem) cost their length in elements as the
bulk memory operations do: a small constant length with the instruction, any other
after the operation succeeded, followed by a check."""

from __future__ import annotations

import pytest
from sandbox_helpers import engine, instance, outcome, tier_fixture, wasmtime_engine  # noqa: F401

import nanoproc

wasmtime = pytest.importorskip("wasmtime")

WAT = """(module
  (type $a (array (mut i8))) (type $a64 (array (mut i64))) (type $ar (array (mut anyref)))
  (type $s (struct (field i32) (field (mut anyref))))
  (data $d "0123456789abcdef0123456789abcdef")
  (elem $e anyref (ref.null any) (ref.i31 (i32.const 1)) (ref.null any) (ref.null any))
  (func $id (param i32) (result i32) (local.get 0))
  (func (export "new") (param i32) (result i32) (array.len (array.new_default $a (local.get 0))))
  (func (export "newc") (result i32) (array.len (array.new_default $a (i32.const 100))))
  (func (export "newbig") (result i32) (array.len (array.new_default $a (i32.const 200))))
  (func (export "newv") (param i32) (result i32)
    (array.len (array.new $a64 (i64.const 3) (local.get 0))))
  (func (export "newd") (param i32) (result i32)
    (array.len (array.new_data $a $d (i32.const 1) (local.get 0))))
  (func (export "newe") (param i32) (result i32)
    (array.len (array.new_elem $ar $e (i32.const 1) (local.get 0))))
  (func (export "fixed") (result i32)
    (array.len (array.new_fixed $a 3 (i32.const 1) (i32.const 2) (i32.const 3))))
  (func (export "struct") (result i32)
    (struct.get $s 0 (struct.new $s (i32.const 4) (ref.i31 (i32.const 5)))))
  (func (export "fill") (param i32) (local $x (ref $a))
    (local.set $x (array.new_default $a (i32.const 10)))
    (drop (call $id (i32.const 0)))
    (array.fill $a (local.get $x) (i32.const 0) (i32.const 1) (local.get 0)))
  (func (export "copy") (param i32) (local $x (ref $a))
    (local.set $x (array.new_default $a (i32.const 10)))
    (drop (call $id (i32.const 0)))
    (array.copy $a $a (local.get $x) (i32.const 0) (local.get $x) (i32.const 1) (local.get 0)))
  (func (export "initd") (param i32) (local $x (ref $a))
    (local.set $x (array.new_default $a (i32.const 10)))
    (drop (call $id (i32.const 0)))
    (array.init_data $a $d (local.get $x) (i32.const 0) (i32.const 1) (local.get 0)))
  (func (export "inite") (param i32) (local $x (ref $ar))
    (local.set $x (array.new_default $ar (i32.const 10)))
    (drop (call $id (i32.const 0)))
    (array.init_elem $ar $e (local.get $x) (i32.const 0) (i32.const 1) (local.get 0)))
)"""

CASES = [
    ("new", (100,), (3, 103, 104, 105, 1000)),
    ("newc", (), (3, 104, 1000)),
    ("newbig", (), (3, 203, 204, 1000)),
    ("newv", (50,), (54, 55, 1000)),
    ("newd", (8,), (12, 13, 1000)),
    ("newd", (40,), (1000,)),
    ("newe", (3,), (6, 7, 1000)),
    ("newe", (9,), (1000,)),
    ("fixed", (), (2, 1000)),
    ("struct", (), (2, 1000)),
    ("fill", (5,), (1000,)),
    ("fill", (50,), (1000,)),
    ("copy", (5,), (1000,)),
    ("copy", (10,), (1000,)),
    ("initd", (5,), (1000,)),
    ("initd", (50,), (1000,)),
    ("inite", (3,), (1000,)),
    ("inite", (5,), (1000,)),
]


@pytest.mark.parametrize(("name", "args", "fuels"), CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_gc_fuel_equals_wasmtime(tier: str, name: str, args: tuple[int, ...],
                                 fuels: tuple[int, ...]) -> None:
    for fuel in fuels:
        got = []
        for api, eng in ((wasmtime, wasmtime_engine(consume_fuel=True)),
                         (nanoproc, engine(tier, consume_fuel=True))):
            store, inst = instance(eng, WAT, fuel=fuel, api=api)
            res = outcome(api, store, inst.exports(store)[name], *args)
            got.append((res, store.get_fuel()))
        assert got[1] == got[0], f"fuel {fuel}"
