#!/usr/bin/env python3
"""Run the benchmark programs on every engine side by side and print ratios.

    python benchmarks/run.py                      # small table, then large table
    python benchmarks/run.py --size small --engines pywasm,pywasm3 --repeat 5
    python benchmarks/run.py --micro              # call / instantiate / compile costs
    python benchmarks/run.py --suite simd         # the SIMD programs
    python benchmarks/run.py --json results.json

Every checksum is compared with programs/expected.json; a mismatch is printed
loudly and makes the exit status 1. Engines that cannot run (not installed, not
implemented yet) are reported as "n/a" with the reason. See README.md.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import platform
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import engines as eng  # noqa: E402

EXPECTED_PATH = eng.PROGRAMS_DIR / "expected.json"
MICRO_WASM = eng.PROGRAMS_DIR / "micro.wasm"

DEFAULT_BASELINE = {"tiny": "pywasm", "small": "pywasm", "large": "wasmtime-py"}
# (engine, reference): geometric means printed under every table when both ran.
KEY_COMPARISONS = [
    ("nanoproc-interp", "pywasm"),
    ("nanoproc-interp", "pywasm3"),
    ("pywasm3", "pywasm"),
    ("nanoproc-llvm", "wasmtime-py"),
    ("nanoproc-llvm", "native"),
    ("wasmtime-py", "native"),
]


# ---------------------------------------------------------------- results


@dataclass
class Cell:
    """One engine on one program at one size."""

    status: str  # "ok", "mismatch", "n/a"
    times_s: list[float] = field(default_factory=list)
    checksums: list[int] = field(default_factory=list)
    expected: int | None = None
    reason: str = ""

    @property
    def median(self) -> float | None:
        """Median time in seconds, if the engine produced timings."""
        return statistics.median(self.times_s) if self.times_s else None


@dataclass
class Problems:
    """Checksum mismatches collected over the whole run."""

    mismatches: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        """Record a mismatch; all of them are listed, loudly, at the end of the run."""
        self.mismatches.append(text)


# ---------------------------------------------------------------- formatting


def fmt_time(seconds: float | None) -> str:
    """A compact human-readable duration."""
    if seconds is None:
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_count(value: float) -> str:
    """3 significant digits with a k/M suffix: ``12.3``, ``4.56k``, ``1.2M``."""
    for suffix, scale in (("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def fmt_ratio(ratio: float | None) -> str:
    """A time ratio: ``3.26x`` (that many times the time) or ``1/10.2k`` (a fraction)."""
    if ratio is None:
        return "-"
    return f"{fmt_count(ratio)}x" if ratio >= 1 else f"1/{fmt_count(1 / ratio)}"


def fmt_compare(ratio: float) -> str:
    """``3.26x the time`` or ``1/10.2k the time (10.2kx faster)``."""
    if ratio >= 1:
        return f"{fmt_ratio(ratio)} the time"
    return f"{fmt_ratio(ratio)} the time ({fmt_count(1 / ratio)}x faster)"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print right-aligned columns, except the first and a final "note" column."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    left = {0, len(headers) - 1} if headers[-1] == "note" else {0}
    for row in [headers, *rows]:
        cells = [str(c).ljust(w) if i in left else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())


def geomean(values: Sequence[float]) -> float | None:
    """Geometric mean, or None for no values."""
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


# ---------------------------------------------------------------- engines


def select_engines(names: str | None) -> dict[str, eng.Engine]:
    """The engines named on the command line (all of them by default)."""
    known = eng.all_engines()
    if names is None:
        return known
    chosen = {}
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in known:
            sys.exit(f"unknown engine {name!r}; known: {', '.join(known)}")
        chosen[name] = known[name]
    return chosen


def set_up(engines: dict[str, eng.Engine]) -> dict[str, str]:
    """Set every engine up; returns {name: reason} for the unavailable ones."""
    unavailable = {}
    for name, engine in engines.items():
        try:
            engine.setup()
        except Exception as exc:
            unavailable[name] = eng.describe(exc)
    return unavailable


def engines_for_size(engines: dict[str, eng.Engine], size: str, explicit: bool) -> list[str]:
    """Engines that run at ``size``: pure-Python/interpreters skip large unless named."""
    if explicit or size != "large":
        return list(engines)
    return [n for n, e in engines.items() if e.tier == eng.COMPILER]


# ---------------------------------------------------------------- programs


SUITES = {"core": EXPECTED_PATH, "simd": eng.PROGRAMS_DIR / "simd.json"}
"""The program suites: the scalar programs, and the SIMD ones (C with -msimd128)."""


def load_expected(suite: str = "core") -> dict[str, Any]:
    """programs/expected.json (or the suite's file): per program, per size, n and checksum."""
    with SUITES[suite].open() as f:
        data: dict[str, Any] = json.load(f)
    return data


def finish_cell(name: str, program: str, n: int, expected: int,
                results: list[tuple[int, float]], problems: Problems) -> Cell:
    """Turn one engine's (checksum, seconds) results into a Cell, checking checksums."""
    cell = Cell("ok", [t for _, t in results], [c for c, _ in results], expected)
    wrong = sorted({c for c in cell.checksums if c != expected})
    if wrong:
        cell.status = "mismatch"
        problems.add(f"{program} n={n} on {name}: got {wrong}, expected {expected}")
    return cell


WARM_UP_BELOW_S = 0.02


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in Python code running longer than ``seconds`` (0: no limit).

    Uses SIGALRM, so it only works in the main thread on Unix, and code inside
    a C extension is interrupted only when it returns to Python.
    """
    usable = (seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"call took longer than --timeout {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed_call(run_once: eng.Prepared, earlier: list[tuple[int, float]]) -> tuple[int, float]:
    """One timed call, preceded by an untimed warm-up call when calls are short.

    Short calls are dominated by cache state, which the previous engine in the
    round-robin has just trashed; a warm-up call costs little for them. Long
    calls (>= WARM_UP_BELOW_S) are timed directly; the first call doubles as
    the probe that tells which kind a program is.
    """
    if earlier and earlier[-1][1] >= WARM_UP_BELOW_S:
        return run_once()
    checksum, seconds = run_once()
    if seconds >= WARM_UP_BELOW_S:
        return checksum, seconds
    return run_once()


def run_program(engines: dict[str, eng.Engine], names: list[str], unavailable: dict[str, str],
                program: str, size: str, spec: dict[str, int], repeat: int, timeout: float,
                problems: Problems) -> dict[str, Cell]:
    """One program on every engine; calls go round-robin so load drift hits all alike."""
    wasm = (eng.PROGRAMS_DIR / f"{program}.wasm").read_bytes()
    n, expected = spec["n"], spec["checksum"]
    row = {name: Cell("n/a", expected=expected, reason=unavailable[name])
           for name in names if name in unavailable}
    prepared: dict[str, eng.Prepared] = {}
    try:
        for name in names:
            if name in unavailable:
                continue
            try:
                prepared[name] = engines[name].prepare(wasm, program, n)
            except Exception as exc:
                row[name] = Cell("n/a", expected=expected, reason=eng.describe(exc))
        results: dict[str, list[tuple[int, float]]] = {name: [] for name in prepared}
        for i in range(repeat):
            for name, run_once in list(prepared.items()):
                print(f"  {size} {program} #{i + 1} {name}:", end=" ", file=sys.stderr, flush=True)
                try:
                    with time_limit(timeout):
                        checksum, seconds = timed_call(run_once, results[name])
                except Exception as exc:
                    row[name] = Cell("n/a", expected=expected, reason=eng.describe(exc))
                    print(row[name].reason, file=sys.stderr, flush=True)
                    prepared.pop(name).close()
                    continue
                results[name].append((checksum, seconds))
                ok = checksum == expected
                print(fmt_time(seconds) if ok else f"CHECKSUM MISMATCH! got {checksum}",
                      file=sys.stderr, flush=True)
    finally:
        for run_once in prepared.values():
            run_once.close()
    for name in prepared:
        row[name] = finish_cell(name, program, n, expected, results[name], problems)
    return {name: row[name] for name in names}


def run_programs(engines: dict[str, eng.Engine], unavailable: dict[str, str],
                 programs: list[str], size: str, repeat: int, timeout: float, explicit: bool,
                 expected: dict[str, Any], problems: Problems) -> dict[str, dict[str, Cell]]:
    """Measure every (program, engine) pair at one size: {program: {engine: Cell}}."""
    names = engines_for_size(engines, size, explicit)
    return {program: run_program(engines, names, unavailable, program, size,
                                 expected["programs"][program]["sizes"][size], repeat, timeout,
                                 problems)
            for program in programs}


def ratio(table: dict[str, dict[str, Cell]], program: str, a: str, b: str) -> float | None:
    """time(a) / time(b) on one program, if both have clean results."""
    ca, cb = table[program].get(a), table[program].get(b)
    if not ca or not cb or ca.status != "ok" or cb.status != "ok":
        return None
    ma, mb = ca.median, cb.median
    return ma / mb if ma is not None and mb else None


def print_programs(table: dict[str, dict[str, Cell]], size: str, baseline: str,
                   expected: dict[str, Any], repeat: int) -> dict[str, Any]:
    """Print the time and ratio tables for one size; returns the geomean summary."""
    programs = list(table)
    names = list(table[programs[0]]) if programs else []
    print(f"\n=== programs, size {size}: median of {repeat} calls of run(n) ===")
    rows = []
    for program in programs:
        row = [program, str(expected["programs"][program]["sizes"][size]["n"])]
        for name in names:
            cell = table[program][name]
            text = fmt_time(cell.median) if cell.times_s else "n/a"
            row.append(text + (" MISMATCH!" if cell.status == "mismatch" else ""))
        rows.append(row)
    print_table(["program", "n", *names], rows)

    def measured(name: str) -> bool:
        return name in names and any(table[p][name].status == "ok" for p in programs)

    if not measured(baseline):
        fallback = next((n for n in ("wasmtime-py", "native", *names) if measured(n)), None)
        if fallback is not None:
            print(f"\n(baseline {baseline} has no results; using {fallback})")
            baseline = fallback
    summary: dict[str, Any] = {"baseline": baseline, "geomean_vs_baseline": {}, "comparisons": {}}
    if baseline in names:
        print(f"\ntime ratio vs {baseline}: engine time / {baseline} time "
              "(1/10 = ten times faster)")
        rows = []
        for program in programs:
            rows.append([program] + [fmt_ratio(ratio(table, program, n, baseline)) for n in names])
        geo_row = ["geomean"]
        for name in names:
            values = [r for p in programs if (r := ratio(table, p, name, baseline)) is not None]
            g = geomean(values)
            summary["geomean_vs_baseline"][name] = g
            geo_row.append(fmt_ratio(g) + (f" ({len(values)}/{len(programs)})"
                                           if 0 < len(values) < len(programs) else ""))
        rows.append(geo_row)
        print_table(["program", *names], rows)
    else:
        print(f"\n(no ratios: baseline {baseline} is not in this table)")

    lines = []
    for a, b in KEY_COMPARISONS:
        if a not in names or b not in names:
            continue
        values = [r for p in programs if (r := ratio(table, p, a, b)) is not None]
        g = geomean(values)
        summary["comparisons"][f"{a}/{b}"] = g
        if g is None:
            lines.append(f"  {a} vs {b}: n/a")
        else:
            lines.append(f"  {a} vs {b}: {fmt_compare(g)}, over {len(values)} program(s)")
    if lines:
        print("\nkey comparisons (geometric mean of per-program time ratios):")
        print("\n".join(lines))

    reasons = {(name, c.reason) for row in table.values() for name, c in row.items()
               if c.status == "n/a"}
    if reasons:
        print("\nn/a reasons:")
        for name, reason in sorted(reasons):
            print(f"  {name}: {reason}")
    return summary


# ---------------------------------------------------------------- micro-benchmarks


def median_batches(run_batch: Callable[[int], float], batches: int,
                   target_s: float = 0.05, max_count: int = 1 << 22) -> float:
    """Calibrate a batch size, then return the median seconds per iteration."""
    count = 1
    while True:
        elapsed = run_batch(count)
        if elapsed >= target_s or count >= max_count:
            break
        grow = target_s / elapsed * 1.2 if elapsed > 0 else 10.0
        count = min(max_count, max(count * 2, int(count * min(grow, 100.0))))
    per_iter = [run_batch(count) / count for _ in range(batches)]
    return statistics.median(per_iter)


def time_calls(func: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[int], float]:
    """A batch runner that calls ``func(*args)`` count times."""
    def batch(count: int) -> float:
        loop = range(count)
        start = time.perf_counter()
        for _ in loop:
            func(*args)
        return time.perf_counter() - start
    return batch


# Plain Python functions with the same positional arity as each engine's call.
PLAIN: dict[int, Callable[..., Any]] = {
    0: lambda: None,
    1: lambda a: None,
    2: lambda a, b: None,
    3: lambda a, b, c: None,
    4: lambda a, b, c, d: None,
}


def micro_calls(engine: eng.WasmEngine, wasm: bytes, batches: int) -> dict[str, Any]:
    """Median ns per call of the ``nop`` and ``add`` exports, raw and net of a Python call."""
    instance = engine.instantiate(engine.compile(wasm))
    out: dict[str, Any] = {}
    for export, args in (("nop", ()), ("add", (1, 2))):
        func, full = engine.export_call(instance, export, args)
        if export == "add" and eng.to_checksum(func(*full)) != 3:
            raise RuntimeError(f"add(1, 2) returned {func(*full)!r}")
        raw = median_batches(time_calls(func, full), batches)
        plain = median_batches(time_calls(PLAIN[len(full)], full), batches)
        out[export] = {"raw_ns": raw * 1e9, "plain_ns": plain * 1e9, "net_ns": (raw - plain) * 1e9}
    return out


def micro_instantiate(engine: eng.WasmEngine, wasm: bytes, batches: int) -> dict[str, Any]:
    """Store + instantiate + one ``add`` call of a compiled small module, per second."""
    module = engine.compile(wasm)

    def batch(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            func, full = engine.export_call(engine.instantiate(module), "add", (1, 2))
            func(*full)
        return time.perf_counter() - start

    func, full = engine.export_call(engine.instantiate(module), "add", (1, 2))
    if eng.to_checksum(func(*full)) != 3:
        raise RuntimeError("add(1, 2) != 3 on a fresh instance")
    per = median_batches(batch, batches, max_count=1 << 16)
    return {"seconds": per, "per_second": 1.0 / per}


def micro_compile(engine: eng.WasmEngine, wasm: bytes, batches: int,
                  check: tuple[int, int] | None) -> dict[str, Any]:
    """Module() time, serialized size, Module.deserialize time; checks run(n) if given."""
    def compile_batch(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            engine.compile(wasm)
        return time.perf_counter() - start

    out: dict[str, Any] = {"compile_s": median_batches(compile_batch, batches, 0.1, 1 << 12)}
    try:
        blob = engine.serialize(engine.compile(wasm))
    except Exception as exc:
        out["deserialize"] = "n/a: " + eng.describe(exc)
        return out

    def load_batch(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            engine.deserialize(blob)
        return time.perf_counter() - start

    out["serialized_bytes"] = len(blob)
    out["deserialize_s"] = median_batches(load_batch, batches, 0.1, 1 << 12)
    if check is not None:
        n, expected = check
        func, full = engine.export_call(engine.instantiate(engine.deserialize(blob)), "run", (n,))
        got = eng.to_checksum(func(*full))
        out["deserialized_checksum_ok"] = got == expected
        if got != expected:
            out["deserialized_checksum"] = got
    return out


def run_micro(engines: dict[str, eng.Engine], unavailable: dict[str, str],
              programs: list[str], expected: dict[str, Any], batches: int,
              problems: Problems) -> dict[str, Any]:
    """All three micro-benchmarks; prints their tables and returns the raw numbers."""
    wasm = MICRO_WASM.read_bytes()
    wasm_engines = {n: e for n, e in engines.items() if isinstance(e, eng.WasmEngine)}
    results: dict[str, Any] = {"calls": {}, "instantiate": {}, "compile": {}}

    def attempt(kind: str, key: str, name: str, fn: Callable[[], Any]) -> Any:
        """Run one measurement of engine ``name``, stored as results[kind][key]."""
        if name in unavailable:
            results[kind][key] = {"n/a": unavailable[name]}
            return None
        print(f"  micro {kind:12} {key}", file=sys.stderr, flush=True)
        try:
            value = fn()
        except Exception as exc:
            results[kind][key] = {"n/a": eng.describe(exc)}
            return None
        results[kind][key] = value
        return value

    print(f"\n=== micro (a): calling an export from Python, median of {batches} batches ===")
    rows = []
    for name, engine in wasm_engines.items():
        r = attempt("calls", name, name, partial(micro_calls, engine, wasm, batches))
        if r is None:
            rows.append([name, "n/a", "", "n/a", "", results["calls"][name]["n/a"]])
            continue
        rows.append([name, f"{r['nop']['raw_ns']:.0f}", f"{r['nop']['net_ns']:.0f}",
                     f"{r['add']['raw_ns']:.0f}", f"{r['add']['net_ns']:.0f}", ""])
    print_table(["engine", "nop ns", "nop net", "add ns", "add net", "note"], rows)
    print("(net = minus a plain Python function call with the same arguments)")

    print("\n=== micro (b): Store + instantiate + one call of micro.wasm ===")
    rows = []
    for name, engine in wasm_engines.items():
        r = attempt("instantiate", name, name,
                    partial(micro_instantiate, engine, wasm, batches))
        if r is None:
            rows.append([name, "n/a", "n/a", results["instantiate"][name]["n/a"]])
            continue
        rows.append([name, fmt_time(r["seconds"]), f"{r['per_second']:.0f}", ""])
    print_table(["engine", "time", "instances/s", "note"], rows)

    print("\n=== micro (c): compile (Module()) and cached load (Module.deserialize) ===")
    rows = []
    for name, engine in wasm_engines.items():
        if not engine.compiled:
            continue
        for module in [*programs, "micro"]:
            path = eng.PROGRAMS_DIR / f"{module}.wasm"
            check = None
            if module in expected["programs"]:
                tiny = expected["programs"][module]["sizes"]["tiny"]
                check = (tiny["n"], tiny["checksum"])
            key = f"{name}/{module}"
            r = attempt("compile", key, name,
                        partial(micro_compile, engine, path.read_bytes(), batches, check))
            if name in unavailable or r is None:
                rows.append([name, module, "n/a", "n/a", "", results["compile"][key]["n/a"]])
                if name in unavailable:
                    break
                continue
            if r.get("deserialized_checksum_ok") is False:
                problems.add(f"{module} n={tiny['n']} deserialized on {name}: got "
                             f"{r['deserialized_checksum']}, expected {tiny['checksum']}")
            load = r.get("deserialize_s")
            rows.append([name, module, fmt_time(r["compile_s"]),
                         fmt_time(load) if load is not None else "n/a",
                         f"{r['serialized_bytes']}" if "serialized_bytes" in r else "",
                         r.get("deserialize", "")])
    print_table(["engine", "module", "compile", "deserialize", "bytes", "note"], rows)
    return results


# ---------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engines", help="comma-separated engines (default: all; at --size large, "
                   "pure-Python and interpreter engines run only if named here)")
    p.add_argument("--programs", help="comma-separated programs (default: all)")
    p.add_argument("--suite", choices=sorted(SUITES), default="core",
                   help="core: the scalar programs (default); simd: the SIMD programs")
    p.add_argument("--size", choices=["tiny", "small", "large", "both"], default="both",
                   help="n values from expected.json; both = small then large (default)")
    p.add_argument("--repeat", type=int, default=3, metavar="K",
                   help="calls of run(n) per engine and program; the median is reported "
                   "(micro-benchmarks use max(K, 5) batches)")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S",
                   help="give up on an engine for a program when one call takes longer than "
                   "S seconds (pure-Python engines only; 0 = no limit; default 300)")
    p.add_argument("--baseline", help="engine the ratios are relative to (default: pywasm "
                   "for tiny/small, wasmtime-py for large)")
    p.add_argument("--micro", action="store_true",
                   help="run the micro-benchmarks instead of the programs")
    p.add_argument("--json", metavar="OUT", help="also write every measurement to OUT")
    p.add_argument("--list", action="store_true", help="list programs and engines, then exit")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (1 if any checksum mismatched)."""
    args = parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # keep tables and progress in order
    expected = load_expected(args.suite)
    all_programs = list(expected["programs"])
    programs = all_programs
    if args.programs:
        programs = [p.strip() for p in args.programs.split(",") if p.strip()]
        for p in programs:
            if p not in all_programs:
                sys.exit(f"unknown program {p!r}; known: {', '.join(all_programs)}")
    engines = select_engines(args.engines)
    unavailable = set_up(engines)
    versions = {n: ("n/a" if n in unavailable else e.version()) for n, e in engines.items()}

    if args.list:
        for p in all_programs:
            sizes = expected["programs"][p]["sizes"]
            ns = ", ".join(f"{s}={v['n']}" for s, v in sizes.items())
            print(f"{p:10} {ns:50} {expected['programs'][p]['description']}")
        for n, e in engines.items():
            status = f"n/a: {unavailable[n]}" if n in unavailable else versions[n]
            print(f"{n:16} {e.tier:12} {status}")
        return 0

    print(f"python {platform.python_version()} on {platform.machine()} {platform.system()}")
    for n in engines:
        print(f"  {n:16} {versions[n] if n not in unavailable else 'n/a: ' + unavailable[n]}")

    problems = Problems()
    report: dict[str, Any] = {
        "python": platform.python_version(), "machine": platform.machine(),
        "system": platform.system(), "processor": platform.processor(),
        "engines": {n: {"tier": e.tier, "version": versions[n], "unavailable": unavailable.get(n)}
                    for n, e in engines.items()},
        "repeat": args.repeat,
    }
    if args.micro:
        report["micro"] = run_micro(engines, unavailable, programs, expected,
                                    max(args.repeat, 5), problems)
    else:
        sizes = ["small", "large"] if args.size == "both" else [args.size]
        report["programs"] = {}
        for size in sizes:
            gc.collect()
            table = run_programs(engines, unavailable, programs, size, args.repeat,
                                 args.timeout, args.engines is not None, expected, problems)
            baseline = args.baseline or DEFAULT_BASELINE[size]
            summary = print_programs(table, size, baseline, expected, args.repeat)
            report["programs"][size] = {
                "results": {p: {n: asdict(c) | {"median_s": c.median} for n, c in row.items()}
                            for p, row in table.items()},
                "summary": summary,
            }

    report["mismatches"] = problems.mismatches
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if problems.mismatches:
        print("\n" + "!" * 72)
        print(f"!!! {len(problems.mismatches)} CHECKSUM MISMATCH(ES):")
        for m in problems.mismatches:
            print(f"!!!   {m}")
        print("!" * 72)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
