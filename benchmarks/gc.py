#!/usr/bin/env python3
"""GC programs side by side: nanoproc's tiers and wasmtime-py, with ratios.

    python benchmarks/gc.py                        # every program, default sizes
    python benchmarks/gc.py --n 16 --repeat 5      # binary-trees at depth 16, 5 calls
    python benchmarks/gc.py --engines nanoproc-llvm,wasmtime-py

Programs live in programs/gc/ as WAT (with the .wasm built from it by
``wasm-tools parse``), each exporting ``run(n) -> i64`` (a checksum, the same on every
engine). Each engine instantiates a program once, makes one untimed warm-up call,
then times ``--repeat`` calls, round-robin over the engines so load changes on a
shared machine hit all of them alike. Printed: the median seconds per call and the
ratio to the baseline (wasmtime-py); a checksum that differs from the baseline's is
reported and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs" / "gc"
REPO_SRC = HERE.parent / "src"

DEFAULT_N = {"binary_trees": 15, "list_churn": 2_000_000}
"""Argument of run() per program (interp gets a smaller one, see INTERP_N)."""
INTERP_N = {"binary_trees": 10, "list_churn": 20_000}

ENGINES = ("nanoproc-llvm", "nanoproc-interp", "wasmtime-py")


def _make(engine: str, wasm: bytes) -> Any:
    """A callable ``run(n)`` on a fresh instance of ``wasm`` (or raise)."""
    if engine == "wasmtime-py":
        import wasmtime as api

        config = api.Config()
        config.wasm_gc = True
        config.wasm_function_references = True
    else:
        if str(REPO_SRC) not in sys.path:
            sys.path.insert(0, str(REPO_SRC))
        import nanoproc as api

        config = api.Config()
        config.strategy = engine.removeprefix("nanoproc-")
    eng = api.Engine(config)
    store = api.Store(eng)
    inst = api.Instance(store, api.Module(eng, wasm), [])
    run = inst.exports(store)["run"]
    return lambda n: run(store, n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--programs", default=",".join(sorted(DEFAULT_N)))
    p.add_argument("--engines", default="nanoproc-llvm,wasmtime-py",
                   help=f"comma-separated, from {', '.join(ENGINES)}")
    p.add_argument("--n", type=int, default=None, help="run(n) argument for every program")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--baseline", default="wasmtime-py")
    args = p.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    status = 0
    print(f"{'program':14s} {'engine':16s} {'n':>9s} {'median s':>10s} {'ratio':>7s}  checksum")
    for prog in [x for x in args.programs.split(",") if x]:
        wasm = (PROGRAMS / f"{prog}.wasm").read_bytes()
        runs: dict[str, Any] = {}
        sizes: dict[str, int] = {}
        for e in engines:
            n = args.n or (INTERP_N if e == "nanoproc-interp" else DEFAULT_N)[prog]
            sizes[e] = n
            try:
                runs[e] = _make(e, wasm)
                runs[e](n)  # warm-up (code caches, heap growth)
            except Exception as exc:  # noqa: BLE001 - report and go on
                print(f"{prog:14s} {e:16s} n/a: {type(exc).__name__}: {exc}")
                runs.pop(e, None)
        times: dict[str, list[float]] = {e: [] for e in runs}
        sums: dict[str, Any] = {}
        for _ in range(args.repeat):
            for e, f in runs.items():
                t0 = time.perf_counter()
                sums[e] = f(sizes[e])
                times[e].append(time.perf_counter() - t0)
        base = statistics.median(times[args.baseline]) if args.baseline in times else None
        for e in runs:
            med = statistics.median(times[e])
            same_n = sizes[e] == sizes.get(args.baseline)
            ratio = f"{med / base:7.2f}" if base and same_n else "      -"
            mark = ""
            if args.baseline in sums and same_n and sums[e] != sums[args.baseline]:
                mark = "  MISMATCH!"
                status = 1
            print(f"{prog:14s} {e:16s} {sizes[e]:9d} {med:10.4f} {ratio}  {sums[e]}{mark}")
    return status


if __name__ == "__main__":
    sys.exit(main())
