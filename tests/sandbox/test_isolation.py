"""Isolation: nothing one store or instance does is visible in another.

Stores share code (a module is translated or compiled once), never state: memory,
globals, tables, fuel, epoch deadlines and WASI state are per store, and memory
starts zeroed however many memories came and went before.
"""

from __future__ import annotations

import os

import pytest
from sandbox_helpers import engine, tier_fixture  # noqa: F401

import nanoproc

STATE = '''(module
  (memory (export "memory") 1 2) (table (export "table") 2 funcref)
  (global $g (export "g") (mut i64) (i64.const 0))
  (func $f (export "f") (result i32) i32.const 42) (elem declare func $f)
  (func (export "poke") (param i32 i32)
    local.get 0 local.get 1 i32.store
    (global.set $g (i64.add (global.get $g) (i64.const 1)))
    (table.set (i32.const 1) (ref.func $f)))
  (func (export "peek") (param i32) (result i32) local.get 0 i32.load)
  (func (export "grow") (result i32) i32.const 1 memory.grow)
  (func (export "spin") (param i32) (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))'''


def test_stores_share_no_state(tier: str) -> None:
    eng = engine(tier, consume_fuel=True, epoch_interruption=True)
    module = nanoproc.Module(eng, STATE)
    stores = [nanoproc.Store(eng) for _ in range(2)]
    ex = []
    for i, store in enumerate(stores):
        store.set_fuel(10_000 * (i + 1))
        store.set_epoch_deadline(1 + i)
        ex.append(nanoproc.Instance(store, module, []).exports(store))
    a, b = stores
    ex[0]["poke"](a, 100, 0x1234)
    ex[0]["grow"](a)
    ex[0]["spin"](a, 50)
    assert b.get_fuel() == 20_000 and a.get_fuel() < 10_000
    assert ex[1]["peek"](b, 100) == 0
    assert ex[1]["g"].value(b) == 0 and ex[0]["g"].value(a) == 1
    assert not isinstance(ex[1]["table"].get(b, 1), nanoproc.Func)
    assert isinstance(ex[0]["table"].get(a, 1), nanoproc.Func)
    assert ex[1]["memory"].size(b) == 1 and ex[0]["memory"].size(a) == 2
    a.engine.increment_epoch()  # a's deadline (1) passes, b's (2) not
    with pytest.raises(nanoproc.Trap):
        ex[0]["peek"](a, 0)
    assert ex[1]["peek"](b, 100) == 0


def test_instances_in_one_store_share_no_state(tier: str) -> None:
    eng = engine(tier)
    module = nanoproc.Module(eng, STATE)
    store = nanoproc.Store(eng)
    first = nanoproc.Instance(store, module, [])
    second = nanoproc.Instance(store, module, [])
    first.exports(store)["poke"](store, 8, 7)
    assert second.exports(store)["peek"](store, 8) == 0
    assert second.exports(store)["g"].value(store) == 0


def test_memory_starts_zeroed(tier: str) -> None:
    """However much earlier memories were dirtied (and freed), a new one is zero."""
    eng = engine(tier)
    module = nanoproc.Module(eng, STATE)
    for _ in range(20):
        store = nanoproc.Store(eng)
        ex = nanoproc.Instance(store, module, []).exports(store)
        mem = ex["memory"]
        assert not any(mem.read(store, 0, mem.data_len(store)))
        mem.write(store, b"\xff" * mem.data_len(store), 0)
        ex["grow"](store)
        assert not any(mem.read(store, 65536, 131072))  # grown pages are zero too
        mem.write(store, b"\xee" * 65536, 65536)
        store.close()


def test_wasi_state_is_per_store(tier: str) -> None:
    eng = engine(tier)
    wat = '''(module
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "count") (result i32) (drop (call $sizes (i32.const 0) (i32.const 4))) (i32.load (i32.const 0))))'''
    module = nanoproc.Module(eng, wat)
    counts = []
    for env in ([("A", "1")], [("A", "1"), ("B", "2"), ("C", "3")]):
        store = nanoproc.Store(eng)
        wasi = nanoproc.WasiConfig()
        wasi.env = env
        store.set_wasi(wasi)
        linker = nanoproc.Linker(eng)
        linker.define_wasi()
        counts.append(linker.instantiate(store, module).exports(store)["count"](store))
    assert counts == [1, 3]
    assert os.environ.get("B") != "2"
