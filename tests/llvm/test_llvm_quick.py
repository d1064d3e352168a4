"""The quick pipeline (issue 20): in a module of very many functions, the small
loop-free ones are compiled in partitions of their own with a few cheap passes and
LLVM's fast code generator. Such code must agree with the interp tier bit for bit,
fuel included, through traps, tail calls and stack exhaustion."""

from __future__ import annotations

from typing import Any

import pytest
from llvm_helpers import compile_wasm, wat2wasm

import nanoproc
from nanoproc.internal.llvm import compiler, jit
from nanoproc.internal.llvm.irgen.function import QUICK, QUICK_FUNCS, QUICK_SIZE
from nanoproc.internal.llvm.irgen.module import ModuleInfo, partition_text

NAN32 = 0x7FA00001  # a signalling NaN
NAN64 = 0x7FF4000000000001
I32_MIN = -0x80000000

# name -> (params, results, body, calls)
CASES: dict[str, tuple[str, str, str, list[tuple[int, ...]]]] = {
    "arith": ("i32 i32", "i32",
              "(i32.add (i32.mul (local.get 0) (i32.const 7)) (i32.shr_s (local.get 1) "
              "(i32.const 3)))",
              [(1, 2), (-5, -100), (0x7FFFFFFF, 9)]),
    "div": ("i32 i32", "i32", "(i32.div_s (local.get 0) (local.get 1))",
            [(7, 2), (7, 0), (I32_MIN, -1), (-7, 2)]),
    "i64bits": ("i64 i64", "i64",
                "(i64.add (i64.rotl (local.get 0) (local.get 1)) (i64.add (i64.clz (local.get 0)) "
                "(i64.popcnt (local.get 1))))",
                [(1, 63), (-1, 5), (0, 0), (0x123456789ABCDEF, 77)]),
    "remu": ("i64 i64", "i64", "(i64.rem_u (local.get 0) (local.get 1))",
             [(10, 3), (-1, 7), (5, 0)]),
    "f32add": ("i32 i32", "i32",
               "(i32.reinterpret_f32 (f32.add (f32.reinterpret_i32 (local.get 0)) "
               "(f32.reinterpret_i32 (local.get 1))))",
               [(0x3F800000, 0x40000000), (NAN32, 0x3F800000), (0x7F800000, 0xFF800000)]),
    "f32min": ("i32 i32", "i32",
               "(i32.reinterpret_f32 (f32.min (f32.reinterpret_i32 (local.get 0)) "
               "(f32.reinterpret_i32 (local.get 1))))",
               [(0x80000000, 0), (NAN32, 0x3F800000), (0x3F800000, 0xBF800000)]),
    "demote": ("i64", "i64",
               "(i64.reinterpret_f64 (f64.promote_f32 (f32.demote_f64 (f64.reinterpret_i64 "
               "(local.get 0)))))",
               [(0x3FF0000000000001,), (NAN64,), (0x7FEFFFFFFFFFFFFF,)]),
    "trunc": ("i64", "i32", "(i32.trunc_f64_s (f64.reinterpret_i64 (local.get 0)))",
              [(0x4059000000000000,), (NAN64,), (0x41E0000000000000,)]),
    "memory": ("i32 i32", "i32",
               "(i32.store (local.get 0) (local.get 1)) (i32.load8_u offset=1 (local.get 0))",
               [(0, 0x11223344), (65532, 5), (65535, 1), (-1, 1)]),
    "grow": ("i32", "i32", "(drop (memory.grow (local.get 0))) (memory.size)",
             [(0,), (1,), (70000,)]),
    "global": ("i32", "i32",
               "(global.set $g (i32.add (global.get $g) (local.get 0))) (global.get $g)",
               [(1,), (-10,), (0x7FFFFFFF,)]),
    "indirect": ("i32 i32", "i32", "(call_indirect (type $ii) (local.get 0) (local.get 1))",
                 [(5, 0), (5, 1), (5, 2), (5, 3)]),
    "table": ("i32", "i32",
              "(block (block (block (br_table 0 1 2 (local.get 0))) (return (i32.const 10))) "
              "(return (i32.const 20))) (i32.const 30)",
              [(0,), (1,), (2,), (99,)]),
    "ifsel": ("i32 i32", "i32",
              "(if (result i32) (local.get 0) (then (select (local.get 1) (i32.const 3) "
              "(i32.lt_s (local.get 1) (i32.const 0)))) (else (i32.const -1)))",
              [(0, 5), (1, 5), (1, -5)]),
    "tail": ("i32 i32", "i32", "(return_call $count (local.get 0) (local.get 1))",
             [(100_000, 0), (0, 7)]),
    "deep": ("i32", "i32", "(i32.add (call $deep (local.get 0)) (i32.const 1))", [(1,), (2,)]),
    "trap": ("i32", "i32", "(if (local.get 0) (then unreachable)) (i32.const 4)", [(0,), (1,)]),
}


def _module(fillers: int) -> str:
    funcs = [f'(func ${name} (export "{name}") (param {p}) (result {r}) {body})'
             for name, (p, r, body, _) in CASES.items()]
    funcs += [
        "(func $count (param i32 i32) (result i32) (if (result i32) (i32.eqz (local.get 0)) "
        "(then (local.get 1)) (else (return_call $count (i32.sub (local.get 0) (i32.const 1)) "
        "(i32.add (local.get 1) (i32.const 2))))))",
        "(func $sq (type $ii) (i32.mul (local.get 0) (local.get 0)))",
        "(func $neg (type $ii) (i32.sub (i32.const 0) (local.get 0)))",
        "(func $other (param i64) (result i64) (local.get 0))",
        '(func $loop (export "loop") (param i32) (result i32) (local i32) '
        "(loop $l (local.set 1 (i32.add (local.get 1) (local.get 0))) "
        "(br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))) (local.get 1))",
    ]
    funcs += [f"(func $fill{i} (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))"
              for i in range(fillers)]
    return ("(module (type $ii (func (param i32) (result i32))) (memory 1) "
            "(global $g (mut i32) (i32.const 5)) (table funcref (elem $sq $neg $other)) "
            + "\n".join(funcs) + ")")


N_FUNCS = QUICK_FUNCS + 10
WASM = wat2wasm(_module(N_FUNCS - len(CASES) - 5))


def _run(strategy: str, fuel: bool) -> list[Any]:
    cfg = nanoproc.Config()
    cfg.strategy = strategy
    cfg.consume_fuel = fuel
    eng = nanoproc.Engine(cfg)
    store = nanoproc.Store(eng)
    if fuel:
        store.set_fuel(10**9)
    inst = nanoproc.Instance(store, nanoproc.Module(eng, WASM), [])
    exports = inst.exports(store)
    out: list[Any] = []
    for name, (_, _, _, calls) in [*CASES.items(), ("loop", ("", "", "", [(10,), (3,)]))]:
        for args in calls * 2:  # each call again: nothing a trap crossed is left broken
            before = store.get_fuel() if fuel else 0
            try:
                r: Any = exports[name](store, *args)
            except nanoproc.Trap as e:
                r = ("trap", str(e.trap_code))
            spent = before - store.get_fuel() if fuel else 0
            out.append((name, args, r, spent))
    return out


@pytest.mark.parametrize("fuel", [False, True], ids=["plain", "fuel"])
def test_quick_code_agrees_with_interp(fuel: bool) -> None:
    got = _run("llvm", fuel)
    want = _run("interp", fuel)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if g[0] == "deep":  # the tiers' stack depths differ (so does the fuel spent)
            assert g[2] == w[2] and "STACK" in g[2][1], (g, w)
        else:
            assert g == w
    assert ("tail", (100_000, 0)) in [(g[0], g[1]) for g in got if g[2] == 200_000]


def test_quick_partitions() -> None:
    cm = compile_wasm(WASM)
    sizes = {f: len(cm.module.funcs[f].instrs) for f in range(len(cm.module.funcs))}
    names = {e.name: e.index for e in cm.module.exports}
    parts = compiler.partitions(cm, 2)
    quick = [p for p in parts if not p.glue and names["arith"] in p.funcs]
    assert len(quick) == 1 and names["loop"] not in quick[0].funcs
    assert all(sizes[f] <= QUICK_SIZE for f in quick[0].funcs)
    assert len(quick[0].funcs) == N_FUNCS - 1  # every one but the loop
    assert sorted(f for p in parts for f in p.funcs) == list(range(N_FUNCS))
    # Its IR is compiled with the quick pipeline.
    info = ModuleInfo(cm.module, cm.func_types, 2)
    text = partition_text(info, quick[0], "x86_64-unknown-linux-gnu", "")
    assert jit._marks(text, jit.QUICK_MARK) and jit._only_quick(text)
    assert text.count(f") {QUICK} {{") == N_FUNCS - 1
    # Not in a partial unit (per-function tier-up compiles hot functions), not at -O3,
    # not below QUICK_FUNCS functions.
    assert info.quick and not ModuleInfo(cm.module, cm.func_types, 2, unit=frozenset([1])).quick
    assert len(compiler.partitions(cm, 1, 3)) == 1
    small = compile_wasm(wat2wasm(_module(10)))
    assert len(compiler.partitions(small, 1)) == 1
    text = partition_text(ModuleInfo(small.module, small.func_types, 2),
                          compiler.partitions(small, 1)[0], "x86_64-unknown-linux-gnu", "")
    assert not jit._only_quick(text) and f") {QUICK} {{" not in text
