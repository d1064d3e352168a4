"""A component linker resolves a component's imports once and reuses that for every
instantiation (one store per request): each store still gets its own store in host
calls and destructors, a changed definition is seen at once, and a component with
nested components is freed without the cyclic GC."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

import nanoproc
from component_samples import tier_engine
from nanoproc import component as c

TIERS = ["interp", "llvm"]

HOST = """(component
  (import "r" (type $r (sub resource)))
  (import "io" (instance $io
    (export "make" (func (param "n" u32) (result (own $r))))
    (export "seen" (func (result u32)))))
  (alias export $io "make" (func $make))
  (alias export $io "seen" (func $seen))
  (core func $make' (canon lower (func $make)))
  (core func $seen' (canon lower (func $seen)))
  (core func $drop (canon resource.drop $r))
  (core module $m
    (import "" "make" (func $make (param i32) (result i32)))
    (import "" "seen" (func $seen (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "run") (param i32) (result i32)
      (call $drop (call $make (local.get 0)))
      (call $seen)))
  (core instance $i (instantiate $m (with "" (instance
    (export "make" (func $make')) (export "seen" (func $seen')) (export "drop" (func $drop))))))
  (func (export "run") (param "n" u32) (result u32) (canon lift (core func $i "run")))
  (export "seen" (func $seen))
)"""

NESTED = """(component
  (component $inner
    (core module $m
      (memory (export "mem") 1)
      (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))
    (core instance $i (instantiate $m))
    (func (export "f") (param "x" u32) (result u32) (canon lift (core func $i "f"))))
  (instance $a (instantiate $inner))
  (instance $b (instantiate $inner))
  (alias export $a "f" (func $fa))
  (alias export $b "f" (func $fb))
  (export "fa" (func $fa))
  (export "fb" (func $fb))
)"""


def _linker(engine: nanoproc.Engine, log: list[Any], tag: str = "a") -> c.Linker:
    linker = c.Linker(engine)
    linker.allow_shadowing = True
    _define(linker, log, tag)
    return linker


def _define(linker: c.Linker, log: list[Any], tag: str) -> None:
    with linker.root() as root:
        root.add_resource("r", c.ResourceType.host(9),
                          lambda st, rep: log.append(("drop", tag, st, rep)))  # fmt: skip
        with root.add_instance("io") as io:
            io.add_func("make", lambda st, n: (log.append(("make", tag, st)),
                                               c.ResourceHost.own(n, 9))[1])  # fmt: skip
            io.add_func("seen", lambda st: len(log))


@pytest.mark.parametrize("tier", TIERS)
def test_each_store_gets_its_own_store_in_host_calls(tier: str) -> None:
    engine = tier_engine(tier)
    comp = c.Component(engine, HOST)
    log: list[Any] = []
    linker = _linker(engine, log)
    stores = [nanoproc.Store(engine) for _ in range(3)]
    for i, store in enumerate(stores):
        inst = linker.instantiate(store, comp)
        assert inst.get_func(store, "run")(store, 10 + i) == 2 * (i + 1)
        # the re-exported host function is called with the caller's store too
        assert inst.get_func(store, "seen")(store) == 2 * (i + 1)
    assert log == [e for i, s in enumerate(stores)
                   for e in (("make", "a", s), ("drop", "a", s, 10 + i))]  # fmt: skip


@pytest.mark.parametrize("tier", TIERS)
def test_changed_definitions_are_seen_by_the_next_instantiation(tier: str) -> None:
    engine = tier_engine(tier)
    comp = c.Component(engine, HOST)
    log: list[Any] = []
    linker = c.Linker(engine)
    linker.allow_shadowing = True
    store = nanoproc.Store(engine)
    with pytest.raises(nanoproc.WasmtimeError, match="`r`"):
        linker.instantiate(store, comp)
    _define(linker, log, "a")
    linker.instantiate(store, comp).get_func(store, "run")(store, 1)
    _define(linker, log, "b")  # shadows every definition
    linker.instantiate(store, comp).get_func(store, "run")(store, 2)
    with linker.root() as root, root.add_instance("io") as io:
        io.add_func("make", lambda st, n: c.ResourceHost.own(n * 100, 9))
    linker.instantiate(store, comp).get_func(store, "run")(store, 3)
    assert [e[:2] for e in log] == [("make", "a"), ("drop", "a"), ("make", "b"), ("drop", "b"),
                                    ("drop", "b")]  # fmt: skip
    assert log[-1][3] == 300


@pytest.mark.parametrize("tier", TIERS)
def test_nested_components_are_freed_without_the_cycle_collector(tier: str) -> None:
    engine = tier_engine(tier)
    comp = c.Component(engine, NESTED)
    linker = c.Linker(engine)

    def use() -> tuple[Any, Any]:
        store = nanoproc.Store(engine)
        inst = linker.instantiate(store, comp)
        assert inst.get_func(store, "fa")(store, 1) == 2
        assert inst.get_func(store, "fb")(store, 2) == 3
        return weakref.ref(store._state), weakref.ref(inst._inst)

    use()
    gc.collect()
    gc.disable()
    try:
        state, inst = use()
        assert state() is None, "the store should not wait for the cyclic GC"
        assert inst() is None
    finally:
        gc.enable()


def test_a_linker_forgets_the_template_of_a_component_that_died() -> None:
    engine = tier_engine("interp")
    linker = c.Linker(engine)
    comp = c.Component(engine, '(component (core module $m) (core instance (instantiate $m)))')
    linker.instantiate(nanoproc.Store(engine), comp)
    assert len(linker._templates) == 1
    plan = weakref.ref(comp._plan)
    del comp
    gc.collect()
    assert plan() is None
    assert linker._templates == {}
    # a new component (perhaps at the dead one's address) gets a template of its own
    comp = c.Component(engine, '(component (core module $m) (core instance (instantiate $m)))')
    linker.instantiate(nanoproc.Store(engine), comp)
    assert [entry[0]() for entry in linker._templates.values()] == [comp._plan]
