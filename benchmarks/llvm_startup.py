#!/usr/bin/env python3
"""Start-up costs of nanoproc's llvm tier next to wasmtime-py, on the benchmark programs.

    python benchmarks/llvm_startup.py                 # every program, large n
    python benchmarks/llvm_startup.py --programs sieve,vm --repeat 5

Three measurements per program:

* **first run**: a whole new process that imports the runtime, compiles the module
  (the llvm tier with an empty compile cache), instantiates it and calls
  ``run(n)`` once at the large n; wall time of the process. The target is at most
  3x wasmtime-py's same process.
* **warm run**: the same with nanoproc's compile cache filled.
* **cached load**: in one process, ``Module.deserialize`` of a serialized module,
  ``Store``, ``Instance`` and one call of a trivial export; median time. The target
  is under 20 ms.

Both runtimes' Python files are byte-compiled first (``compileall``), as an
installed package is, so neither process pays for compiling its own source.
Medians of ``--repeat`` runs; the machine may be shared, so compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
PROGRAMS = BENCH / "programs"

RUN_ONCE = """
import sys, json, importlib
api_name, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
api = importlib.import_module(api_name)
config = api.Config()
if api_name == "nanoproc":
    config.strategy = "llvm"
engine = api.Engine(config)
store = api.Store(engine)
module = api.Module(engine, open(path, "rb").read())
instance = api.Instance(store, module, [])
print(instance.exports(store)["run"](store, n) & 0xFFFFFFFF)
"""


def _process_time(api: str, program: str, n: int, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", RUN_ONCE, api, str(PROGRAMS / f"{program}.wasm"),
                          str(n)], capture_output=True, text=True, env=env, check=True)  # fmt: skip
    return time.perf_counter() - start, int(out.stdout.strip())


def _cached_load(program: str, repeat: int) -> float:
    sys.path.insert(0, str(SRC))
    import nanoproc

    config = nanoproc.Config()
    config.strategy = "llvm"
    engine = nanoproc.Engine(config)
    blob = nanoproc.Module(engine, (PROGRAMS / f"{program}.wasm").read_bytes()).serialize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        module = nanoproc.Module.deserialize(engine, blob)
        store = nanoproc.Store(engine)
        instance = nanoproc.Instance(store, module, [])
        instance.exports(store)["run"](store, 1)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    expected = json.loads((PROGRAMS / "expected.json").read_text())["programs"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", default=",".join(expected))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(SRC / "nanoproc")], check=True,
                   capture_output=True)  # fmt: skip
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    print(f"{'program':10} {'wasmtime-py':>12} {'llvm first':>11} {'ratio':>6} "
          f"{'llvm warm':>10} {'ratio':>6} {'cached load':>12}")  # fmt: skip
    firsts, warms = [], []
    for program in args.programs.split(","):
        size = expected[program]["sizes"]["large"]
        n, checksum = size["n"], size["checksum"]
        wt, first, warm = [], [], []
        for _ in range(args.repeat):
            t, r = _process_time("wasmtime", program, n, env)
            assert r == checksum, (program, "wasmtime", r)
            wt.append(t)
            with tempfile.TemporaryDirectory() as cache:
                cold_env = {**env, "NANOPROC_CACHE_DIR": cache}
                t, r = _process_time("nanoproc", program, n, cold_env)
                assert r == checksum, (program, "llvm", r)
                first.append(t)
                t, r = _process_time("nanoproc", program, n, cold_env)
                warm.append(t)
        load = _cached_load(program, max(5, args.repeat))
        w, f, m = statistics.median(wt), statistics.median(first), statistics.median(warm)
        firsts.append(f / w)
        warms.append(m / w)
        print(f"{program:10} {w * 1000:10.0f}ms {f * 1000:9.0f}ms {f / w:5.2f}x "
              f"{m * 1000:8.0f}ms {m / w:5.2f}x {load * 1000:10.1f}ms")  # fmt: skip
    geo = statistics.geometric_mean
    print(f"{'geomean':10} {'':>12} {'':>11} {geo(firsts):5.2f}x {'':>10} {geo(warms):5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
