"""A stateful property test of the public API (issue 19): a hypothesis rule-based
state machine drives random sequences of API operations — stores created, closed
and dropped; memories, tables, globals and host functions made (valid limits and
invalid ones), grown, read and written; instances of a module importing them;
exports called, some through host functions that use the API themselves — on
wasmtime-py and on nanoproc's tiers side by side, and compares every outcome.

* nanoproc's tiers must agree exactly: the same value, or the same exception type
  and trap code.
* wasmtime-py is the reference for values: where it succeeds, every tier succeeds
  with the same value, and where it fails, every tier fails. Exception types are
  not compared with it (nanoproc raises wasmtime-py's where it has one, but
  docs/api-differences.md lists where they differ, e.g. limits wasmtime-py wraps
  through ctypes are refused, so such inputs are left to the tiers' comparison).
* Operations wasmtime itself aborts the process on (an object used with another
  store's store) go to nanoproc only: it must raise, not crash.

Run as a script (a long run, in its own process, so a crash of the host process is
a finding): ``python tests/api/api_machine.py --examples 300 --steps 60``. It
prints ``{"operations": N, "examples": M}``; a difference fails with hypothesis's
shrunk sequence of operations.
"""

from __future__ import annotations

import gc
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

MODULE = """(module
  (import "h" "mem" (memory $m 1))
  (import "h" "tab" (table $t 1 externref))
  (import "h" "g" (global $g (mut i32)))
  (import "h" "f" (func $f (param i32) (result i32)))
  (func (export "call") (param i32) (result i32) (call $f (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "tget") (param i32) (result externref) (table.get $t (local.get 0)))
  (func (export "tset") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))
  (func (export "tswap") (param i32 externref) (result externref)
    (table.get $t (local.get 0)) (table.set $t (local.get 0) (local.get 1)))
  (func (export "gget") (result i32) (global.get $g))
  (func (export "gset") (param i32) (global.set $g (local.get 0)))
  (func (export "many") (param i32) (result i32 i64 f64 externref i32)
    (local.get 0) (i64.extend_i32_s (local.get 0)) (f64.convert_i32_s (local.get 0))
    (table.get $t (i32.const 0)) (call $f (local.get 0))))"""

EXPORTS = ["call", "load", "store", "grow", "size", "tget", "tset", "tswap", "gget", "gset",
           "many"]  # fmt: skip

HOST_BEHAVIORS = ["inc", "grow", "tset", "gset", "raise", "trap", "close", "reenter", "bad"]
"""What a host function does when called (see World.host)."""

OPERATIONS = [0]
"""Operations run so far in this process, counted once per engine (the long run
reports it)."""

STEPS: Counter[str] = Counter()
"""Operations compared so far (once for all engines), by name and outcome on the
first tier: ``"call many ok"``."""

SKIP = object()
"""Stands, in wasmtime-py's world, for an object made by an operation it was not
given (see APIMachine.each); using it skips wasmtime-py for that operation."""


class Skip(Exception):
    """An operation wasmtime-py is not given (its outcome is not compared)."""


class Ref:
    """An externref value: compared by ``n`` across engines."""

    __slots__ = ("n", "__weakref__")

    def __init__(self, n: int) -> None:
        self.n = n


def norm(v: Any) -> Any:
    if isinstance(v, Ref):
        return ["ref", v.n]
    if isinstance(v, float):
        return "nan" if math.isnan(v) else v
    if isinstance(v, bytes | bytearray):
        return bytes(v).hex()
    if isinstance(v, list | tuple):
        return [norm(x) for x in v]
    if v is None or isinstance(v, bool | int | str):
        return v
    return f"<{type(v).__name__}>"


@dataclass
class Slot:
    """One store of a world and the objects made in it (None: dropped)."""

    store: Any
    mems: list[Any] = field(default_factory=list)
    tables: list[Any] = field(default_factory=list)
    globals: list[Any] = field(default_factory=list)
    funcs: list[Any] = field(default_factory=list)
    insts: list[Any] = field(default_factory=list)
    closed: bool = False
    diverged: bool = False
    """wasmtime-py's world only: an operation with effects on this store was not
    given to it, so it is not compared on this store any more."""


class World:
    """One engine's side of the machine."""

    def __init__(self, name: str, api: Any, strategy: str | None) -> None:
        self.name = name
        self.api = api
        config = api.Config()
        if strategy is not None:
            config.strategy = strategy
        self.engine = api.Engine(config)
        if strategy == "tiered":  # switch to native code after a few calls
            self.engine.backend.switch_after = lambda module: 3
        self.module = api.Module(self.engine, MODULE)
        self.slots: list[Slot | None] = []
        self.refs: dict[int, Ref] = {}

    def ref(self, n: int | None) -> Ref | None:
        if n is None:
            return None
        r = self.refs.get(n)
        if r is None:
            r = self.refs[n] = Ref(n)
        return r

    def host(self, slot: Slot, behavior: str) -> Any:
        api = self.api
        i32 = api.ValType.i32()

        def fn(x: int) -> Any:
            if behavior == "inc":
                return (x + 1) & 0x7FFFFFFF
            if behavior == "grow":
                m = first(slot.mems)
                return m.grow(slot.store, x & 1) if m is not None else -1
            if behavior == "tset":
                t = first(slot.tables)
                if t is not None:
                    t.set(slot.store, 0, self.ref(x & 7))
                return 0
            if behavior == "gset":
                g = first(slot.globals)
                if g is not None:
                    try:
                        g.set_value(slot.store, x & 0xFFFF)
                    except Exception:  # noqa: BLE001 - an immutable or f64 global
                        return -2
                return 1
            if behavior == "raise":
                raise ValueError("host says no")
            if behavior == "trap":
                raise api.Trap("host trap")
            if behavior == "close":
                slot.store.close()
                return 0
            if behavior == "reenter":
                inst = first(slot.insts)
                if inst is not None and x > 0:
                    return inst.exports(slot.store)["load"](slot.store, x & 0xFF)
                return 3
            return "not an i32"

        return api.Func(slot.store, api.FuncType([i32], [i32]), fn)


def outcome(world: World, fn: Any) -> Any:
    OPERATIONS[0] += 1
    try:
        return ["ok", norm(fn())]
    except Skip:
        return ["skip"]
    except world.api.Trap as t:
        code = getattr(t, "trap_code", None)
        return ["err", "Trap", code.name if code is not None else None]
    except Exception as e:  # noqa: BLE001 - the outcome is the exception's type
        return ["err", type(e).__name__]


def pick(items: list[Any], i: int) -> Any:
    """The i-th item (modulo), or None if there is none."""
    got = items[i % len(items)] if items else None
    if got is SKIP:
        raise Skip()
    return got


def first(items: list[Any]) -> Any:
    return pick(items, 0)


class APIMachine(RuleBasedStateMachine):
    """The same operations on every world; see the module docstring."""

    STRATEGIES: list[str] = ["interp", "llvm"]
    WITH_WASMTIME = True

    def __init__(self) -> None:
        super().__init__()
        import nanoproc

        self.worlds: list[World] = []
        if self.WITH_WASMTIME:
            try:
                import wasmtime

                self.worlds.append(World("wasmtime", wasmtime, None))
            except ImportError:
                pass
        self.worlds += [World(s, nanoproc, s) for s in self.STRATEGIES]

    # ------------------------------------------------------------ running an op
    def each(self, what: str, op: Any, nanoproc_only: bool = False,
             placeholder: Any = None, slot: int | None = None) -> None:
        """Run ``op(world)`` in every world and compare the outcomes. With
        ``nanoproc_only`` (or when ``op`` meets an object wasmtime-py was not given)
        wasmtime-py's world gets ``placeholder(world)`` instead, if the tiers
        succeeded: it records SKIP where they recorded the object made."""
        outs = []
        for w in self.worlds:
            if w.name == "wasmtime" and nanoproc_only:
                outs.append((w.name, ["skip"]))
            else:
                outs.append((w.name, outcome(w, lambda w=w: op(w))))
        tiers = [(n, o) for n, o in outs if n != "wasmtime"]
        STEPS[f"{what} {tiers[0][1][0]}{'' if outs[0][1] != ['skip'] else ' (tiers only)'}"] += 1
        for n, o in tiers[1:]:
            assert o == tiers[0][1], f"{what}: {tiers[0][0]} {tiers[0][1]} != {n} {o}"
        if outs[0][0] != "wasmtime":
            return
        ref = outs[0][1]
        if ref == ["skip"]:
            if placeholder is not None and tiers[0][1][0] == "ok":
                placeholder(self.worlds[0])
            effects = tiers[0][1][0] == "ok" or what.startswith("call")
            target = pick(self.worlds[0].slots, slot) if slot is not None else None
            if target is not None and effects:
                target.diverged = True
            return
        for n, o in tiers:
            if ref[0] == "ok" or o[0] == "ok":
                assert o == ref, f"{what}: wasmtime {ref} != {n} {o}"

    def slot(self, w: World, i: int) -> Slot:
        s = pick(w.slots, i)
        if s is None:
            raise LookupError("no store")
        if s.diverged:
            raise Skip()
        return s  # type: ignore[no-any-return]

    # ------------------------------------------------------------ stores
    @initialize(behaviors=st.lists(st.sampled_from(HOST_BEHAVIORS), min_size=2, max_size=2))
    def two_stores(self, behaviors: list[str]) -> None:
        """Two stores, each with what an instance needs (most sequences use them)."""
        for k, b in enumerate(behaviors):
            self.new_store()
            self.new_memory(k, 1, None)
            self.new_table(k, 2, None, None)
            self.new_global(k, "i32", True, 5)
            self.new_func(k, b)

    @rule()
    def new_store(self) -> None:
        for w in self.worlds:
            w.slots.append(Slot(w.api.Store(w.engine)))

    @rule(i=st.integers(0, 7), rare=st.integers(0, 3))
    def close_store(self, i: int, rare: int) -> None:
        if rare:
            return

        def op(w: World) -> None:
            s = self.slot(w, i)
            s.store.close()
            s.closed = True

        self.each("close", op, slot=i)

    @rule(i=st.integers(0, 7), rare=st.integers(0, 3))
    def drop_store(self, i: int, rare: int) -> None:
        """Forget a store and everything made in it, then collect."""
        if rare:
            return
        for w in self.worlds:
            if w.slots:
                w.slots[i % len(w.slots)] = None
        gc.collect()

    # ------------------------------------------------------------ memories
    @rule(i=st.integers(0, 7), lo=st.integers(-1, 3), hi=st.one_of(st.none(), st.integers(-1, 5)))
    def new_memory(self, i: int, lo: int, hi: int | None) -> None:
        """Limits out of range (-1) are for the tiers (wasmtime-py wraps them)."""

        def op(w: World) -> Any:
            s = self.slot(w, i)
            m = w.api.Memory(s.store, w.api.MemoryType(w.api.Limits(lo, hi)))
            s.mems.append(m)
            return m.size(s.store)

        self.each("new_memory", op, slot=i, nanoproc_only=lo < 0 or (hi is not None and hi < 0),
                  placeholder=lambda w: pick(w.slots, i).mems.append(SKIP))

    @rule(i=st.integers(0, 7), j=st.integers(0, 7), delta=st.integers(-1, 3))
    def memory_grow(self, i: int, j: int, delta: int) -> None:
        def op(w: World) -> Any:
            s = self.slot(w, i)
            return pick(s.mems, j).grow(s.store, delta)

        self.each("memory_grow", op, slot=i, nanoproc_only=delta < 0)

    @rule(i=st.integers(0, 7), j=st.integers(0, 7), off=st.sampled_from([0, 5, 65530, 65536, 131070]),
          data=st.binary(max_size=12))  # fmt: skip
    def memory_write_read(self, i: int, j: int, off: int, data: bytes) -> None:
        def op(w: World) -> Any:
            s = self.slot(w, i)
            m = pick(s.mems, j)
            m.write(s.store, data, off)
            return [m.read(s.store, off, off + len(data)), m.data_len(s.store)]

        self.each("memory_write_read", op, slot=i)

    # ------------------------------------------------------------ tables
    @rule(i=st.integers(0, 7), lo=st.integers(-1, 3), hi=st.one_of(st.none(), st.integers(-1, 5)),
          init=st.one_of(st.none(), st.integers(0, 7)))  # fmt: skip
    def new_table(self, i: int, lo: int, hi: int | None, init: int | None) -> None:
        def op(w: World) -> Any:
            s = self.slot(w, i)
            api = w.api
            t = api.Table(s.store, api.TableType(api.ValType.externref(), api.Limits(lo, hi)),
                          w.ref(init))  # fmt: skip
            s.tables.append(t)
            return t.size(s.store)

        self.each("new_table", op, slot=i, nanoproc_only=lo < 0 or (hi is not None and hi < 0),
                  placeholder=lambda w: pick(w.slots, i).tables.append(SKIP))

    @rule(i=st.integers(0, 7), j=st.integers(0, 7), idx=st.integers(0, 4),
          v=st.one_of(st.none(), st.integers(0, 7)), delta=st.integers(0, 2))  # fmt: skip
    def table_ops(self, i: int, j: int, idx: int, v: int | None, delta: int) -> None:
        def op(w: World) -> Any:
            s = self.slot(w, i)
            t = pick(s.tables, j)
            old = t.grow(s.store, delta, w.ref(v))
            t.set(s.store, idx, w.ref(v))
            return [old, t.get(s.store, idx), t.size(s.store)]

        self.each("table_ops", op, slot=i)

    # ------------------------------------------------------------ globals
    @rule(i=st.integers(0, 7), kind=st.sampled_from(["i32", "i64", "f64", "externref"]),
          mut=st.booleans(), v=st.integers(-3, 1 << 33))  # fmt: skip
    def new_global(self, i: int, kind: str, mut: bool, v: int) -> None:
        def op(w: World) -> Any:
            s = self.slot(w, i)
            api = w.api
            t = getattr(api.ValType, kind)()
            val: Any = w.ref(v & 7) if kind == "externref" else (float(v) if kind == "f64" else v)
            g = api.Global(s.store, api.GlobalType(t, mut), val)
            s.globals.append(g)
            return g.value(s.store)

        # An i32 out of range: wasmtime-py wraps it, nanoproc refuses it.
        wraps = kind == "i32" and not -(1 << 31) <= v < 1 << 32
        self.each("new_global", op, slot=i, nanoproc_only=wraps,
                  placeholder=lambda w: pick(w.slots, i).globals.append(SKIP))

    @rule(i=st.integers(0, 7), j=st.integers(0, 7), v=st.one_of(st.integers(-5, 1000),
          st.just("text"), st.floats(allow_nan=False)))  # fmt: skip
    def global_set(self, i: int, j: int, v: Any) -> None:
        def op(w: World) -> Any:
            s = self.slot(w, i)
            g = pick(s.globals, j)
            g.set_value(s.store, v)
            return g.value(s.store)

        # Python values of another type (wasmtime-py converts some through ctypes).
        self.each("global_set", op, slot=i, nanoproc_only=not isinstance(v, int))

    # ------------------------------------------------------------ functions and instances
    @rule(i=st.integers(0, 7), behavior=st.sampled_from(HOST_BEHAVIORS))
    def new_func(self, i: int, behavior: str) -> None:
        def op(w: World) -> Any:
            s = self.slot(w, i)
            s.funcs.append(w.host(s, behavior))
            return behavior

        # wasmtime-py closes the store under the running call (documented difference).
        self.each("new_func", op, slot=i, nanoproc_only=behavior == "close",
                  placeholder=lambda w: pick(w.slots, i).funcs.append(SKIP))

    @rule(i=st.integers(0, 7), m=st.integers(0, 7), t=st.integers(0, 7), g=st.integers(0, 7),
          f=st.integers(0, 7))  # fmt: skip
    def instantiate(self, i: int, m: int, t: int, g: int, f: int) -> None:
        def op(w: World) -> Any:
            s = self.slot(w, i)
            imports = [pick(s.mems, m), pick(s.tables, t), pick(s.globals, g), pick(s.funcs, f)]
            if any(x is None for x in imports):
                raise LookupError("missing import")
            inst = w.api.Instance(s.store, w.module, imports)
            s.insts.append(inst)
            return len(s.insts)

        self.each("instantiate", op, slot=i,
                  placeholder=lambda w: pick(w.slots, i).insts.append(SKIP))

    @rule(i=st.integers(0, 7), j=st.integers(0, 7), name=st.sampled_from(EXPORTS),
          a=st.one_of(st.integers(0, 3), st.integers(-2, 70000)),
          r=st.one_of(st.none(), st.integers(0, 7)))  # fmt: skip
    def call(self, i: int, j: int, name: str, a: int, r: int | None) -> None:
        def op(w: World) -> Any:
            s = self.slot(w, i)
            inst = pick(s.insts, j)
            if inst is None:
                raise LookupError("no instance")
            fn = inst.exports(s.store)[name]
            n = len(fn.type(s.store).params)
            args = [a, w.ref(r)] if name in ("tset", "tswap") else [a, a & 0xFF][:n]
            return fn(s.store, *args)

        self.each(f"call {name}", op, slot=i)

    @rule(a=st.integers(0, 7), b=st.integers(0, 7), j=st.integers(0, 7))
    def wrong_store(self, a: int, b: int, j: int) -> None:
        """An object used with another store: nanoproc raises (wasmtime aborts)."""

        def op(w: World) -> Any:
            sa, sb = self.slot(w, a), self.slot(w, b)
            if sa is sb:
                raise LookupError("same store")
            m = pick(sa.mems, j)
            return m.size(sb.store) if m is not None else None

        self.each("wrong_store", op, nanoproc_only=True)

    @invariant()
    def stores_answer(self) -> None:
        """Every open store with an instance still computes right."""
        def op(w: World) -> Any:
            out = []
            for s in w.slots:
                if s is None or s.closed:
                    continue
                for inst in s.insts:
                    if inst is not None and inst is not SKIP:
                        try:
                            out.append(inst.exports(s.store)["size"](s.store))
                        except ValueError as e:  # closed by its own host function
                            out.append(str(e)[:20])
            return out

        self.each("stores_answer", op, nanoproc_only=True)


def run(examples: int, steps: int, strategies: list[str], derandomize: bool = False) -> int:
    """Run the machine; returns the operations made (``derandomize``: the same
    sequences every time, for CI)."""
    APIMachine.STRATEGIES = strategies
    s = settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                 suppress_health_check=list(HealthCheck), database=None,
                 derandomize=derandomize)  # fmt: skip
    run_state_machine_as_test(APIMachine, settings=s)
    return OPERATIONS[0]


if __name__ == "__main__":
    import argparse
    import time

    p = argparse.ArgumentParser()
    p.add_argument("--examples", type=int, default=50, help="sequences per batch")
    p.add_argument("--steps", type=int, default=40, help="operations per sequence (at most)")
    p.add_argument("--time", type=float, default=0, help="run batches for this many seconds")
    p.add_argument("--strategies", default="interp,llvm,tiered")
    p.add_argument("--stats", action="store_true", help="print the outcomes by operation")
    args = p.parse_args()
    end = time.monotonic() + args.time
    batches = 0
    while True:
        ops = run(args.examples, args.steps, args.strategies.split(","))
        batches += 1
        print(json.dumps({"operations": ops, "compared": sum(STEPS.values()),
                          "sequences": batches * args.examples}), flush=True)  # fmt: skip
        if time.monotonic() >= end:
            break
    if args.stats:
        for k, n in sorted(STEPS.items()):
            print(f"{n:8d} {k}")
    sys.exit(0)
