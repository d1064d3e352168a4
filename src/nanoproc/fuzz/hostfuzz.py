"""The ``host`` fuzz path: the host boundary under stress.

A case (a seed) is a module with generated Python host functions behind its imports,
two instances of it in one store, engine settings and a plan of calls. The host
functions, chosen per call by the arguments Wasm passes, return values, re-enter
exports of the same or the other instance (to a bounded depth), raise Python
exceptions (ValueError, MemoryError, the host's own RecursionError,
KeyboardInterrupt, SystemExit, wasmtime's Trap), deliver a real SIGINT to the
process, return values of the wrong type or
count, grow memory, set the fuel or the epoch deadline, advance the epoch, and keep
or drop externrefs. Cases pick ``max_wasm_stack``, fuel and Python's recursion limit
at random, and some calls recurse (through Python or in Wasm alone) far enough to
exhaust a stack.

Each engine (wasmtime-py, the nanoproc tiers) runs the plan on its own store; the
case is judged on:

* the same outcome per call: the same results, the same trap code, or the same
  exception type. A call that exhausts a stack (the call-stack-exhausted trap, or a
  RecursionError) may do so in one engine and not another, since stacks differ; such
  calls are pure (no side effects) and their right result is known, so the others
  must return exactly that or exhaust too;
* after every call, the store answers a fresh call right (``probe``: memory,
  globals and sizes, equal across engines, and a pure call's known result);
* nanoproc's own state is back at rest after every call (llvm: no depth, no pending
  exception, no pins, no trip byte set without a due deadline);
* after the case, nothing of the store is left alive (no leaked instances or
  memories: once the store is dropped and the cyclic GC has run, since the host
  functions hold their store as real hosts' closures do).
"""

from __future__ import annotations

import atexit
import gc
import math
import random
import signal
import struct
import sys
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

WIDE = 20
"""Results of the ``wide`` import (beyond 16: the llvm tier's results-in-memory path)."""

SAFE_DEPTH = 10
"""Host re-entries a call with side effects may nest (every engine fits them)."""

KINDS = ["i32", "i64", "f32", "f64", "externref"]

MODULE = """(module
  (import "h" "h0" (func $h0 (param i32 i32) (result i32)))
  (import "h" "h1" (func $h1 (param i32 externref) (result externref)))
  (import "h" "h2" (func $h2 (param i32) (result i32 i64 f32 f64)))
  (import "h" "h3" (func $h3 (param i32)))
  (import "h" "wide" (func $wide (param i32) (result {wide})))
  (import "h" "pure" (func $pure (param i32) (result i32)))
  (memory (export "mem") {mem_min} {mem_max})
  (table $t (export "tab") 4 externref)
  (global $g (export "g") (mut i32) (i32.const {g0}))
  (global $r (export "r") (mut externref) (ref.null extern))
  (func (export "chain") (param $k i32) (param $d i32) (result i32)
    (i32.store (i32.and (i32.mul (local.get $k) (i32.const 4)) (i32.const 252))
               (i32.add (local.get $k) (local.get $d)))
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (if (result i32) (i32.eqz (local.get $d))
      (then (i32.add (i32.mul (local.get $k) (i32.const 3)) (i32.const 1)))
      (else (i32.add (call $h0 (local.get $k) (i32.sub (local.get $d) (i32.const 1)))
                     (i32.const 1)))))
  (func (export "down") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $pure (i32.sub (local.get $n) (i32.const 1)))))))
  (func $rec (export "rec") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "swap") (param $x externref) (param $i i32) (result externref)
    (table.get $t (i32.and (local.get $i) (i32.const 3)))
    (table.set $t (i32.and (local.get $i) (i32.const 3)) (local.get $x)))
  (func (export "gswap") (param $x externref) (result externref)
    (global.get $r) (global.set $r (local.get $x)))
  (func (export "refhost") (param $k i32) (param $x externref) (result externref)
    (call $h1 (local.get $k) (local.get $x)))
  (func (export "multi") (param $k i32) (result i32 i64 f32 f64) (call $h2 (local.get $k)))
  (func (export "widecall") (param $k i32) (result {wide}) (call $wide (local.get $k)))
  (func (export "spin") (param $n i32) (param $k i32) (result i32)
    (local $i i32)
    (loop $l
      (if (i32.eqz (i32.rem_u (local.get $i) (i32.const {spin_every})))
        (then (call $h3 (i32.add (local.get $k) (local.get $i)))))
      (i32.store8 (i32.and (local.get $i) (i32.const 63)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add (memory.size) (global.get $g)))
  (func (export "grow") (param $n i32) (result i32) (memory.grow (local.get $n)))
  (func (export "probe") (result i32)
    (local $i i32) (local $h i32)
    (loop $l
      (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31))
                             (i32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 256))))
    (i32.add (local.get $h) (i32.add (i32.mul (memory.size) (i32.const 1000003))
                                     (global.get $g)))))"""

WIDE_TYPES = [KINDS[i % len(KINDS)] for i in range(WIDE)]


class Token:
    """An externref the host hands out: compared by ``ident`` across engines."""

    __slots__ = ("ident", "__weakref__")

    def __init__(self, ident: int) -> None:
        self.ident = ident


# ---------------------------------------------------------------- the case
@dataclass
class Case:
    """Everything one seed decides."""

    seed: int
    wat: str
    fuel: int | None
    epochs: bool
    max_stack: int
    recursion_limit: int
    behaviors: list[tuple[Any, ...]]
    """What host function h0/h1/h3 does for ``which % len(behaviors)``."""
    switch_after: int = 1
    """The ``tiered`` engine: calls an instance makes on the interp tier before it
    switches to native code (so switches happen in the middle of nested host calls)."""
    plan: list[tuple[str, int, list[Any]]] = field(default_factory=list)
    """(export, instance 0/1, args); args may hold ("tok", n) for a fresh Token."""

    def describe(self) -> dict[str, Any]:
        return {"seed": self.seed, "fuel": self.fuel, "epochs": self.epochs,
                "max_stack": self.max_stack, "recursion_limit": self.recursion_limit,
                "switch_after": self.switch_after,
                "behaviors": [list(b) for b in self.behaviors], "plan": self.plan}  # fmt: skip


BEHAVIORS = [
    ("ret",), ("ret",), ("ret",), ("reenter", 0), ("reenter", 1), ("reenter", 0),
    ("raise", "ValueError"), ("raise", "MemoryError"), ("raise", "RecursionError"),
    ("raise", "KeyboardInterrupt"), ("raise", "SystemExit"), ("raise", "Trap"),
    ("bad", "type"), ("grow", 1), ("fuel",), ("epoch",), ("keep",), ("drop",), ("sigint",),
]


def make_case(seed: int) -> Case:
    rng = random.Random(seed)
    wat = MODULE.format(
        wide=" ".join(WIDE_TYPES), mem_min=rng.choice([1, 2]),
        mem_max=rng.choice(["", "3"]), g0=rng.choice([0, 41]),
        spin_every=rng.choice([1, 7, 100]),
    )  # fmt: skip
    behaviors = [rng.choice(BEHAVIORS) for _ in range(rng.randrange(3, 9))]
    case = Case(
        seed, wat,
        fuel=rng.choice([None, None, 10**9, 5000, 2**64 - 1]),
        epochs=rng.random() < 0.3,
        max_stack=rng.choice([128 << 10, 512 << 10, 1 << 20, 2 << 20]),  # wasmtime-py: <= 2 MiB
        recursion_limit=rng.choice([400, 1000, 2500, 6000]),
        behaviors=behaviors,
        switch_after=rng.randrange(1, 60),
    )  # fmt: skip
    for _ in range(rng.randrange(4, 14)):
        case.plan.append(_step(rng))
    return case


def _step(rng: random.Random) -> tuple[str, int, list[Any]]:
    inst = rng.randrange(2)
    k = rng.randrange(1 << 16)
    what = rng.choice(["chain", "chain", "down", "rec", "swap", "gswap", "refhost", "multi",
                       "widecall", "spin", "grow", "probe"])
    if what == "chain":
        return (what, inst, [k, rng.randrange(SAFE_DEPTH)])
    if what == "down":
        return (what, inst, [rng.choice([5, 50, 200, 600, 2000, 6000])])
    if what == "rec":
        return (what, inst, [rng.choice([10, 1000, 20000, 200000, 3000000])])
    if what in ("swap", "refhost"):
        first: Any = ["tok", rng.randrange(1000)] if rng.random() < 0.8 else None
        if what == "refhost":
            return (what, inst, [k, first])
        return (what, inst, [first, rng.randrange(8)])
    if what == "gswap":
        return (what, inst, [["tok", rng.randrange(1000)] if rng.random() < 0.8 else None])
    if what in ("multi", "widecall"):
        return (what, inst, [k])
    if what == "spin":
        return (what, inst, [rng.randrange(1, 3000), k])
    if what == "grow":
        return (what, inst, [rng.choice([0, 1, 2, 5, -1])])
    return ("probe", inst, [])


PURE = {"down", "rec"}
"""Calls whose only effect is their result (known: their argument), which may
exhaust a stack in one engine and not in another."""


# ---------------------------------------------------------------- running
@dataclass
class Run:
    engine: str
    steps: list[Any] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    setup: str = ""


def _raise(api: Any, name: str) -> None:
    if name == "Trap":
        raise api.Trap("host trap")
    if name == "ValueError":
        raise ValueError("host value error")
    raise {"MemoryError": MemoryError, "RecursionError": RecursionError,
           "KeyboardInterrupt": KeyboardInterrupt, "SystemExit": SystemExit}[name]()  # fmt: skip


def _norm(v: Any) -> Any:
    if isinstance(v, Token):
        return ["tok", v.ident]
    if isinstance(v, float):
        return "nan" if math.isnan(v) else struct.pack("<d", v).hex()
    if isinstance(v, list | tuple):
        return [_norm(x) for x in v]
    if v is None or isinstance(v, int):
        return v
    return f"<{type(v).__name__}>"


def _outcome(api: Any, fn: Any, *args: Any) -> Any:
    try:
        return ["ok", _norm(fn(*args))]
    except api.Trap as t:
        code = t.trap_code
        name = code.name if code is not None else "message:" + str(t.message)[:60]
        return ["exhausted"] if name == "STACK_OVERFLOW" else ["trap", name]
    except RecursionError:
        return ["exhausted"]
    except BaseException as e:  # noqa: BLE001 - the outcome is the exception's type
        if type(e).__name__ == "_SoftTimeout":  # the campaign's watchdog (campaign.py)
            raise
        return ["raise", type(e).__name__]


def run_case(case: Case, name: str, api: Any, tier: str | None, wasm: bytes,
             refs: list[Any]) -> Run:
    """Run ``case`` on one engine (``tier`` None: wasmtime-py); weak references to
    what must be freed with the store go to ``refs`` (nanoproc)."""
    return _run(case, name, api, tier, wasm, refs)


def _leaks(refs: list[Any]) -> bool:
    """Whether anything in ``refs`` outlives its store. The host functions hold the
    store (as real hosts' closures do): that cycle is the host's, so the cyclic GC
    runs first; what survives it is a leak."""
    if not refs:
        return False
    gc.collect()
    return any(r() is not None for r in refs)


_ENGINES: dict[tuple[Any, ...], tuple[Any, dict[bytes, Any]]] = {}
"""Engines (and their modules) of the cases run in this process: a case's settings
take few values, and loading native code for each new Module would cost more than
the case (stores, instances and everything the case checks are its own)."""
atexit.register(_ENGINES.clear)  # before interpreter shutdown tears down wasmtime-py's ffi


def _engine_and_module(case: Case, name: str, api: Any, tier: str | None,
                       wasm: bytes) -> tuple[Any, Any]:
    key = (name, case.max_stack, case.fuel is not None, case.epochs)
    got = _ENGINES.get(key)
    if got is None:
        config = api.Config()
        if tier is not None:
            config.strategy = tier
        config.max_wasm_stack = case.max_stack
        config.consume_fuel = case.fuel is not None
        config.epoch_interruption = case.epochs
        got = _ENGINES[key] = (api.Engine(config), {})
    engine, modules = got
    module = modules.get(wasm)
    if module is None:
        module = modules[wasm] = api.Module(engine, wasm)
    return engine, module


def _run(case: Case, name: str, api: Any, tier: str | None, wasm: bytes,
         refs: list[Any]) -> Run:
    out = Run(name)
    engine, module = _engine_and_module(case, name, api, tier, wasm)
    if tier == "tiered":
        engine.backend.switch_after = lambda module: case.switch_after
    store = api.Store(engine)
    if case.fuel is not None:
        store.set_fuel(10**6)  # set again once instantiated (docs/fuel.md, section 6)
    if case.epochs:
        store.set_epoch_deadline(1 << 40)
    tokens: dict[int, Token] = {}
    kept: list[Any] = []
    insts: list[Any] = []
    depth = [0]

    def token(n: int) -> Token:
        t = tokens.get(n)
        if t is None:
            t = tokens[n] = Token(n)
        return t

    def behavior(which: int) -> tuple[Any, ...]:
        return case.behaviors[which % len(case.behaviors)]

    def reenter(inst: int, k: int, d: int) -> Any:
        """Call ``chain`` again (None when the nesting is already SAFE_DEPTH deep)."""
        if depth[0] >= SAFE_DEPTH:
            return None
        depth[0] += 1
        try:
            return insts[inst].exports(store)["chain"](store, k, d)
        finally:
            depth[0] -= 1

    def act(which: int) -> Any:
        """Do what the behavior of ``which`` says: None to go on as usual, a str to
        return a value of the wrong type, an int to return that."""
        b = behavior(which)
        kind = b[0]
        if kind == "reenter":
            return reenter(b[1], which // 7, which % 3)
        if kind == "raise":
            _raise(api, b[1])
        if kind == "sigint" and threading.current_thread() is threading.main_thread():
            # A real Ctrl-C: Python's handler raises KeyboardInterrupt here; the llvm
            # tier's native handler also trips the store, which must be undone.
            signal.raise_signal(signal.SIGINT)
        if kind == "bad":
            return "not a value"
        if kind == "grow":
            insts[which % 2].exports(store)["mem"].grow(store, b[1])
        if kind == "fuel" and case.fuel is not None:
            left = store.get_fuel()
            store.set_fuel(max(left - 10, 0) if which % 2 else min(left + 100, 2**64 - 1))
        if kind == "epoch" and case.epochs:
            if which % 2:
                # Made due, then a function entry: every engine traps there (a loop
                # header of the caller would see it in nanoproc's tiers only: wasmtime
                # reads the deadline again at function entries).
                store.set_epoch_deadline(1)
                engine.increment_epoch()
                insts[which % 2].exports(store)["chain"](store, which, 0)
            else:
                store.set_epoch_deadline(1 << 40)
        return None

    def h0(k: int, d: int) -> Any:
        r = act(k)
        if isinstance(r, str):
            return r
        if isinstance(r, int):
            return r & 0x7FFFFFFF
        if d == 0:
            return (k * 5) & 0x7FFFFFFF
        r = reenter(k % 2, k + 1, d - 1)
        return (k * 5 + d) & 0x7FFFFFFF if r is None else r

    def h1(k: int, x: Any) -> Any:
        b = behavior(k)
        r = act(k)
        if isinstance(r, str):
            return r
        if b[0] == "keep":
            kept.append(x)
            return token(k % 50)
        if b[0] == "drop":
            kept.clear()
            return token(1000 + k % 7)
        return x

    def h2(k: int) -> Any:
        r = act(k)
        if isinstance(r, str):
            return [r, 0, 0.0, 0.0]
        return [k & 0x7FFFFFFF, -(k << 20), float(k) / 3, float(k) * 1.5]

    def h3(k: int) -> None:
        act(k >> 4)

    def wide(k: int) -> Any:
        r = act(k)
        if isinstance(r, str):
            return [r] * WIDE
        vals: list[Any] = []
        for i, t in enumerate(WIDE_TYPES):
            if t == "i32":
                vals.append((k + i) & 0x7FFFFFFF)
            elif t == "i64":
                vals.append((k << 33) - i)
            elif t in ("f32", "f64"):
                vals.append(k + i + 0.5)
            else:
                vals.append(token((k + i) % 40))
        return vals

    def pure(n: int) -> int:
        return insts[n % 2].exports(store)["down"](store, n)  # type: ignore[no-any-return]

    V = api.ValType
    vt = {"i32": V.i32(), "i64": V.i64(), "f32": V.f32(), "f64": V.f64(),
          "externref": V.externref()}  # fmt: skip
    i32, ext = vt["i32"], vt["externref"]
    FT = api.FuncType
    try:
        imports = [
            api.Func(store, FT([i32, i32], [i32]), h0),
            api.Func(store, FT([i32, ext], [ext]), h1),
            api.Func(store, FT([i32], [i32, vt["i64"], vt["f32"], vt["f64"]]), h2),
            api.Func(store, FT([i32], []), h3),
            api.Func(store, FT([i32], [vt[t] for t in WIDE_TYPES]), wide),
            api.Func(store, FT([i32], [i32]), pure),
        ]
        insts.append(api.Instance(store, module, imports))
        insts.append(api.Instance(store, module, imports))
        if case.fuel is not None:
            store.set_fuel(case.fuel)
    except Exception as e:  # noqa: BLE001 - reported as the engine's setup outcome
        out.setup = f"{type(e).__name__}: {str(e)[:200]}"
        return out
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(case.recursion_limit)
    try:
        for fname, which, args in case.plan:
            exports = insts[which].exports(store)
            real = [token(a[1]) if isinstance(a, list) else a for a in args]
            step = _outcome(api, exports[fname], store, *real)
            if case.fuel is not None and fname in PURE:
                store.set_fuel(case.fuel)  # exhaustion may come at different depths
            if case.epochs:
                store.set_epoch_deadline(1 << 40)
            probe = _outcome(api, exports["probe"], store)
            fresh = _outcome(api, exports["chain"], store, 7, 0)
            out.steps.append([step, probe, fresh])
            out.violations += _at_rest(api, store)
    finally:
        sys.setrecursionlimit(old_limit)
    if api.__name__ == "nanoproc":
        refs.append(weakref.ref(store._state))
        refs.append(weakref.ref(insts[0].exports(store)["mem"]._ext))
    else:
        # wasmtime-py keeps a host function's callback in a global table until its
        # store is deleted, so a callback holding its store keeps both alive for
        # good: each case's store (and its memories' 4 GiB reservations) would pile
        # up until the worker's address space ran out (the bursts of campaigns
        # 16007 and 16010 after ~10,000 cases per worker). Let go of it here.
        insts.clear()
        store = None
    return out


def _at_rest(api: Any, store: Any) -> list[str]:
    """nanoproc's state between calls: nothing left over from the last one."""
    if api.__name__ != "nanoproc":
        return []
    st = store._state
    ns = st.tier_state
    bad = []
    if ns is not None and hasattr(ns, "sc"):
        sc = ns.sc
        if sc.depth:
            bad.append(f"llvm depth {sc.depth} after a call")
        if sc.pending:
            bad.append("llvm exception left pending after a call")
        if ns.pins:
            bad.append(f"llvm {len(ns.pins)} objects left pinned after a call")
        if sc.host_error:
            bad.append("llvm host_error left set after a call")
        due = ns.epochs and st.engine.epoch >= st.epoch_deadline
        if ns.trip_view[0] and not due:
            bad.append("llvm trip byte set without a due deadline")
    return bad


# ---------------------------------------------------------------- judging
def compare(case: Case, runs: list[Run], notes: list[str]) -> str | None:
    """The first difference or violation, or None. ``runs[0]`` may be wasmtime-py:
    where it gets a pure call wrong (its ctypes trampoline loses a RecursionError
    and returns garbage, the very bug nanoproc's llvm tier had), it stops being the
    reference for the rest of the case (noted), and the tiers are compared with
    each other."""
    for r in runs:
        if r.violations:
            return f"{r.engine}: {r.violations[0]}"
    for r in runs:
        for i, ((name, _, args), step) in enumerate(zip(case.plan, r.steps)):
            if name in PURE and not _pure_ok(step[0], args):
                if r.engine == "wasmtime":
                    notes.append(f"wasmtime-py gave {step[0]} for {name}({args[0]}) "
                                 f"(step {i}); not the reference from there on")
                    del r.steps[i:]
                    break
                return f"{r.engine}: step {i} {name}{args} gave {step[0]}: a wrong value"
    for a, b in zip(runs, runs[1:]):
        if a.setup or b.setup:
            if bool(a.setup) != bool(b.setup):
                return f"setup: {a.engine} {a.setup or 'ok'}; {b.engine} {b.setup or 'ok'}"
            continue
        for i, ((name, _, args), x, y) in enumerate(zip(case.plan, a.steps, b.steps)):
            diff = _step_difference(name, args, x, y)
            if diff:
                return f"step {i} {name}{args}: {a.engine} {x}; {b.engine} {y}: {diff}"
    return None


def _pure_ok(step: Any, args: list[Any]) -> bool:
    """A pure call's outcome is right: its result (the argument), or it ran out of
    stack or fuel."""
    return step == ["ok", args[0]] or step == ["exhausted"] or step == ["trap", "OUT_OF_FUEL"]


def _step_difference(name: str, args: list[Any], a: Any, b: Any) -> str | None:
    step_a, probe_a, fresh_a = a
    step_b, probe_b, fresh_b = b
    for fresh in (fresh_a, fresh_b):
        if fresh[0] == "ok" and fresh[1] != 22:
            return "a fresh call computed a wrong value"
    if name in PURE:
        pass  # stacks differ between engines: each was checked against the right result
    elif step_a != step_b:
        return "outcomes differ"
    if probe_a != probe_b:
        return "the store's state differs afterwards"
    if fresh_a != fresh_b:
        return "a fresh call differs"
    return None


def judge_host(seed: int, tiers: list[str]) -> tuple[str, str, dict[str, Any]]:
    """(status, detail, reproducer data) of case ``seed`` on wasmtime-py and ``tiers``
    (nanoproc strategies: interp, llvm, tiered)."""
    import nanoproc

    case = make_case(seed)
    wasm = bytes(nanoproc.wat2wasm(case.wat))  # few variants: the llvm compile cache serves most
    # What exists now is not the case's (the last case's garbage went in its own
    # check): frozen, so that the collection after this case looks at its objects
    # only (a full collection costs ~0.1 s otherwise).
    gc.freeze()
    runs = []
    try:
        import wasmtime
    except ImportError:
        wasmtime = None
    # wasmtime-py's trampoline reports a RecursionError as "Exception ignored" (and
    # goes on with garbage, see compare), as do its finalizers run at a low recursion
    # limit: keep that off stderr.
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    refs: list[Any] = []
    try:
        if wasmtime is not None:
            runs.append(run_case(case, "wasmtime", wasmtime, None, wasm, []))
        for tier in tiers:
            runs.append(run_case(case, tier, nanoproc, tier, wasm, refs))
    finally:
        sys.unraisablehook = hook
    if len(runs) < 2:
        return "declined", "fewer than two engines", {}
    notes: list[str] = []
    diff = compare(case, runs, notes)
    if diff is None and _leaks(refs):
        diff = ("store state or memory still alive after the store was dropped and the "
                "cyclic GC ran (a leak)")
    data = {**case.describe(), "wat": case.wat, "notes": notes,
            "runs": [{"engine": r.engine, "setup": r.setup, "steps": r.steps,
                      "violations": r.violations} for r in runs]}  # fmt: skip
    if diff is not None:
        return "difference", diff, data
    return "ok", "", data
