"""A component's quiet trailing definitions (core instances without start functions
or segments that may trap, lifts, aliases, exports) run on first use of its exports
once its plan has instantiated on the engine's backend. Nothing may tell the
difference: each instance gets its own state, start functions run and traps happen at
instantiation, fuel and limits are applied at once, a failure while running the
deferred definitions leaves them to run again, and an unused instance dies with its
store without the cyclic GC."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from typing import Any

import pytest

import nanoproc
from component_samples import tier_engine
from nanoproc import component as c

TIERS = ["interp", "llvm"]

COUNTER = """(component
  (core module $libc (memory (export "mem") 1))
  (core instance $libc (instantiate $libc))
  (core module $m
    (import "" "mem" (memory 1))
    (global $n (mut i32) (i32.const 0))
    (data (i32.const 100) "\\05")
    (func (export "bump") (result i32)
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (global.get $n))
    (func (export "poke") (param i32)
      (i32.store8 (i32.const 100) (i32.add (i32.load8_u (i32.const 100)) (local.get 0))))
    (func (export "peek") (result i32) (i32.load8_u (i32.const 100))))
  (core instance $i (instantiate $m (with "" (instance (export "mem" (memory $libc "mem"))))))
  (func (export "bump") (result u32) (canon lift (core func $i "bump")))
  (func (export "poke") (param "d" u32) (canon lift (core func $i "poke")))
  (func (export "peek") (result u32) (canon lift (core func $i "peek")))
)"""

START = """(component
  (import "hello" (func $hello))
  (core func $hello' (canon lower (func $hello)))
  (core module $m
    (import "" "hello" (func $hello))
    (func $start (call $hello))
    (start $start)
    (func (export "f") (result i32) (i32.const 3)))
  (core instance $i (instantiate $m (with "" (instance (export "hello" (func $hello'))))))
  (func (export "f") (result u32) (canon lift (core func $i "f")))
)"""

TRAPS = """(component
  (core module $m
    (memory 1)
    (data (i32.const 65535) "ab")
    (func (export "f") (result i32) (i32.const 3)))
  (core instance $i (instantiate $m))
  (func (export "f") (result u32) (canon lift (core func $i "f")))
)"""


def _instances(engine: nanoproc.Engine, source: str, n: int,
               linker: c.Linker | None = None) -> list[tuple[nanoproc.Store, Any]]:  # fmt: skip
    comp = c.Component(engine, source)
    linker = linker or c.Linker(engine)
    out = []
    for _ in range(n):
        store = nanoproc.Store(engine)
        out.append((store, linker.instantiate(store, comp)))
    return out


def _call(store: nanoproc.Store, inst: Any, name: str, *args: Any) -> Any:
    return inst.get_func(store, name)(store, *args)


@pytest.mark.parametrize("tier", TIERS)
def test_deferred_instances_have_their_own_state(tier: str) -> None:
    engine = tier_engine(tier)
    (s0, i0), (s1, i1), (s2, i2) = _instances(engine, COUNTER, 3)
    assert i0._inst.pending is None  # the plan's first instantiation runs everything
    assert i1._inst.pending is not None and i2._inst.pending is not None
    assert _call(s2, i2, "bump") == 1
    assert i2._inst.pending is None
    assert i1._inst.pending is not None  # using one instance realizes no other
    assert [_call(s1, i1, "bump") for _ in range(3)] == [1, 2, 3]
    assert _call(s2, i2, "bump") == 2
    assert _call(s0, i0, "bump") == 1
    _call(s1, i1, "poke", 10)
    assert (_call(s0, i0, "peek"), _call(s1, i1, "peek"), _call(s2, i2, "peek")) == (5, 15, 5)


@pytest.mark.parametrize("tier", TIERS)
def test_start_functions_run_at_instantiation(tier: str) -> None:
    engine = tier_engine(tier)
    calls: list[Any] = []
    linker = c.Linker(engine)
    with linker.root() as root:
        root.add_func("hello", lambda store: calls.append(store))
    insts = _instances(engine, START, 3, linker)
    assert calls == [s for s, _ in insts]
    assert all(_call(s, i, "f") == 3 for s, i in insts)
    assert len(calls) == 3


@pytest.mark.parametrize("tier", TIERS)
def test_a_trapping_segment_traps_at_every_instantiation(tier: str) -> None:
    engine = tier_engine(tier)
    comp = c.Component(engine, TRAPS)
    linker = c.Linker(engine)
    for _ in range(3):
        with pytest.raises(nanoproc.Trap, match="out of bounds"):
            linker.instantiate(nanoproc.Store(engine), comp)


def test_missing_imports_fail_at_instantiation() -> None:
    engine = tier_engine("interp")
    comp = c.Component(engine, START)
    good = c.Linker(engine)
    with good.root() as root:
        root.add_func("hello", lambda store: None)
    for _ in range(2):
        good.instantiate(nanoproc.Store(engine), comp)
    with pytest.raises(nanoproc.WasmtimeError, match="hello"):
        c.Linker(engine).instantiate(nanoproc.Store(engine), comp)


@pytest.mark.parametrize("tier", TIERS)
def test_fuel_is_charged_at_instantiation(tier: str) -> None:
    cfg = nanoproc.Config()
    cfg.strategy = tier
    cfg.consume_fuel = True
    engine = nanoproc.Engine(cfg)
    comp = c.Component(engine, COUNTER)
    linker = c.Linker(engine)
    used = []
    for _ in range(3):
        store = nanoproc.Store(engine)
        store.set_fuel(10_000)
        inst = linker.instantiate(store, comp)
        assert inst._inst.pending is None
        used.append(10_000 - store.get_fuel())
    assert used[0] > 0 and used == [used[0]] * 3


@pytest.mark.parametrize("tier", TIERS)
def test_limits_are_applied_at_instantiation(tier: str) -> None:
    engine = tier_engine(tier)
    comp = c.Component(engine, COUNTER)
    linker = c.Linker(engine)
    linker.instantiate(nanoproc.Store(engine), comp)
    for _ in range(2):
        store = nanoproc.Store(engine)
        store.set_limits(memories=0)
        with pytest.raises(nanoproc.WasmtimeError, match="memory count"):
            linker.instantiate(store, comp)


class _Interrupting(list):  # type: ignore[type-arg]
    """A store's instance list whose ``append`` is interrupted (Ctrl-C)."""

    def append(self, item: object) -> None:
        raise KeyboardInterrupt


def _interrupt_limiter(*args: object) -> bool:
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["registering", "allocating"])
@pytest.mark.parametrize("tier", TIERS)
def test_a_failure_while_realizing_leaves_it_to_run_again(tier: str, where: str) -> None:
    engine = tier_engine(tier)
    comp = c.Component(engine, COUNTER)
    linker = c.Linker(engine)
    linker.instantiate(nanoproc.Store(engine), comp)
    store = nanoproc.Store(engine)
    inst = linker.instantiate(store, comp)
    assert inst._inst.pending is not None
    st = store._state
    before = (list(st.instances), st.num_memories, st.num_tables)
    if where == "registering":  # before the core instance took anything from the store
        st.instances = _Interrupting(st.instances)
    else:  # its memory's allocation asks the limiter: undone after it was counted
        st.limiter = _interrupt_limiter
    for _ in range(2):
        with pytest.raises(KeyboardInterrupt):
            inst.get_func(store, "bump")
        assert inst._inst.pending is not None
        assert (list(st.instances), st.num_memories, st.num_tables) == before
    st.instances = list(st.instances)
    st.limiter = None
    assert [_call(store, inst, "bump") for _ in range(2)] == [1, 2]
    assert _call(store, inst, "peek") == 5
    assert sorted(inst._inst.exports) == ["bump", "peek", "poke"]


@pytest.mark.parametrize("tier", TIERS)
def test_an_unused_deferred_instance_dies_with_its_store(tier: str) -> None:
    engine = tier_engine(tier)
    comp = c.Component(engine, COUNTER)
    linker = c.Linker(engine)
    linker.instantiate(nanoproc.Store(engine), comp)
    gc.collect()
    gc.disable()
    try:
        store = nanoproc.Store(engine)
        inst = linker.instantiate(store, comp)
        assert inst._inst.pending is not None
        state, cinst = weakref.ref(store._state), weakref.ref(inst._inst)
        del store, inst
        assert state() is None and cinst() is None
        # closed before use: the instance refuses, and is freed
        store = nanoproc.Store(engine)
        inst = linker.instantiate(store, comp)
        store.close()
        with pytest.raises(ValueError):
            inst.get_func(store, "bump")
        cinst = weakref.ref(inst._inst)
        del inst
        assert cinst() is None
    finally:
        gc.enable()


def test_another_thread_waits_for_the_deferred_steps() -> None:
    engine = tier_engine("interp")
    comp = c.Component(engine, COUNTER)
    linker = c.Linker(engine)
    linker.instantiate(nanoproc.Store(engine), comp)
    store = nanoproc.Store(engine)
    inst = linker.instantiate(store, comp)
    st = store._state
    started = threading.Event()

    def slow(*args: object) -> bool:  # the first core instance's memory, mid-way
        started.set()
        time.sleep(0.2)
        return True

    st.limiter = slow
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(inst.get_func(store, "bump")))
    worker.start()
    assert started.wait(10)
    peek = inst.get_func(store, "peek")  # while the worker is still realizing
    worker.join()
    assert peek is not None and got[0] is not None
    assert peek(store) == 5 and got[0](store) == 1
