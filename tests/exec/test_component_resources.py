"""Resources through nanoproc.component: host-defined and guest-defined types, own and
borrow handles, destructors run exactly once, and traps that leave the linker and
other instances usable. Both tiers."""

from __future__ import annotations

from typing import Any

import pytest

import nanoproc
from component_samples import instantiated, tier_engine
from nanoproc import component as c

TIERS = ["interp", "llvm"]

GUEST = """(component
  (core module $dtor
    (global $count (export "count") (mut i32) (i32.const 0))
    (global $last (export "last") (mut i32) (i32.const 0))
    (func (export "dtor") (param i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.set $last (local.get 0))))
  (core instance $d (instantiate $dtor))
  (type $r (resource (rep i32) (dtor (core func $d "dtor"))))
  (export $r' "r" (type $r))
  (core func $new (canon resource.new $r))
  (core func $rep (canon resource.rep $r))
  (core func $drop (canon resource.drop $r))
  (core module $m
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "rep" (func $rep (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (import "" "count" (global $count (mut i32)))
    (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
    (func (export "rep-of") (param i32) (result i32) (local.get 0))
    (func (export "consume") (param i32) (result i32)
      (local $r i32)
      (local.set $r (call $rep (local.get 0)))
      (call $drop (local.get 0))
      (local.get $r))
    (func (export "count") (result i32) (global.get $count))
    (func (export "boom") unreachable))
  (core instance $i (instantiate $m (with "" (instance
    (export "new" (func $new)) (export "rep" (func $rep)) (export "drop" (func $drop))
    (export "count" (global $d "count"))))))
  (func (export "make") (param "rep" u32) (result (own $r')) (canon lift (core func $i "make")))
  (func (export "rep-of") (param "x" (borrow $r')) (result u32) (canon lift (core func $i "rep-of")))
  (func (export "consume") (param "x" (own $r')) (result u32) (canon lift (core func $i "consume")))
  (func (export "count") (result u32) (canon lift (core func $i "count")))
  (func (export "boom") (canon lift (core func $i "boom")))
)"""

HOST = """(component
  (import "r" (type $r (sub resource)))
  (import "make" (func $make (param "n" u32) (result (own $r))))
  (import "get" (func $get (param "x" (borrow $r)) (result u32)))
  (core func $make' (canon lower (func $make)))
  (core func $get' (canon lower (func $get)))
  (core func $drop (canon resource.drop $r))
  (core module $m
    (import "" "make" (func $make (param i32) (result i32)))
    (import "" "get" (func $get (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "run") (param i32) (result i32)
      (local $h i32) (local $v i32)
      (local.set $h (call $make (local.get 0)))
      (local.set $v (call $get (local.get $h)))
      (call $drop (local.get $h))
      (local.get $v))
    (func (export "keep") (param i32) (result i32) (call $make (local.get 0)))
    (func (export "id") (param i32) (result i32) (local.get 0)))
  (core instance $i (instantiate $m (with "" (instance
    (export "make" (func $make')) (export "get" (func $get')) (export "drop" (func $drop))))))
  (func (export "run") (param "n" u32) (result u32) (canon lift (core func $i "run")))
  (func (export "keep") (param "n" u32) (result (own $r)) (canon lift (core func $i "keep")))
  (func (export "id") (param "x" (own $r)) (result (own $r)) (canon lift (core func $i "id")))
)"""


def _guest(tier: str) -> tuple[nanoproc.Store, c.Linker, c.Component, Any]:
    return instantiated(tier_engine(tier), GUEST)


@pytest.mark.parametrize("tier", TIERS)
def test_guest_resource_dropped_once_by_the_host(tier: str) -> None:
    store, _, _, inst = _guest(tier)
    make, rep_of, count = (inst.get_func(store, n) for n in ("make", "rep-of", "count"))
    x = make(store, 42)
    assert isinstance(x, c.ResourceAny) and x.owned
    assert rep_of(store, x) == 42  # borrowed, still owned by the host
    assert count(store) == 0
    x.drop(store)
    assert count(store) == 1
    with pytest.raises(nanoproc.WasmtimeError, match="already been dropped"):
        x.drop(store)
    with pytest.raises(ValueError, match="already been dropped"):
        rep_of(store, x)
    assert count(store) == 1  # the failed calls left the instance usable
    assert rep_of(store, make(store, 7)) == 7


@pytest.mark.parametrize("tier", TIERS)
def test_guest_resource_moved_back_and_dropped_by_its_component(tier: str) -> None:
    store, _, _, inst = _guest(tier)
    make, consume, count = (inst.get_func(store, n) for n in ("make", "consume", "count"))
    x = make(store, 9)
    assert consume(store, x) == 9  # own moved in; the component drops it
    assert count(store) == 1
    with pytest.raises(ValueError, match="already been dropped or moved"):
        consume(store, x)
    with pytest.raises(nanoproc.WasmtimeError):
        x.drop(store)
    assert count(store) == 1


@pytest.mark.parametrize("tier", TIERS)
def test_resource_of_another_instance_is_refused(tier: str) -> None:
    store, linker, comp, inst = _guest(tier)
    other = linker.instantiate(store, comp)
    x = inst.get_func(store, "make")(store, 1)
    with pytest.raises(TypeError, match="resource type mismatch"):
        other.get_func(store, "rep-of")(store, x)
    assert inst.get_func(store, "rep-of")(store, x) == 1


@pytest.mark.parametrize("tier", TIERS)
def test_host_resource(tier: str) -> None:
    engine = tier_engine(tier)
    store = nanoproc.Store(engine)
    comp = c.Component(engine, HOST)
    dropped: list[int] = []
    reps = iter(range(100, 200))

    def make(st: Any, n: int) -> c.ResourceHost:
        return c.ResourceHost.own(next(reps) + 1000 * n, 7)

    def get(st: Any, x: Any) -> int:
        assert not x.owned
        return int(x.to_host(st).rep)

    linker = c.Linker(engine)
    with linker.root() as root:
        root.add_resource("r", c.ResourceType.host(7), lambda st, rep: dropped.append(rep))
        root.add_func("make", make)
        root.add_func("get", get)
    inst = linker.instantiate(store, comp)
    assert inst.get_func(store, "run")(store, 2) == 2100
    assert dropped == [2100]
    kept = inst.get_func(store, "keep")(store, 3)
    assert isinstance(kept, c.ResourceAny) and kept.type == c.ResourceType.host(7)
    host = kept.to_host(store)
    assert host.rep == 3101 and host.type == 7
    back = inst.get_func(store, "id")(store, c.ResourceHost.own(5, 7))
    assert back.to_host(store).rep == 5
    with pytest.raises(TypeError, match="resource type mismatch"):
        inst.get_func(store, "id")(store, c.ResourceHost.own(5, 8))
    assert dropped == [2100]


@pytest.mark.parametrize("tier", [*TIERS, "tiered"])  # tiered: the default engine
def test_trap_leaves_linker_and_other_instances_usable(tier: str) -> None:
    store, linker, comp, inst = _guest(tier)
    other = linker.instantiate(store, comp)
    boom = inst.get_func(store, "boom")
    with pytest.raises(nanoproc.Trap, match="unreachable"):
        boom(store)
    # the trapped instance stays poisoned, as in wasmtime
    with pytest.raises(nanoproc.Trap, match="cannot enter component instance"):
        inst.get_func(store, "count")(store)
    assert other.get_func(store, "count")(store) == 0
    x = other.get_func(store, "make")(store, 3)
    assert other.get_func(store, "consume")(store, x) == 3
    fresh = linker.instantiate(store, comp)
    assert fresh.get_func(store, "rep-of")(store, fresh.get_func(store, "make")(store, 4)) == 4


@pytest.mark.parametrize("tier", TIERS)
def test_bad_argument_leaves_instance_usable(tier: str) -> None:
    store, _, _, inst = _guest(tier)
    make = inst.get_func(store, "make")
    with pytest.raises(ValueError, match="out of range"):
        make(store, -1)
    with pytest.raises(TypeError):
        make(store, "x")
    with pytest.raises(TypeError, match="wrong number of parameters"):
        make(store)
    assert inst.get_func(store, "rep-of")(store, make(store, 5)) == 5
