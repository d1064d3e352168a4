"""Memory, table and global instructions against wasmtime-py: every load/store width,
offsets, out-of-bounds traps, memory64, multi-memory, bulk memory, table operations,
memory.grow. Results, trap codes and the bytes of memory afterwards must all agree
(messages are checked by the spec suite: wasmtime words a few differently)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from interp_helpers import BACKEND, compile_wasm, new_instance, signed32, signed64, wat2wasm

from nanoproc.internal.exec.trap import Trap

wasmtime = pytest.importorskip("wasmtime")

LOADS = ["i32.load", "i64.load", "f32.load", "f64.load", "i32.load8_s", "i32.load8_u",
         "i32.load16_s", "i32.load16_u", "i64.load8_s", "i64.load8_u", "i64.load16_s",
         "i64.load16_u", "i64.load32_s", "i64.load32_u"]
STORES = ["i32.store", "i64.store", "f32.store", "f64.store", "i32.store8", "i32.store16",
          "i64.store8", "i64.store16", "i64.store32"]
ADDRESSES = [0, 1, 3, 7, 100, 65528, 65529, 65532, 65533, 65535, 65536, 0xFFFFFFFF, 0xFFFFFFF8]
OFFSETS = [0, 1, 4, 65535]


def _module(addr64: bool) -> str:
    at = "i64" if addr64 else "i32"
    funcs = []
    for i, op in enumerate(LOADS):
        t = op.split(".")[0]
        conv = {"f32": "i32.reinterpret_f32", "f64": "i64.reinterpret_f64"}.get(t, "")
        rt = {"f32": "i32", "f64": "i64"}.get(t, t)
        for j, off in enumerate(OFFSETS):
            funcs.append(f'(func (export "l{i}_{j}") (param {at}) (result {rt}) '
                         f"(local.get 0) ({op} offset={off}) {conv})")
    for i, op in enumerate(STORES):
        t = op.split(".")[0]
        vt = {"f32": "i32", "f64": "i64"}.get(t, t)
        conv = {"f32": "f32.reinterpret_i32", "f64": "f64.reinterpret_i64"}.get(t, "")
        for j, off in enumerate(OFFSETS):
            funcs.append(f'(func (export "s{i}_{j}") (param {at} {vt}) '
                         f"(local.get 0) (local.get 1) {conv} ({op} offset={off}))")
    return (f'(module (memory (export "mem") {at} 1 3)\n'
            f'(data ({at}.const 0) "\\01\\82\\03\\f4\\05\\86\\07\\f8\\09\\8a\\7f\\c0\\00\\00\\a0\\7f")\n'
            f'(data ({at}.const 65520) "\\ff\\fe\\fd\\fc\\fb\\fa\\f9\\f8\\f7\\f6\\f5\\f4\\f3\\f2\\f1\\f0")\n'
            f'(func (export "grow") (param {at}) (result {at}) (memory.grow (local.get 0)))\n'
            + "\n".join(funcs) + ")")


def _engines(text: str) -> tuple[Any, Any, Any]:
    data = wat2wasm(text)
    ours = new_instance(compile_wasm(data))
    engine = wasmtime.Engine(wasmtime.Config())
    store = wasmtime.Store(engine)
    theirs = wasmtime.Instance(store, wasmtime.Module(engine, data), [])
    return ours, store, theirs


def _ours(inst: Any, name: str, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", inst.exports[name].call(*args)
    except BaseException as e:
        exc = BACKEND.convert_exception(e)
        assert isinstance(exc, Trap), repr(exc)
        return "trap", exc.trap_code.name if exc.trap_code else exc.message


def _theirs(store: Any, inst: Any, name: str, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", inst.exports(store)[name](store, *args)
    except wasmtime.Trap as e:
        return "trap", e.trap_code.name if e.trap_code is not None else str(e)


def _norm(kind: str, value: Any, bits: int) -> tuple[str, Any]:
    if kind == "ok" and isinstance(value, int):
        return kind, value & ((1 << bits) - 1)
    return kind, value


@pytest.mark.parametrize("addr64", [False, True], ids=["memory32", "memory64"])
def test_loads_and_stores(addr64: bool) -> None:
    ours, store, theirs = _engines(_module(addr64))
    addresses = ADDRESSES + ([2**63, 2**64 - 8] if addr64 else [])
    sa = signed64 if addr64 else signed32
    for (i, op), (j, _), a in itertools.product(enumerate(LOADS), enumerate(OFFSETS), addresses):
        if not addr64 and a >= 2**32:
            continue
        bits = 32 if op.startswith(("i32", "f32")) else 64
        got = _norm(*_ours(ours, f"l{i}_{j}", a), bits)
        want = _norm(*_theirs(store, theirs, f"l{i}_{j}", sa(a)), bits)
        assert got == want, (op, a, OFFSETS[j])
    values = [0, 0x7FC00001, 0xFFFFFFFF, 0x8000000000000001, 0x7FF4000000000001, 0x12345678]
    mem = theirs.exports(store)["mem"]
    for (i, op), (j, _), a, v in itertools.product(
        enumerate(STORES), enumerate(OFFSETS), addresses[::2], values
    ):
        if not addr64 and a >= 2**32:
            continue
        wide = op.startswith(("i64", "f64"))
        v = v if wide else v & 0xFFFFFFFF
        got = _ours(ours, f"s{i}_{j}", a, v)
        want = _theirs(store, theirs, f"s{i}_{j}", sa(a), signed64(v) if wide else signed32(v))
        assert got == want, (op, a, OFFSETS[j], hex(v))
    assert bytes(ours.memories[0].view) == bytes(mem.read(store, 0, mem.data_len(store)))
    width = 64 if addr64 else 32
    for delta in (1, 0, 5, 1):
        assert _norm(*_ours(ours, "grow", delta), width) == _norm(
            *_theirs(store, theirs, "grow", delta), width)


BULK = """(module
  (memory $m0 1) (memory $m1 2)
  (data $d "0123456789abcdef")
  (table $t 8 funcref) (table $u 4 funcref)
  (elem $e func $a $b $a $b)
  (func $a (result i32) i32.const 1) (func $b (result i32) i32.const 2)
  (global $g (mut i64) (i64.const -1))
  (func (export "fill") (param i32 i32 i32) (memory.fill $m0 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy $m1 $m0 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy0") (param i32 i32 i32) (memory.copy $m0 $m0 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (memory.init $m0 $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $d))
  (func (export "sum") (param i32) (result i64)
    (i64.add (i64.load $m0 (local.get 0)) (i64.load $m1 (local.get 0))))
  (func (export "tinit") (param i32 i32 i32) (table.init $t $e (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tcopy") (param i32 i32 i32) (table.copy $u $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tfill") (param i32 i32) (table.fill $t (local.get 0) (ref.func $b) (local.get 1)))
  (func (export "tgrow") (param i32) (result i32) (table.grow $u (ref.null func) (local.get 0)))
  (func (export "edrop") (elem.drop $e))
  (func (export "tcall") (param i32) (result i32) (call_indirect $t (result i32) (local.get 0)))
  (func (export "ucall") (param i32) (result i32) (call_indirect $u (result i32) (local.get 0)))
  (func (export "tsize") (result i32) (i32.add (table.size $t) (i32.mul (table.size $u) (i32.const 100))))
  (func (export "tget") (param i32) (result i32) (ref.is_null (table.get $u (local.get 0))))
  (func (export "tset") (param i32) (table.set $u (local.get 0) (table.get $t (i32.const 0))))
  (func (export "gadd") (param i64) (result i64) (global.set $g (i64.add (global.get $g) (local.get 0))) (global.get $g))
)"""


def test_bulk_memory_tables_and_globals() -> None:
    ours, store, theirs = _engines(BULK)
    script: list[tuple[str, tuple[int, ...]]] = [
        ("fill", (10, 0x1AB, 20)), ("fill", (65530, 7, 6)), ("fill", (65530, 7, 7)),
        ("fill", (65536, 0, 0)), ("fill", (65537, 0, 0)),
        ("copy", (100, 5, 30)), ("copy", (131070, 0, 2)), ("copy", (131070, 0, 3)),
        ("copy0", (12, 10, 10)), ("copy0", (8, 12, 10)), ("copy0", (0, 65530, 7)),
        ("init", (200, 2, 10)), ("init", (0, 15, 2)), ("init", (65535, 0, 1)),
        ("init", (65535, 0, 2)), ("drop", ()), ("init", (0, 0, 0)), ("init", (0, 0, 1)),
        ("sum", (0,)), ("sum", (10,)), ("sum", (96,)), ("sum", (65529,)),
        ("tinit", (0, 0, 4)), ("tinit", (5, 1, 3)), ("tinit", (6, 0, 3)), ("tcall", (1,)),
        ("tcall", (6,)), ("tcall", (4,)), ("tcall", (8,)), ("tcopy", (0, 4, 4)),
        ("tcopy", (1, 0, 4)), ("ucall", (3,)), ("tgrow", (3,)), ("tgrow", (0xFFFFFFFF,)),
        ("tsize", ()), ("tget", (6,)), ("tget", (7,)), ("tset", (6,)), ("tget", (6,)),
        ("tset", (7,)), ("tfill", (2, 6)), ("tfill", (2, 7)), ("tcall", (7,)), ("edrop", ()),
        ("tinit", (0, 0, 1)), ("tinit", (0, 0, 0)), ("gadd", (5,)), ("gadd", (2**64 - 3,)),
    ]
    for name, args in script:
        got = _ours(ours, name, *args)
        want = _theirs(store, theirs, name, *[signed32(a) if a < 2**32 else signed64(a)
                                               for a in args])
        bits = 64 if name in ("sum", "gadd") else 32
        assert _norm(*got, bits) == _norm(*want, bits), (name, args, got, want)
