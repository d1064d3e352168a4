#!/usr/bin/env python3
"""Core-module instantiation rate, nanoproc's tiers against wasmtime-py, side by side.

    python benchmarks/instantiate.py                    # interp, llvm, tiered, wasmtime-py
    python benchmarks/instantiate.py --repeat 7 --instances 500

Instantiations per second (a new store each time, the store dropped after it, as a
server making one store per request does) of:

* ``module``: a module with a memory (1 page), a funcref table (4 elements, filled
  by an active element segment), three globals (a mutable i32, an immutable i64, a
  mutable f64), an active data segment and four functions, with six exports;
* ``empty``: a module with nothing but one exported function (the fixed cost).

Runs alternate between the engines (``--repeat`` rounds of ``--instances`` each) so
that load changes hit them alike; the table shows medians and each nanoproc tier's
rate as a ratio to wasmtime-py's (> 1: nanoproc instantiates faster). The tiered
engine is measured once its native code is ready (a long-running server's steady
state; before that it instantiates on the interp tier). ``--clock cpu`` (default)
times with the process's CPU time, which a loaded machine disturbs less than wall
time (``--clock wall``). Read ratios from one run, not absolute numbers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines import api_engine, set_up_each, side_by_side_args  # noqa: E402

MODULE = """(module
  (memory (export "mem") 1)
  (table (export "tab") 4 funcref)
  (global $g (export "g") (mut i32) (i32.const 42))
  (global $k (export "k") i64 (i64.const 7))
  (global $d (mut f64) (f64.const 1.5))
  (data (i32.const 64) "hello, nanoprocess")
  (elem (i32.const 0) $add $get $inc $load)
  (func $add (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $get (result i32) (global.get $g))
  (func $inc (export "inc") (global.set $g (i32.add (global.get $g) (i32.const 1))))
  (func $load (param i32) (result i32) (i32.load (local.get 0)))
)"""

EMPTY = """(module (func (export "f") (result i32) i32.const 7))"""


def _setup(name: str) -> dict[str, Any]:
    """{what: instantiate} for engine ``name``."""
    api, engine = api_engine(name)
    out = {}
    for what, wat in (("module/s", MODULE), ("empty/s", EMPTY)):
        module = api.Module(engine, wat)
        if name == "nanoproc-tiered":
            _wait_native(engine, module)

        def instantiate(module: Any = module) -> None:
            store = api.Store(engine)
            api.Instance(store, module, [])

        # correctness once: the segments were applied
        store = api.Store(engine)
        inst = api.Instance(store, module, [])
        if what == "module/s":
            ex = inst.exports(store)
            assert ex["add"](store, 2, 3) == 5
            assert ex["mem"].read(store, 64, 69) == b"hello"
            assert ex["tab"].get(store, 0) is not None
        out[what] = instantiate
    return out


def _wait_native(engine: Any, module: Any) -> None:
    """Have the tiered engine's native code for ``module`` ready (see the docstring)."""
    backend = engine.backend
    art = backend.prepare(module._compiled)
    if not art.wait(timeout=300):
        raise RuntimeError("native code did not arrive")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=300)
    args, clock = side_by_side_args(
        ap, "nanoproc-interp,nanoproc-llvm,nanoproc-tiered,wasmtime-py")
    engines = set_up_each(args.engines, _setup)
    kinds = ["module/s", "empty/s"]
    rates: dict[str, dict[str, list[float]]] = {n: {k: [] for k in kinds} for n in engines}
    for _ in range(args.repeat):
        for name, cases in engines.items():
            for kind in kinds:
                instantiate = cases[kind]
                instantiate()
                t0 = clock()
                for _ in range(args.instances):
                    instantiate()
                rates[name][kind].append(args.instances / (clock() - t0))
    print(f"{'engine':<18}" + "".join(f"{k:>14}" for k in kinds)
          + "".join(f"{k.split('/')[0] + ' us':>14}" for k in kinds))  # fmt: skip
    for name in engines:
        med = [statistics.median(rates[name][k]) for k in kinds]
        print(f"{name:<18}" + "".join(f"{r:>14.0f}" for r in med)
              + "".join(f"{1e6 / r:>14.2f}" for r in med))  # fmt: skip
    base = "wasmtime-py"
    if base in engines:
        print()
        print(f"{'rate / ' + base:<18}" + "".join(f"{k.split('/')[0]:>14}" for k in kinds))
        for name in engines:
            if name == base:
                continue
            row = f"{name:<18}"
            for k in kinds:
                ratio = statistics.median(rates[name][k]) / statistics.median(rates[base][k])
                row += f"{ratio:>14.2f}"
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
