#!/usr/bin/env python3
"""GC stress: millions of short-lived structs (half of them in two-node cycles) in one
call, with bounded memory, in each tier.

    python benchmarks/gc_stress.py                         # 10 million structs per tier
    python benchmarks/gc_stress.py --structs 2000000 --tiers llvm

Each run is a fresh process (so its peak RSS is its own): the loop allocates
``structs`` structs in one call, keeps every 100,000th pair alive through a global
(a list the collector must preserve) and drops the rest at once; the result is
checked against a value computed in Python. Printed per tier: seconds and how much
the process's peak RSS grew during the call, for ``structs`` and for a tenth of
them: ten times the allocations must not cost ten times the memory (garbage,
cycles included, is reclaimed).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO_SRC = Path(__file__).resolve().parents[1] / "src"

WAT = """(module
  (type $node (struct (field $v i32) (field $next (mut (ref null $node)))))
  (global $keep (mut (ref null $node)) (ref.null $node))
  (func (export "churn") (param $pairs i32) (result i32)
    (local $i i32) (local $x (ref null $node)) (local $y (ref null $node)) (local $sum i32)
    (loop $l
      (local.set $x (struct.new $node (local.get $i) (ref.null $node)))
      (local.set $y (struct.new $node (i32.const 1) (local.get $x)))
      (struct.set $node $next (local.get $x) (local.get $y))  ;; a cycle
      (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 50000)))
        (then (struct.set $node $next (local.get $y) (global.get $keep))
              (global.set $keep (local.get $y))))
      (local.set $sum (i32.add (local.get $sum) (struct.get $node $v (local.get $x))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $pairs))))
    (local.get $sum))
  (func (export "kept") (result i32) (local $c i32) (local $p (ref null $node))
    (local.set $p (global.get $keep))
    (block $d (loop $l (br_if $d (ref.is_null (local.get $p)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (local.set $p (struct.get $node $next (local.get $p)))
      (br $l)))
    (local.get $c)))"""


def child(tier: str, structs: int) -> dict[str, object]:
    """Run in this process (the parent starts one per measurement)."""
    sys.path.insert(0, str(REPO_SRC))
    import nanoproc

    config = nanoproc.Config()
    config.strategy = tier
    store = nanoproc.Store(nanoproc.Engine(config))
    inst = nanoproc.Instance(store, nanoproc.Module(store.engine, WAT), [])
    ex = inst.exports(store)
    pairs = structs // 2
    ex["churn"](store, 1000)  # compile and warm up before measuring the baseline
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    got = ex["churn"](store, pairs) & 0xFFFF_FFFF
    seconds = time.perf_counter() - t0
    want = (pairs * (pairs - 1) // 2) & 0xFFFF_FFFF
    kept = ex["kept"](store)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"tier": tier, "structs": structs, "seconds": seconds, "ok": got == want,
            "kept": kept, "kept_ok": kept == 1 + (pairs - 1) // 50000 + 1,
            "rss_base_mb": base / 1024, "rss_peak_mb": peak / 1024}


def measure(tier: str, structs: int) -> dict[str, object]:
    """``child`` in a fresh interpreter."""
    proc = subprocess.run([sys.executable, __file__, "--child", tier, str(structs)],
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{tier}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def grew(r: dict[str, object]) -> float:
    """MB the peak RSS grew during the measured call."""
    return float(r["rss_peak_mb"]) - float(r["rss_base_mb"])  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(child(argv[1], int(argv[2]))))
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--structs", type=int, default=10_000_000)
    p.add_argument("--tiers", default="llvm,interp")
    args = p.parse_args(argv)
    status = 0
    for tier in [t for t in args.tiers.split(",") if t]:
        small = measure(tier, args.structs // 10)
        big = measure(tier, args.structs)
        ok = bool(big["ok"] and big["kept_ok"] and small["ok"])
        status |= 0 if ok else 1
        for r in (small, big):
            print(f"{tier:7s} {r['structs']:>11,} structs  {r['seconds']:8.2f} s  "
                  f"peak RSS grew {grew(r):6.1f} MB during the call (to "
                  f"{r['rss_peak_mb']:.1f} MB)  result {'ok' if r['ok'] else 'WRONG'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
