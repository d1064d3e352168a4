#!/usr/bin/env python3
"""Where a cold first run's CPU time goes, per program of benchmarks/startup.py.

    python benchmarks/startup_split.py                    # every program, 3 runs each
    python benchmarks/startup_split.py --programs graphviz --repeat 5

Each run is a whole new process on the interp tier with an empty cache (the
default engine's first run takes the same path: nothing compiles natively during
start-up), timed from inside with CPU clocks: ``import nanoproc``, ``Module()``
(decode + validation), the interp translator (of which CPython's ``compile()`` of the
generated source), and the rest (instantiation, execution, exit). Prints medians.
A diagnostic for the translator and loader, not a comparison: the side-by-side
figures against wasmtime-py come from benchmarks/startup.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import DEFAULT_CACHE, PRELUDE, PROGRAMS, SRC, fetch  # noqa: E402

PROBE = """
import atexit, builtins, json, sys, time
_c0 = time.process_time()
import nanoproc
_imp = time.process_time() - _c0
import nanoproc.api.module as _am
import nanoproc.internal.interp.translate as _tr
_acc = {"module": 0.0, "translate": 0.0, "compile": 0.0, "functions": 0}
def _timed(key, fn):
    def wrapper(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            _acc[key] += time.process_time() - t
    return wrapper
_tr.compile = _timed("compile", builtins.compile)
_translate = _timed("translate", _tr.translate_function)
def _counted(*a):
    _acc["functions"] += 1
    return _translate(*a)
_tr.translate_function = _counted
_am.compile_binary = _timed("module", _am.compile_binary)
def _report():
    total = time.process_time()
    _acc.update(total=total, imp=_imp)
    print("SPLIT " + json.dumps(_acc), file=sys.stderr)
atexit.register(_report)
"""


def one(name: str, site: Path) -> dict[str, float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(SRC)])
    env["NANOPROC_STRATEGY"] = "interp"
    env["BENCH_INPUT"] = __import__("startup").BOOLECTOR_INPUT
    with tempfile.TemporaryDirectory() as cache:
        env["NANOPROC_CACHE_DIR"] = cache
        code = PROBE + PRELUDE + PROGRAMS[name].driver
        proc = subprocess.run([sys.executable, "-c", code, "nanoproc"], capture_output=True,
                              text=True, env=env, timeout=3600)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{name}: {proc.stderr[-2000:]}")
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("SPLIT "))
    return json.loads(line[len("SPLIT "):])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args()
    names = [n for n in args.programs.split(",") if n]
    site = fetch(args.cache, names)
    print(f"median CPU seconds of a cold interp run, {args.repeat} runs each")
    print(f"{'program':10} {'total':>7} {'import':>7} {'Module':>7} {'translate':>10} "
          f"{'compile':>8} {'rest':>7} {'functions':>9}")
    for name in names:
        runs = [one(name, site) for _ in range(args.repeat)]

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        rest = statistics.median(r["total"] - r["imp"] - r["module"] - r["translate"]
                                 for r in runs)  # fmt: skip
        print(f"{name:10} {med('total'):7.2f} {med('imp'):7.2f} {med('module'):7.2f} "
              f"{med('translate'):10.2f} {med('compile'):8.2f} {rest:7.2f} "
              f"{int(med('functions')):9d}")


if __name__ == "__main__":
    main()
