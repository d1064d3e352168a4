#!/usr/bin/env python3
"""The cost of fuel metering and epoch checks, per tier, on the benchmark programs.

    python benchmarks/overhead.py                       # interp small n, llvm + wasmtime large n
    python benchmarks/overhead.py --tiers interp --size tiny --repeat 3
    python benchmarks/overhead.py --json overhead.json

For each tier and program, ``run(n)`` runs on four engines that differ only in
``consume_fuel`` and ``epoch_interruption`` (fuel and deadline set far out of
reach), interleaved call by call so load changes hit them alike; each column is the
best of ``--repeat`` calls (CPU time of this process), and the overhead is relative
to the plain engine. The checksum of every call is checked. Issue 6's targets are
for the llvm tier: epochs at most 15%, fuel at most 30%. The ``wasmtime`` row is
wasmtime-py with the same settings: what Cranelift's own checks cost, for scale.
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
MODES = {
    "plain": {},
    "fuel": {"consume_fuel": True},
    "epoch": {"epoch_interruption": True},
    "both": {"consume_fuel": True, "epoch_interruption": True},
}
DEFAULT_SIZE = {"interp": "small", "llvm": "large", "wasmtime": "large"}


def _api(tier: str) -> Any:
    """nanoproc, or wasmtime-py for the ``wasmtime`` anchor (what Cranelift's checks cost)."""
    if tier == "wasmtime":
        import wasmtime

        return wasmtime
    return nanoproc


def _engine(tier: str, settings: dict[str, bool]) -> Any:
    api = _api(tier)
    config = api.Config()
    if api is nanoproc:
        config.strategy = tier
    for key, value in settings.items():
        setattr(config, key, value)
    return api.Engine(config)


def _prepare(tier: str, settings: dict[str, bool], wasm: bytes) -> tuple[Any, Any]:
    api = _api(tier)
    eng = _engine(tier, settings)
    store = api.Store(eng)
    if settings.get("consume_fuel"):
        store.set_fuel(1 << 62)
    if settings.get("epoch_interruption"):
        store.set_epoch_deadline(1 << 62)
    inst = api.Instance(store, api.Module(eng, wasm), [])
    return inst.exports(store)["run"], store


def measure(tier: str, size: str, repeat: int, programs: list[str]) -> list[dict[str, Any]]:
    spec = json.loads((PROGRAMS / "expected.json").read_text())["programs"]
    rows = []
    for name in programs:
        case = spec[name]["sizes"][size]
        wasm = (PROGRAMS / spec[name]["file"]).read_bytes()
        calls = {mode: _prepare(tier, settings, wasm) for mode, settings in MODES.items()}
        best = dict.fromkeys(MODES, math.inf)
        for i in range(repeat + 1):
            for mode, (run, store) in calls.items():
                start = time.process_time()
                got = run(store, case["n"]) & 0xFFFFFFFF
                elapsed = time.process_time() - start
                if got != case["checksum"]:
                    raise SystemExit(f"{tier} {mode} {name}: checksum {got}, expected "
                                     f"{case['checksum']}")
                if i:  # the first round warms up (translation, caches)
                    best[mode] = min(best[mode], elapsed)
        row = {"tier": tier, "program": name, "size": size, "plain_s": best["plain"]}
        for mode in ("fuel", "epoch", "both"):
            row[mode] = best[mode] / best["plain"] - 1
        rows.append(row)
        print(f"{tier:7s} {name:10s} {size:6s} {best['plain'] * 1000:9.1f} ms"
              f"  fuel {row['fuel']:+7.1%}  epoch {row['epoch']:+7.1%}  both {row['both']:+7.1%}",
              flush=True)
    return rows


def _geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log1p(x) for x in xs) / len(xs)) - 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiers", default="interp,llvm,wasmtime",
                   help="interp, llvm, and wasmtime (wasmtime-py, as an anchor)")
    p.add_argument("--size", choices=("tiny", "small", "large"), default=None,
                   help="n values (default: small for interp, large for llvm)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--programs", default=None, help="comma-separated (default: all)")
    p.add_argument("--json", default=None, help="also write the rows here")
    args = p.parse_args()
    spec = json.loads((PROGRAMS / "expected.json").read_text())["programs"]
    programs = args.programs.split(",") if args.programs else sorted(spec)
    rows: list[dict[str, Any]] = []
    for tier in args.tiers.split(","):
        if tier == "llvm" and llvm_unavailable_reason() is not None:
            print(f"llvm: n/a ({llvm_unavailable_reason()})")
            continue
        try:
            engine = _engine(tier, MODES["both"])
            if tier != "wasmtime":
                engine.check_can_run()
        except (ImportError, nanoproc.WasmtimeError) as e:
            print(f"{tier}: n/a ({e})")
            continue
        tier_rows = measure(tier, args.size or DEFAULT_SIZE[tier], args.repeat, programs)
        rows += tier_rows
        print(f"{tier:7s} geometric mean: fuel {_geomean([r['fuel'] for r in tier_rows]):+.1%}"
              f"  epoch {_geomean([r['epoch'] for r in tier_rows]):+.1%}"
              f"  both {_geomean([r['both'] for r in tier_rows]):+.1%}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
