#!/usr/bin/env python3
"""nanoproc.component against wasmtime-py's wasmtime.component, side by side.

    python benchmarks/components.py                 # both nanoproc tiers and wasmtime-py
    python benchmarks/components.py --repeat 7 --calls 2000

Per call (median of ``--repeat`` runs of ``--calls`` calls each, runs interleaved
across the engines so load changes hit them alike) of one component's exports:

* ``string``: ``echo: func(s: string) -> string`` with a 64-character string;
* ``records``: ``pass-points: func(ps: list<point>) -> list<point>`` with 16 records
  ``{x: s32, y: s32, label: string}``;
* ``resource``: ``[method]counter.bump: func(self: borrow<counter>) -> u32`` on a
  guest resource the host holds.

and instantiations per second (a new store each time) of the same small component
(``inst/s``: two core modules, a memory, a resource type, five exports) and of a
minimal one (``min-inst/s``: one core module with a memory, one export), and of the
small component followed by one call of ``echo`` (``inst+call/s``: a request that
uses one export; nanoproc defers a component's quiet core instantiations to the
first use of its exports, so ``inst/s`` alone leaves that work out). Ratios are
``nanoproc / wasmtime-py`` time per call (< 1: nanoproc is faster), and for
instantiation ``nanoproc rate / wasmtime-py rate``. Issue 14's targets: calls at
most 0.5x, instantiation at least 2x. Timings on a shared machine: read ratios from
one run, not absolute numbers. ``--clock cpu`` (the default) times with the process's
CPU time, which a loaded machine disturbs far less than wall-clock time (``--clock
wall``); each engine's garbage is collected as Python's collector runs, in the loop.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))
sys.path.insert(0, str(BENCH))

from engines import api_engine, set_up_each, side_by_side_args  # noqa: E402

COMPONENT = """(component
  (core module $libc
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 4096))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $r) (local.get 3)))
      (if (i32.gt_u (global.get $next) (i32.const 60000)) (then
        (global.set $next (i32.const 4096))
        (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
        (global.set $next (i32.add (local.get $r) (local.get 3)))))
      (local.get $r)))
  (core instance $libc (instantiate $libc))
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (core module $m
    (import "" "mem" (memory 1))
    (import "" "new" (func $new (param i32) (result i32)))
    (global $count (mut i32) (i32.const 0))
    ;; returns its arguments through a return area: the lift copies them out
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.const 16))
    (func (export "counter") (result i32) (call $new (i32.const 0)))
    (func (export "bump") (param i32) (result i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.get $count)))
  (core instance $i (instantiate $m (with "" (instance
    (export "mem" (memory $libc "mem")) (export "new" (func $new))))))
  (type $point' (record (field "x" s32) (field "y" s32) (field "label" string)))
  (export $point "point" (type $point'))
  (export $counter "counter" (type $r))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $libc "mem"))
      (realloc (core func $libc "realloc"))))
  (func (export "pass-points") (param "ps" (list $point)) (result (list $point))
    (canon lift (core func $i "echo") (memory (core memory $libc "mem"))
      (realloc (core func $libc "realloc"))))
  (func (export "[constructor]counter") (result (own $counter)) (canon lift (core func $i "counter")))
  (func (export "[method]counter.bump") (param "self" (borrow $counter)) (result u32)
    (canon lift (core func $i "bump")))
)"""

MINIMAL = """(component
  (core module $m (memory (export "mem") 1) (func (export "f") (result i32) i32.const 7))
  (core instance $i (instantiate $m))
  (func (export "f") (result u32) (canon lift (core func $i "f")))
)"""


def _setup(name: str) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """(store, component, {case: (func, args)}, {what: instantiate}) for engine ``name``."""
    api, engine = api_engine(name)
    comp_api = importlib.import_module(api.__name__ + ".component")
    store = api.Store(engine)
    component = comp_api.Component(engine, COMPONENT)
    linker = comp_api.Linker(engine)
    inst = linker.instantiate(store, component)

    def func(n: str) -> Any:
        f = inst.get_func(store, n)
        assert f is not None, n
        return f

    points = []
    for i in range(16):
        p = comp_api.Record()
        p.x, p.y, p.label = i, -i, f"point number {i}"
        points.append(p)
    counter = func("[constructor]counter")(store)
    cases = {
        "string": (func("echo"), ("x" * 64,)),
        "records": (func("pass-points"), (points,)),
        "resource": (func("[method]counter.bump"), (counter,)),
    }

    minimal = comp_api.Component(engine, MINIMAL)

    def instantiate() -> None:
        s = api.Store(engine)
        linker.instantiate(s, component)

    def instantiate_minimal() -> None:
        s = api.Store(engine)
        linker.instantiate(s, minimal)

    def instantiate_call() -> None:
        s = api.Store(engine)
        f = linker.instantiate(s, component).get_func(s, "echo")
        f(s, "x")

    got = cases["string"][0](store, "check ☃")
    assert got == "check ☃", got
    back = cases["records"][0](store, points[:2])
    assert [(p.x, p.y, p.label) for p in back] == [(0, 0, "point number 0"), (1, -1, "point number 1")]
    return store, component, cases, {"inst/s": instantiate, "min-inst/s": instantiate_minimal,
                                  "inst+call/s": instantiate_call}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--instances", type=int, default=200)
    args, clock = side_by_side_args(ap, "nanoproc-interp,nanoproc-llvm,wasmtime-py")
    engines = set_up_each(args.engines, _setup)
    per_call: dict[str, dict[str, list[float]]] = {n: {} for n in engines}
    rates: dict[str, dict[str, list[float]]] = {n: {} for n in engines}
    kinds = ["inst/s", "min-inst/s", "inst+call/s"]
    for _ in range(args.repeat):
        for name, (store, _comp, cases, instantiates) in engines.items():
            for case, (f, fargs) in cases.items():
                f(store, *fargs)  # warm
                t0 = clock()
                for _ in range(args.calls):
                    f(store, *fargs)
                dt = (clock() - t0) / args.calls
                per_call[name].setdefault(case, []).append(dt)
            for kind, instantiate in instantiates.items():
                instantiate()
                t0 = clock()
                for _ in range(args.instances):
                    instantiate()
                rates[name].setdefault(kind, []).append(
                    args.instances / (clock() - t0))
    base = "wasmtime-py" if "wasmtime-py" in engines else None
    cases = ["string", "records", "resource"]
    print(f"{'engine':<18}" + "".join(f"{c + ' us/call':>20}" for c in cases)
          + "".join(f"{k:>16}" for k in kinds))  # fmt: skip
    for name in engines:
        row = f"{name:<18}"
        for c in cases:
            row += f"{statistics.median(per_call[name][c]) * 1e6:>20.2f}"
        for k in kinds:
            row += f"{statistics.median(rates[name][k]):>16.0f}"
        print(row)
    if base is not None:
        print()
        print(f"{'ratio vs ' + base:<18}" + "".join(f"{c + ' (<=0.5)':>20}" for c in cases)
              + "".join(f"{k.split('/')[0] + ' (>=2)':>16}" for k in kinds))  # fmt: skip
        b = engines[base]
        for name in engines:
            if name == base:
                continue
            row = f"{name:<18}"
            for c in cases:
                mine = statistics.median(per_call[name][c])
                theirs = statistics.median(per_call[base][c])
                row += f"{mine / theirs:>20.3f}"
            for k in kinds:
                ratio = statistics.median(rates[name][k]) / statistics.median(rates[base][k])
                row += f"{ratio:>16.2f}"
            print(row)
        del b
    return 0


if __name__ == "__main__":
    sys.exit(main())
