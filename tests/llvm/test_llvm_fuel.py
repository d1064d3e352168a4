"""Fuel metering and epoch interruption on the llvm tier: the same counts, traps and
leftovers as the interp tier (which follows wasmtime to the unit), checked on
hand-written programs at many budgets, on random modules from wasm-tools smith, and
against wasmtime-py itself through the public API."""

from __future__ import annotations

import hashlib
import random
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from llvm_helpers import compile_wasm, compile_wat, host_func
from test_llvm_diff_smith import smith

import nanoproc
from nanoproc.internal.errors import UnsupportedFeature
from nanoproc.internal.exec.entities import FuncInst
from nanoproc.internal.exec.instance import instantiate
from nanoproc.internal.exec.memory import MemoryInst
from nanoproc.internal.exec.store import StoreState
from nanoproc.internal.exec.trap import Trap
from nanoproc.internal.interp import InterpBackend
from nanoproc.internal.llvm.backend import LLVMBackend
from nanoproc.internal.syntax.types import I32, I64, FuncType

LLVM_FUEL = LLVMBackend(consume_fuel=True)
INTERP_FUEL = InterpBackend(consume_fuel=True)

PROGRAMS = """
(module
  (import "h" "peek" (func $peek (result i64)))
  (memory 1 3) (table 4 funcref) (elem (i32.const 0) $leaf $count $leaf)
  (type $v (func)) (type $ii (func (param i32) (result i32)))
  (global $g (mut i32) (i32.const 0))
  (func $leaf global.get $g i32.const 1 i32.add global.set $g)
  (func $count (param i32) (result i32) (local i32)
    block $out loop $top
      local.get 0 i32.eqz br_if $out
      local.get 1 local.get 0 i32.add local.set 1
      local.get 1 i32.const 16 i32.rem_u i32.const 4 i32.mul
      local.get 0 i32.store
      local.get 0 i32.const 1 i32.sub local.set 0
      br $top end end local.get 1)
  (func (export "loop") (param i32) (result i32) local.get 0 call $count)
  (func (export "calls") (param i32) (result i32)
    block loop
      call $leaf
      i32.const 0 call_indirect (type $v)
      local.get 0 i32.const 1 i32.sub local.tee 0
      br_if 0 end end global.get $g)
  (func (export "branches") (param i32) (result i32)
    block block block block
      local.get 0 i32.const 3 i32.and br_table 0 1 2 3
    end i32.const 10 return
    end i32.const 20 local.get 0 if (result i32) i32.const 1 else i32.const 2 end i32.add return
    end local.get 0 i32.const 7 i32.div_u return
    end i32.const 40)
  (func (export "bulk") (param i32) (result i32)
    i32.const 0 i32.const 7 local.get 0 memory.fill
    i32.const 100 i32.const 0 i32.const 50 memory.copy
    i32.const 200 i32.const 0 i32.const 300 memory.copy
    i32.const 1 memory.grow drop
    local.get 0 memory.grow)
  (func (export "host") (result i64) call $peek call $peek i64.add)
  (func (export "traps") (param i32) (result i32)
    local.get 0 i32.const 1 i32.eq if unreachable end
    local.get 0 i32.const 2 i32.eq if i32.const 9 call_indirect (type $v) end
    local.get 0 i32.const 3 i32.eq if i32.const 70000 i32.load drop end
    local.get 0 i32.const 4 i32.eq if i32.const 0 i32.load offset=300000 drop end
    i32.const 5)
  (func $even (param i64) (result i64)
    local.get 0 i64.eqz if (result i64) i64.const 1 else
      local.get 0 i64.const 1 i64.sub return_call $odd end)
  (func $odd (param i64) (result i64)
    local.get 0 i64.eqz if (result i64) i64.const 0 else
      local.get 0 i64.const 1 i64.sub return_call $even end)
  (func (export "tail") (param i64) (result i64) local.get 0 call $even))
"""

CALLS = [("loop", (0,)), ("loop", (5,)), ("loop", (40,)), ("calls", (3,)), ("calls", (25,)),
         ("branches", (0,)), ("branches", (1,)), ("branches", (2,)), ("branches", (3,)),
         ("bulk", (10,)), ("bulk", (1000,)), ("bulk", (0,)), ("host", ()),
         ("traps", (0,)), ("traps", (1,)), ("traps", (2,)), ("traps", (3,)), ("traps", (4,)),
         ("tail", (9,)), ("tail", (50,))]  # fmt: skip
BUDGETS = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 1000, 100_000]


def _instance(cm: Any, backend: Any, fuel: int, peeks: list[int]) -> Any:
    st = StoreState(None)
    st.fuel = fuel

    def peek() -> int:
        peeks.append(st.fuel)
        st.fuel = max(st.fuel - 3, 0)  # a host function may spend fuel too
        return st.fuel

    imports = [host_func(FuncType((), (I64,)), peek)] if cm.module.imports else []
    try:
        return ("ok", instantiate(st, cm, imports, backend)), st
    except BaseException as e:
        exc = backend.convert_exception(e)
        assert isinstance(exc, Trap), exc
        return ("trap", exc.trap_code), st


def _call(inst: Any, st: StoreState, backend: Any, name: str, args: tuple[Any, ...]) -> Any:
    try:
        r: Any = ("ok", inst.exports[name].call(*args))
    except BaseException as e:
        exc = backend.convert_exception(e)
        assert isinstance(exc, Trap), exc
        r = ("trap", exc.trap_code)
    mem = [hashlib.sha256(bytes(m.view)).hexdigest() for m in inst.memories]
    return r, st.fuel, mem


@pytest.mark.parametrize("name, args", CALLS)
def test_fuel_matches_interp(name: str, args: tuple[Any, ...]) -> None:
    cm = compile_wat(PROGRAMS)
    for budget in BUDGETS:
        results = []
        for backend in (LLVM_FUEL, INTERP_FUEL):
            peeks: list[int] = []
            made, st = _instance(cm, backend, budget, peeks)
            if made[0] != "ok":
                results.append((made, st.fuel))
                continue
            results.append((_call(made[1], st, backend, name, args), peeks))
        assert results[0] == results[1], f"{name}{args} with {budget} fuel"


@pytest.mark.parametrize("seed", range(40))
def test_fuel_on_random_modules(seed: int) -> None:
    data = smith(1000 + seed)
    if data is None:
        pytest.skip("wasm-tools smith produced no module for this seed")
    cm = compile_wasm(data)
    rng = random.Random(seed)
    for budget in (rng.randrange(1, 50), rng.randrange(50, 2000), 1 << 40):
        outcomes = []
        for backend in (LLVM_FUEL, INTERP_FUEL):
            try:
                made, st = _instance(cm, backend, budget, [])
            except UnsupportedFeature:
                pytest.skip("module needs a feature neither tier runs")
            trail: list[Any] = [made[0], st.fuel]
            if made[0] == "ok":
                inst = made[1]
                for ename, ext in inst.export_list:
                    if isinstance(ext, FuncInst) and all(t in (I32, I64) for t in ext.type.params):
                        r, fuel, _ = _call(inst, st, backend, ename, (1,) * len(ext.type.params))
                        trail.append((ename, r[0], r[1] if r[0] == "trap" else None, fuel))
                        trail.append([hashlib.sha256(bytes(m.view)).hexdigest()
                                      for _, m in inst.export_list if isinstance(m, MemoryInst)])
            outcomes.append(trail)
        assert outcomes[0] == outcomes[1], f"seed {seed}, budget {budget}"


# ---------------------------------------------------------------- through the public API
def _engine(api: Any, **settings: Any) -> Any:
    config = api.Config()
    if api is nanoproc:
        config.strategy = "llvm"
    for k, v in settings.items():
        setattr(config, k, v)
    return api.Engine(config)


@pytest.mark.parametrize("budget", [1, 2, 10, 57, 400, 10_000])
def test_fuel_matches_wasmtime(budget: int) -> None:
    import wasmtime

    text = """(module (memory 1)
      (func $f (param i32) (result i32) local.get 0 i32.const 1 i32.add)
      (func (export "run") (param i32) (result i32) (local i32)
        loop local.get 1 call $f local.set 1
          i32.const 0 local.get 1 i32.store
          local.get 1 local.get 0 i32.lt_u br_if 0 end local.get 1))"""
    seen = []
    for api in (nanoproc, wasmtime):
        engine = _engine(api, consume_fuel=True)
        store = api.Store(engine)
        store.set_fuel(budget)
        run = api.Instance(store, api.Module(engine, text), []).exports(store)["run"]
        try:
            r: Any = run(store, 20)
        except api.Trap as t:
            r = str(t.trap_code)
        seen.append((r, store.get_fuel()))
    assert seen[0][1] == seen[1][1] and (seen[0][0] == seen[1][0] or "OUT_OF_FUEL" in
                                          str(seen[0][0]) + str(seen[1][0]))


def test_epoch_interrupts_a_spinning_loop() -> None:
    engine = _engine(nanoproc, epoch_interruption=True)
    store = nanoproc.Store(engine)
    module = nanoproc.Module(engine, """(module (import "" "tick" (func $tick))
        (func (export "run") call $tick (loop (br 0))))""")
    store.set_epoch_deadline(1)
    tick = nanoproc.Func(store, nanoproc.FuncType([], []), engine.increment_epoch)
    run = nanoproc.Instance(store, module, [tick]).exports(store)["run"]
    with pytest.raises(nanoproc.Trap) as info:
        run(store)
    assert info.value.trap_code == nanoproc.TrapCode.INTERRUPT


def test_epoch_advanced_by_another_thread() -> None:
    engine = _engine(nanoproc, epoch_interruption=True)
    store = nanoproc.Store(engine)
    module = nanoproc.Module(engine, '(module (func (export "run") (loop (br 0))))')
    run = nanoproc.Instance(store, module, []).exports(store)["run"]
    store.set_epoch_deadline(1)
    timer = threading.Timer(0.2, engine.increment_epoch)
    timer.start()
    with pytest.raises(nanoproc.Trap) as info:
        run(store)
    assert info.value.trap_code == nanoproc.TrapCode.INTERRUPT


def test_host_moving_the_deadline_keeps_code_running() -> None:
    st = StoreState(SimpleNamespace(epoch=5, epoch_interruption=True))
    st.epoch_deadline = 3
    backend = LLVMBackend(epoch_interruption=True)

    def extend() -> None:
        st.epoch_deadline = 100

    cm = compile_wat("""(module (import "h" "x" (func $x))
        (func (export "f") (result i32) call $x i32.const 7))""")
    inst = instantiate(st, cm, [host_func(FuncType((), ()), extend)], backend)
    with pytest.raises(Trap):  # the entry sees epoch 5 past deadline 3
        try:
            inst.exports["f"].call()
        except BaseException as e:
            raise backend.convert_exception(e) from None
    st.epoch_deadline = 6
    assert inst.exports["f"].call() == 7
