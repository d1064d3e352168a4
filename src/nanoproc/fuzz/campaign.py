"""A fuzz campaign: cases spread over worker processes, with a watchdog.

Workers are separate processes so that a crash of the host process (a segfault in
native code) or a hang is caught, recorded against its case and the worker replaced,
instead of ending the campaign. A case is (path, seed); the campaign seed fixes the
whole sequence of cases, so any campaign can be replayed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from .cases import ALL_PATHS, PATHS, Verdict, engines, judge

CASE_TIMEOUT = 150.0
"""Seconds a case (with its minimization) may take before its worker is killed."""
SOFT_TIMEOUT = 120
"""Seconds after which a worker interrupts its own case (a Python-level hang)."""


def case_seed(campaign_seed: int, index: int) -> int:
    return campaign_seed * 1_000_003 + index


def case_path(index: int, paths: tuple[str, ...]) -> str:
    """Spread: in 17 cases, 6 generator, 4 with exceptions, 3 GC generator, 2 smith,
    2 mutants (among those enabled; host cases weigh as much as generator cases)."""
    weights = {"gen": 6, "exc": 4, "smith": 2, "mutate": 2, "gc": 3, "host": 6}
    wheel = [p for p in ALL_PATHS if p in paths for _ in range(weights[p])]
    return wheel[index % len(wheel)]


BAD = ("difference", "crash", "hang", "validation")
"""Verdicts that are findings."""


@dataclass
class Report:
    """Totals of a campaign."""

    cases: Counter[str] = field(default_factory=Counter)
    """Cases run, by path."""
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    findings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, path: str, seed: int, verdict: Verdict) -> None:
        self.cases[path] += 1
        self.statuses[(path, verdict.status)] += 1
        if verdict.status in BAD:
            self.findings.append({"path": path, "seed": seed, "status": verdict.status,
                                  "detail": verdict.detail[:500], "files": verdict.files})

    @property
    def bad(self) -> int:
        return len(self.findings)

    def summary(self) -> str:
        lines = [f"cases: {sum(self.cases.values())} "
                 f"({', '.join(f'{p} {n}' for p, n in sorted(self.cases.items()))})"]
        for (path, status), n in sorted(self.statuses.items()):
            lines.append(f"  {path:7s} {status:12s} {n}")
        lines += [f"note: {n}" for n in self.notes]
        counts = Counter(f["status"] for f in self.findings)
        lines.append(f"differences: {counts['difference']}  host crashes: {counts['crash']}  "
                     f"hangs: {counts['hang']}  validation disagreements: {counts['validation']}")
        for f in self.findings:
            lines.append(f"  {f['status']} {f['path']}:{f['seed']}: {f['detail'][:200]}")
            lines += [f"    {x}" for x in f["files"]]
        return "\n".join(lines)


# ---------------------------------------------------------------- workers
class _SoftTimeout(BaseException):
    """Raised by the alarm; a BaseException, so that no ``except Exception`` in the
    code under test swallows it."""


def _alarm(signum: int, frame: Any) -> None:
    raise _SoftTimeout()


def _worker(conn: Connection, tiers: list[str], out_dir: str | None, shrink: bool) -> None:
    """Judge the cases the parent sends, one at a time, until it sends None."""
    runs, _ = engines(tiers)
    signal.signal(signal.SIGALRM, _alarm)
    out = Path(out_dir) if out_dir else None
    while True:
        job = conn.recv()
        if job is None:
            return
        path, seed = job
        signal.alarm(SOFT_TIMEOUT)
        try:
            verdict = judge(path, seed, runs, out, shrink)
        except _SoftTimeout:
            verdict = Verdict("hang", f"case took more than {SOFT_TIMEOUT} s")
        except Exception as e:  # noqa: BLE001 - a bug of the harness or of nanoproc
            verdict = Verdict("crash", f"harness: {type(e).__name__}: {e}")
        finally:
            signal.alarm(0)
        conn.send((path, seed, verdict))


@dataclass
class _Slot:
    process: Any
    conn: Connection
    job: tuple[str, int] | None = None
    started: float = 0.0


def run_campaign(seed: int, seconds: float | None = None, count: int | None = None,
                 jobs: int = 2, tiers: tuple[str, ...] = ("interp", "llvm"),
                 paths: tuple[str, ...] = PATHS, out_dir: str | None = "fuzz-findings",
                 shrink: bool = True, progress: bool = False) -> Report:
    """Run cases of campaign ``seed`` until ``seconds`` pass or ``count`` cases ran."""
    report = Report()
    _, report.notes = engines(list(tiers))
    if "smith" in paths:
        from .smith import wasm_tools

        if wasm_tools() is None:
            report.notes.append("wasm-tools not found: no smith cases")
            paths = tuple(p for p in paths if p != "smith")
    ctx = multiprocessing.get_context("spawn")
    deadline = None if seconds is None else time.monotonic() + seconds
    slots: list[_Slot] = []

    def spawn() -> _Slot:
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_worker, args=(child, list(tiers), out_dir, shrink), daemon=True)
        p.start()
        child.close()
        return _Slot(p, parent)

    def record(path: str, case: int, verdict: Verdict) -> None:
        report.add(path, case, verdict)
        if progress and verdict.status in BAD:
            # at once: a long campaign's summary comes only at its end
            print(f"[fuzz] {verdict.status} {path}:{case}: {verdict.detail[:200]}", flush=True)

    slots = [spawn() for _ in range(max(1, jobs))]
    index = 0
    last_print = time.monotonic()
    try:
        while True:
            more = (count is None or index < count) and (deadline is None or time.monotonic() < deadline)
            for slot in slots:
                if slot.job is None and more:
                    slot.job = (case_path(index, paths), case_seed(seed, index))
                    slot.started = time.monotonic()
                    slot.conn.send(slot.job)
                    index += 1
                    more = (count is None or index < count) and (
                        deadline is None or time.monotonic() < deadline)
            busy = [s for s in slots if s.job is not None]
            if not busy:
                break
            ready = wait([s.conn for s in busy], timeout=1.0)
            for i, slot in enumerate(slots):
                if slot.job is None:
                    continue
                if slot.conn in ready:
                    try:
                        path, case, verdict = slot.conn.recv()
                    except (EOFError, OSError):
                        slot.process.join(5)
                        record(*_death(slot, out_dir))
                        slots[i] = spawn()
                        continue
                    record(path, case, verdict)
                    slot.job = None
                elif time.monotonic() - slot.started > CASE_TIMEOUT:
                    slot.process.kill()
                    slot.process.join(5)
                    path, case = slot.job
                    record(path, case, Verdict("hang", f"killed after {CASE_TIMEOUT} s"))
                    slots[i] = spawn()
            if progress and time.monotonic() - last_print > 30:
                last_print = time.monotonic()
                print(f"[fuzz] {sum(report.cases.values())} cases, {report.bad} findings",
                      flush=True)
    finally:
        for slot in slots:
            try:
                slot.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            slot.process.join(5)
            if slot.process.is_alive():
                slot.process.kill()
    return report


def _death(slot: _Slot, out_dir: str | None) -> tuple[str, int, Verdict]:
    """A worker died (a host crash): keep its case's module as the reproducer."""
    assert slot.job is not None
    path, seed = slot.job
    code = slot.process.exitcode
    detail = f"worker died (exit code {code}{', signal ' + signal.Signals(-code).name if code and code < 0 else ''})"
    files: list[str] = []
    if out_dir:
        from .cases import _write, build

        built = build(path, seed)
        if built is not None:
            files = _write(Path(out_dir), f"crash-{path}-{seed}", built.wasm, built.tree,
                           {"path": path, "seed": seed, "error": detail, "plan": built.plan})
    return path, seed, Verdict("crash", detail, files)


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))
