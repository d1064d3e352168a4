#!/usr/bin/env python3
"""What the llvm tier's always-on interrupt checks cost (Ctrl-C reaching native code).

    python benchmarks/interrupt_checks.py                 # all programs, large n
    python benchmarks/interrupt_checks.py --repeat 9 --programs sieve,matmul

Every loop header tests the store's interrupt byte, with or without epoch
interruption, so that a SIGINT stops native code (src/nanoproc/internal/llvm/
interrupts.py). For each program, ``run(n)`` runs on two llvm engines that differ
only in those checks (``checked``: as shipped; ``unchecked``: compiled without
them, an internal option nothing else uses), interleaved call by call so load
changes hit both alike; each column is the best of ``--repeat`` calls (CPU time of
this process) and the cost is relative to ``unchecked``. Checksums are verified.
wasmtime-py with epoch interruption runs alongside as the anchor: what the same
kind of check costs Cranelift's code (its own plain/epoch ratio, in this run).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))

import nanoproc  # noqa: E402
from nanoproc.api.tiers import llvm_unavailable_reason  # noqa: E402

PROGRAMS = BENCH / "programs"


def _llvm(checks: bool, wasm: bytes) -> tuple[Any, Any]:
    from nanoproc.internal.llvm import LLVMBackend

    config = nanoproc.Config()
    config.strategy = "llvm"
    eng = nanoproc.Engine(config)
    if not checks:
        eng._backend = LLVMBackend(max_wasm_stack=eng.max_wasm_stack, interrupt_checks=False)
        eng._blocker = None
    store = nanoproc.Store(eng)
    inst = nanoproc.Instance(store, nanoproc.Module(eng, wasm), [])
    return inst.exports(store)["run"], store


def _wasmtime(epochs: bool, wasm: bytes) -> tuple[Any, Any] | None:
    try:
        import wasmtime
    except ImportError:
        return None
    config = wasmtime.Config()
    config.epoch_interruption = epochs
    eng = wasmtime.Engine(config)
    store = wasmtime.Store(eng)
    if epochs:
        store.set_epoch_deadline(1 << 62)
    inst = wasmtime.Instance(store, wasmtime.Module(eng, wasm), [])
    return inst.exports(store)["run"], store


def measure(size: str, repeat: int, programs: list[str]) -> list[dict[str, Any]]:
    spec = json.loads((PROGRAMS / "expected.json").read_text())["programs"]
    rows = []
    for name in programs:
        case = spec[name]["sizes"][size]
        wasm = (PROGRAMS / spec[name]["file"]).read_bytes()
        calls = {"checked": _llvm(True, wasm), "unchecked": _llvm(False, wasm)}
        anchors = {"wt-epoch": _wasmtime(True, wasm), "wt-plain": _wasmtime(False, wasm)}
        calls.update({k: v for k, v in anchors.items() if v is not None})
        best = dict.fromkeys(calls, math.inf)
        for i in range(repeat + 1):
            for mode, (run, store) in calls.items():
                start = time.process_time()
                got = run(store, case["n"]) & 0xFFFFFFFF
                elapsed = time.process_time() - start
                if got != case["checksum"]:
                    raise SystemExit(f"{mode} {name}: checksum {got}, expected {case['checksum']}")
                if i:  # the first round warms up
                    best[mode] = min(best[mode], elapsed)
        row = {"program": name, "size": size, "unchecked_s": best["unchecked"],
               "checks": best["checked"] / best["unchecked"] - 1}
        line = (f"{name:10s} {size:6s} unchecked {best['unchecked'] * 1000:8.1f} ms"
                f"  checked {row['checks']:+6.1%}")
        if "wt-epoch" in best:
            row["wasmtime_epoch"] = best["wt-epoch"] / best["wt-plain"] - 1
            line += f"   (wasmtime-py epochs {row['wasmtime_epoch']:+6.1%})"
        rows.append(row)
        print(line, flush=True)
    return rows


def _geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log1p(x) for x in xs) / len(xs)) - 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=("tiny", "small", "large"), default="large")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--programs", default=None, help="comma-separated (default: all)")
    p.add_argument("--json", default=None, help="also write the rows here")
    args = p.parse_args()
    if llvm_unavailable_reason() is not None:
        print(f"llvm: n/a ({llvm_unavailable_reason()})")
        return 0
    spec = json.loads((PROGRAMS / "expected.json").read_text())["programs"]
    programs = args.programs.split(",") if args.programs else sorted(spec)
    rows = measure(args.size, args.repeat, programs)
    line = f"geometric mean: checks {_geomean([r['checks'] for r in rows]):+.1%}"
    if all("wasmtime_epoch" in r for r in rows):
        line += f"  (wasmtime-py epochs {_geomean([r['wasmtime_epoch'] for r in rows]):+.1%})"
    print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
