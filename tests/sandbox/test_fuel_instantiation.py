"""Fuel at instantiation equals wasmtime-py's (issue 20): wasmtime runs a startup
function for what it cannot precompute (constant expressions, table initial values,
element and data segments, the start call) and meters it; nanoproc charges the same
(exec/initfuel.py, docs/fuel.md section 6). The cases were probed against wasmtime-py
51; each runs on both engines and the fuel left after instantiation (or the trap and
the fuel left) must agree.
"""

from __future__ import annotations

from typing import Any

import pytest

import nanoproc
from nanoproc.internal.exec.initfuel import BULK_CHECKED

wasmtime = pytest.importorskip("wasmtime")

BIG = BULK_CHECKED + 72
NULLS = " ".join(["(ref.null extern)"] * BIG)
DATA = "x" * BIG
GEN = [
    f'(module (memory 1) (data (i32.const 0) "x") (table 300 externref) (elem (i32.const 0) externref {NULLS}) (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    f'(module (table 300 externref) (elem (i32.const 0) externref {NULLS}))',
    f'(module (table 300 externref) (elem (i32.add (i32.const 0) (i32.const 1)) externref {NULLS}))',
    f'(module (memory 1) (data (i32.add (i32.const 0) (i32.const 0)) "{DATA}"))',
    f'(module (memory 2) (data (i32.add (i32.const 0) (i32.const 0)) "{DATA}") (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    f'(module (import "m" "m" (memory 1)) (data (i32.const 0) "{DATA}") (start $s) (func $s))',
]
CASES = [
    '(module (elem externref (ref.null extern) (ref.null extern)))',
    '(module (elem externref (ref.null extern)) (memory 1) (data (i32.const 0) "x"))',
    '(module (elem externref (ref.null extern)))',
    '(module (elem externref) (memory 1))',
    '(module (elem externref))',
    '(module (func $f) (elem func $f $f $f $f $f))',
    '(module (func $f) (elem func $f $f $f))',
    '(module (func $f) (elem func $f) (elem func $f))',
    '(module (func $f) (elem func $f) (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (func $f) (elem func $f))',
    '(module (func $f) (elem funcref (ref.func $f) (ref.func $f) (ref.func $f)))',
    '(module (func $f) (elem funcref (ref.func $f) (ref.func $f)))',
    '(module (func $f) (elem funcref (ref.func $f)) (elem funcref (ref.func $f)))',
    '(module (func $f) (elem funcref (ref.func $f)))',
    '(module (func $f) (elem funcref (ref.null func) (ref.null func) (ref.null func)))',
    '(module (func $f) (elem funcref (ref.null func)))',
    '(module (func $f) (global $g funcref (ref.func $f)) (elem funcref (global.get $g)))',
    '(module (func $f) (global funcref (ref.func $f)))',
    '(module (func $f) (table 10 funcref (ref.func $f)))',
    '(module (func $f) (table 10 funcref (ref.null func)) (table 10 funcref (ref.func $f)))',
    '(module (func $f) (table 2000000 funcref (ref.func $f)))',
    '(module (func $f) (table 3 funcref (ref.func $f)))',
    '(module (func $f) (table 3 funcref (ref.null func)) (memory 1))',
    '(module (func $f) (table 3 funcref) (elem (i32.add (i32.const 0) (i32.const 0)) func $f $f $f))',
    '(module (func $f) (table 3 funcref) (elem (i32.add (i32.const 0) (i32.const 0)) func $f) (memory 1))',
    '(module (func $f) (table 3 funcref) (elem (i32.add (i32.const 0) (i32.const 0)) func))',
    '(module (func $f) (table 3 funcref) (elem (i32.add (i32.const 0) (i32.const 1)) func $f))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) func $f $f))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) func $f) (elem (i32.add (i32.const 0) (i32.const 0)) func $f))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) func $f) (elem (i32.const 0) funcref (ref.func $f)) (elem (i32.const 0) func $f))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) func $f) (elem (i32.const 0) funcref (ref.func $f)) (memory 1) (data (i32.const 0) "x"))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) func $f) (memory 1) (data (i32.const 0) "x") (start $f))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) func $f) (memory 1))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f) (ref.func $f)) (memory 1) (data (i32.const 0) ""))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f) (ref.func $f)) (memory 1) (data (i32.const 0) "x"))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f) (ref.func $f)) (memory 1))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f) (ref.null func)) (memory 1))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f) (ref.null func)))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f)) (memory 0))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f)) (memory 1) (data (i32.const 0) "x"))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f)) (memory 1) (data (i32.const 100) "xy"))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f)) (memory 1))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.func $f)))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.null func)) (memory 1) (data (i32.const 0) "x"))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 0) funcref (ref.null func)) (memory 1))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 1) func $f $f) (elem (i32.const 0) func $f))',
    '(module (func $f) (table 3 funcref) (elem (i32.const 5) func $f))',
    '(module (func $f) (table 3 funcref) (elem declare func $f))',
    '(module (func $f) (table 3 funcref) (table 3 externref) (elem (table 1) (i32.const 0) externref (ref.null extern)) (elem (i32.const 0) func $f))',
    '(module (func $f) (table 4 funcref) (elem (table 0) (i32.const 0) func $f))',
    '(module (func $f) (table 5 funcref) (elem (i32.const 0) func ))',
    '(module (func $f) (table 5 funcref) (elem (i32.const 0) funcref (ref.func $f) (ref.func $f) (ref.func $f)))',
    '(module (func $f) (table 5 funcref) (elem (i32.const 0) funcref (ref.func $f)) (elem (i32.const 0) funcref (ref.func $f)))',
    '(module (func $f) (table 5 funcref) (elem (i32.const 0) funcref (ref.func $f)))',
    '(module (func $f) (table 5 funcref) (elem (i32.const 0) funcref (ref.null func) (ref.null func) (ref.null func)))',
    '(module (func $f) (table 5 funcref) (elem (i32.const 0) funcref (ref.null func)))',
    '(module (func $f) (table 5 funcref) (elem (i32.const 0) funcref ))',
    '(module (func $f) (table 5 funcref) (elem declare funcref (ref.func $f) (ref.func $f)))',
    '(module (func $f) (table i64 3 funcref (ref.func $f)))',
    '(module (func $f) (table i64 3 funcref) (elem (i64.const 0) func $f $f))',
    '(module (global $g (mut i32) (i32.const 1)))',
    '(module (global $g i32 (i32.const 0)) (memory 1) (data (global.get $g) ""))',
    '(module (global $g i32 (i32.const 0)) (table 3 funcref) (elem (global.get $g) func))',
    '(module (global $g i32 (i32.const 1)) (global i32 (global.get $g)) (global i32 (global.get $g)))',
    '(module (global $g i32 (i32.const 1)) (global i32 (global.get $g)))',
    '(module (global (ref null extern) (ref.null noextern)))',
    '(module (global (ref null func) (ref.null func)))',
    '(module (global externref (ref.null extern)) (global externref (ref.null extern)))',
    '(module (global externref (ref.null extern)))',
    '(module (global f32 (f32.const 1)))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (global i32 (i32.sub (i32.const 1) (i32.const 2))) (global i32 (i32.sub (i32.const 1) (i32.const 2))))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (global i32 (i32.sub (i32.const 1) (i32.const 2))))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 0) (data (i32.const 0) ""))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1) (data (i32.const 0) "") (data (i32.const 0) "\\00"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1) (data (i32.const 0) ""))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1) (data (i32.const 0) "\\00\\00"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1) (data (i32.const 0) "\\00\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1) (data (i32.const 0) "\\01") (memory 1))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1) (data (i32.const 0) "a") (data "b"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1) (data (i32.const 0) "x") (start $s) (func $s))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1) (data (i32.const 0) "x"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1) (memory 1) (data (memory 1) (i32.const 0) "a"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 1))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 100) (data (i32.const 0) "\\01") (data (i32.const 1048575) "\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 100) (data (i32.const 0) "\\01") (data (i32.const 1048576) "\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 100) (data (i32.const 0) "\\01") (data (i32.const 1048577) "\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 100) (data (i32.const 0) "\\01") (data (i32.const 2000000) "\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 2) (data (i32.const 0) "\\01") (data (i32.const 70000) "\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 400) (data (i32.const 0) "\\01") (data (i32.const 11000000) "\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 400) (data (i32.const 0) "\\01") (data (i32.const 20000000) "\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 400) (data (i32.const 0) "\\01") (data (i32.const 4000000) "\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (memory 400) (data (i32.const 0) "\\01") (data (i32.const 9000000) "\\01"))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (start $s) (func $s unreachable))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (start $s) (func $s))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (table 10 externref (ref.null extern)))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))) (table 10 funcref (ref.null func)))',
    '(module (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (global i32 (i32.const 1)) (global externref (ref.null extern)))',
    '(module (global i32 (i32.const 1)) (global i32 (i32.const 2)))',
    '(module (global i32 (i32.const 1)))',
    '(module (global i32 (i32.mul (i32.add (i32.const 1) (i32.const 2)) (i32.const 3))))',
    '(module (global i32 (i32.sub (i32.const 1) (i32.const 2))))',
    '(module (global i64 (i64.const 1)))',
    '(module (global i64 (i64.mul (i64.const 1) (i64.const 2))))',
    '(module (import "m" "m" (memory 1)) (data (i32.const 0) "abc") (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (import "m" "m" (memory 1)) (data (i32.const 0) "abc"))',
    '(module (memory 1) (data "ab") (data "cd"))',
    '(module (memory 1) (data "abcdefghij"))',
    '(module (memory 1) (data (i32.add (i32.const 0) (i32.const 0)) "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"))',
    '(module (memory 1) (data (i32.add (i32.const 0) (i32.const 1)) ""))',
    '(module (memory 1) (data (i32.add (i32.const 0) (i32.const 1)) "ab") (data (i32.add (i32.const 0) (i32.const 1)) "ab"))',
    '(module (memory 1) (data (i32.add (i32.const 0) (i32.const 1)) "ab") (data (i32.add (i32.const 65535) (i32.const 1)) "ab"))',
    '(module (memory 1) (data (i32.add (i32.const 0) (i32.const 1)) "ab"))',
    '(module (memory 1) (data (i32.add (i32.const 0) (i32.const 1)) "abcdefghij"))',
    '(module (memory 1) (data (i32.const 0) "ab") (start $s) (func $s))',
    '(module (memory 1) (data (i32.const 0) "ab"))',
    '(module (memory 1) (data (i32.const 0) "x") (data (i32.add (i32.const 0) (i32.const 1)) "ab"))',
    '(module (memory 1) (data (i32.const 0) "x") (elem externref (ref.null extern)) (table 200 externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (elem func $s) (start $s) (func $s))',
    '(module (memory 1) (data (i32.const 0) "x") (global $g i32 (i32.const 0)) (table 130 externref) (elem (global.get $g) externref (ref.null extern)) (table 200 externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (global i32 (i32.add (i32.const 1) (i32.const 2))) (table 200 externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (start $s) (func $s))',
    '(module (memory 1) (data (i32.const 0) "x") (table 130 externref) (elem (i32.add (i32.const 0) (i32.const 0)) externref (ref.null extern)) (table 200 externref (ref.null extern)) (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (memory 1) (data (i32.const 0) "x") (table 130 externref) (elem (i32.add (i32.const 0) (i32.const 0)) externref (ref.null extern)) (table 200 externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (table 130 externref) (elem (i32.add (i32.const 0) (i32.const 0)) externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (table 130 externref) (elem (i32.const 0) externref (ref.null extern)) (table 200 externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (table 200 externref (ref.null extern)) (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (memory 1) (data (i32.const 0) "x") (table 200 externref (ref.null extern)) (table 130 externref) (elem (table 1) (i32.add (i32.const 0) (i32.const 0)) externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (table 200 externref (ref.null extern)) (table 2 externref) (elem (table 1) (i32.const 0) externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (table 200 externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (table 2000000 externref (ref.null extern)))',
    '(module (memory 1) (data (i32.const 0) "x") (table 3 funcref) (elem (i32.const 5) func $s) (start $s) (func $s))',
    '(module (memory 1) (data (i32.const 65535) "xy"))',
    '(module (memory 1) (data (memory 0) (i32.const 0) "ab"))',
    '(module (memory 1) (global $g i32 (i32.const 0)) (data (global.get $g) "abcdefghij"))',
    '(module (memory 1) (memory 1) (data (i32.add (i32.const 0) (i32.const 1)) "ab"))',
    '(module (memory i64 1) (data (i64.const 0) "abc"))',
    '(module (start $s) (func $s (drop (i32.const 1)) unreachable))',
    '(module (start $s) (func $s nop nop (drop (i32.const 1))))',
    '(module (start $s) (func $s))',
    '(module (table 0 externref (ref.null extern)))',
    '(module (table 1 externref (ref.null extern)))',
    '(module (table 10 externref (ref.null extern)) (elem (i32.const 20) externref (ref.null extern)))',
    '(module (table 10 externref (ref.null extern)) (global i32 (i32.add (i32.const 1) (i32.const 2))) (elem (i32.const 20) externref (ref.null extern)))',
    '(module (table 10 externref (ref.null extern)) (table 10 externref (ref.null extern)))',
    '(module (table 10 externref (ref.null extern)))',
    '(module (table 10 externref))',
    '(module (table 10 funcref (ref.null func)) (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (table 10 funcref (ref.null func)))',
    '(module (table 100 externref (ref.null extern)))',
    '(module (table 130 externref) (elem (i32.add (i32.const 0) (i32.const 0)) externref (ref.null extern)) (table 200 externref (ref.null extern)))',
    '(module (table 130 externref) (elem (i32.add (i32.const 0) (i32.const 0)) externref (ref.null extern)))',
    '(module (table 200 externref (ref.null extern)) (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (table 200 externref (ref.null extern)))',
    '(module (table 3 externref (ref.null extern)) (memory 1) (data (i32.const 0) "x"))',
    '(module (table 3 externref (ref.null extern)) (memory 1))',
    '(module (table 3 externref) (elem (i32.const 0) externref (ref.null extern)) (memory 1) (data (i32.const 0) "x"))',
    '(module (table 3 externref) (elem (i32.const 0) externref (ref.null extern)) (memory 1))',
    '(module (table 5 externref) (elem (i32.const 0) externref (ref.null extern) (ref.null extern) (ref.null extern)))',
    '(module)',
    '(module (memory 1 58) (memory i64 0) (data (i32.const 2443) "\\c0"))',
    '(module (memory 1) (memory 1) (data (i32.const 2443) "\\00"))',
    '(module (memory 1) (memory 1) (data (i32.const 0) "\\01") (data (memory 1) (i32.const 0) "\\00"))',
    '(module (memory 1) (memory 0) (data (i32.const 0) "\\01") (data (memory 1) (i32.const 0) ""))',
    '(module (memory 1) (memory 1) (memory 1) (data (i32.const 0) "\\01") (data (memory 1) (i32.const 0) "\\01"))',
    '(module (memory 1) (memory 1) (data (i32.const 2443) "\\c0") (start $s) (func $s))',
] + GEN

LLVM_CASES = [c for c in CASES if "start" in c or "elem" in c][::4]


def _instantiate(api: Any, wat: str, fuel: int, strategy: str | None = None) -> tuple[object, int]:
    config = api.Config()
    config.consume_fuel = True
    config.wasm_memory64 = True
    if strategy is not None:
        config.strategy = strategy
    engine = api.Engine(config)
    store = api.Store(engine)
    store.set_fuel(fuel)
    module = api.Module(engine, wat)
    imports = []
    for imp in module.imports:
        t = imp.type
        if isinstance(t, api.MemoryType):
            imports.append(api.Memory(store, t))
        elif isinstance(t, api.TableType):
            imports.append(api.Table(store, t, None))
        else:
            raise AssertionError(f"no import of {t} here")
    try:
        api.Instance(store, module, imports)
        result: object = "ok"
    except api.Trap as e:
        result = ("trap", e.trap_code.name if e.trap_code else str(e))
    return result, store.get_fuel()


@pytest.mark.parametrize("fuel", [1000, 1, 2, 5, 150])
def test_instantiation_fuel_equals_wasmtime_interp(fuel: int) -> None:
    wrong = []
    for wat in CASES:
        want = _instantiate(wasmtime, wat, fuel)
        got = _instantiate(nanoproc, wat, fuel, "interp")
        if got != want:
            wrong.append(f"{wat}: wasmtime {want}, nanoproc {got}")
    assert not wrong, "\n".join(wrong)


def test_instantiation_fuel_equals_wasmtime_llvm() -> None:
    wrong = []
    for wat in LLVM_CASES:
        for fuel in (1000, 2):
            want = _instantiate(wasmtime, wat, fuel)
            got = _instantiate(nanoproc, wat, fuel, "llvm")
            if got != want:
                wrong.append(f"{wat} ({fuel}): wasmtime {want}, nanoproc {got}")
    assert not wrong, "\n".join(wrong)


def test_instantiation_fuel_repeats() -> None:
    """A second instantiation in the same store charges the same again, after a trap
    at the entry check too."""
    wat = "(module (table 10 externref (ref.null extern)) (start $s) (func $s))"
    for api, strategy in ((wasmtime, None), (nanoproc, "interp")):
        config = api.Config()
        config.consume_fuel = True
        if strategy:
            config.strategy = strategy
        engine = api.Engine(config)
        module = api.Module(engine, wat)
        store = api.Store(engine)
        store.set_fuel(30)
        seen = []
        for _ in range(3):
            try:
                api.Instance(store, module, [])
                seen.append(store.get_fuel())
            except api.Trap as e:
                seen.append((e.trap_code.name, store.get_fuel()))
        if api is wasmtime:
            want = seen
        else:
            assert seen == want


GC_CASES = [
    '(module (type $a (array (mut i32))) (global (ref $a) (array.new $a (i32.const 7) (i32.const 100))) (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (type $a (array (mut i32))) (global (ref $a) (array.new $a (i32.const 7) (i32.const 200))) (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    '(module (type $a (array (mut i32))) (global (ref $a) (array.new_default $a (i32.const 129))) (global (ref $a) (array.new_default $a (i32.const 0))))',
    '(module (type $a (array (mut i32))) (global $n i32 (i32.const 150)) (global (ref $a) (array.new_default $a (i32.add (global.get $n) (i32.const 1)))))',
    '(module (type $a (array i32)) (global (ref $a) (array.new_fixed $a 3 (i32.const 1) (i32.const 2) (i32.const 3))))',
    '(module (type $s (struct (field i32) (field i64))) (global (ref $s) (struct.new $s (i32.const 1) (i64.const 2))) (global (ref i31) (ref.i31 (i32.const 5))))',
    '(module (type $a (array (mut i32))) (type $b (array (ref $a))) (global (ref $b) (array.new $b (array.new $a (i32.const 1) (i32.const 140)) (i32.const 30))))',
    '(module (type $a (array (mut i32))) (table 2 anyref) (elem (table 0) (i32.const 0) anyref (array.new $a (i32.const 1) (i32.const 40)) (array.new_default $a (i32.const 130))))',
    '(module (type $a (array (mut i32))) (table 3 (ref $a) (array.new $a (i32.const 1) (i32.const 140))) (global (ref $a) (array.new_default $a (i32.const 5))))',
    '(module (type $a (array (mut i32))) (elem anyref (array.new_default $a (i32.const 20))) (global (ref $a) (array.new_default $a (i32.const 3))))',
]
"""GC constant expressions: wasmtime charges the length of every array.new and
array.new_default they run (checked when above 128), array.new_fixed and struct.new
only their instructions (measured with wasmtime-py 51; exec/initfuel.ARRAY_OPS)."""


@pytest.mark.parametrize("tier", ["interp", "llvm"])
def test_gc_constant_fuel_equals_wasmtime(tier: str) -> None:
    wrong = []
    for wat in GC_CASES:
        for fuel in (1000, 1, 2, 50, 104, 105, 150, 204, 205, 300):
            want = _instantiate(wasmtime, wat, fuel)
            got = _instantiate(nanoproc, wat, fuel, tier)
            if got != want:
                wrong.append(f"{wat} ({fuel}): wasmtime {want}, nanoproc {got}")
    assert not wrong, "\n".join(wrong)
