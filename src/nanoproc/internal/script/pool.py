"""Run many scripts, each in its own worker process with a hard time limit.

A separate process per file isolates scripts from each other (a crash or a runaway
native loop takes down one file, not the run) and lets a file that ignores the
in-process time limit be killed. Results come back in the order of ``paths``.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from .report import FileResult

GRACE = 30.0
"""Seconds past the in-process time limit before a worker is killed."""


def _work(conn: Connection, path: str, api_name: str, options: dict[str, Any]) -> None:
    from .runner import run_wast

    try:
        api = importlib.import_module(api_name)
        result = run_wast(path, api, **options)
    except BaseException as e:  # noqa: BLE001 - report anything to the parent
        result = FileResult(path)
        result.fail(0, "worker", f"{type(e).__name__}: {e}")
    conn.send(result)
    conn.close()


def _context(start_method: str) -> Any:
    """The multiprocessing context; plain ``fork`` is never used: a child forked from a
    process with other (even native) threads can hang on a lock one of them held, as
    happens under pytest-xdist. ``forkserver`` forks from a clean server process."""
    if start_method not in mp.get_all_start_methods():
        start_method = "spawn"
    ctx = mp.get_context(start_method)
    if start_method == "forkserver":
        ctx.set_forkserver_preload(["nanoproc.internal.script.runner"])
    return ctx


def run_files(
    paths: Sequence[str],
    *,
    jobs: int = 1,
    api_name: str = "nanoproc",
    strategy: str | None = None,
    timeout: float | None = 600.0,
    on_result: Callable[[FileResult], None] | None = None,
    start_method: str = "spawn",
    malformed_messages: bool = False,
) -> list[FileResult]:
    """Run ``paths`` with up to ``jobs`` worker processes; ``on_result`` sees each result
    as it finishes. A worker that dies or outlives ``timeout + GRACE`` is a failed file.

    ``spawn`` (the default) starts each worker afresh and sees this process's current
    ``sys.path``; ``forkserver`` starts workers faster (the command line uses it)."""
    ctx = _context(start_method)
    options = {"strategy": strategy, "timeout": timeout, "malformed_messages": malformed_messages}
    pending = list(enumerate(paths))
    running: dict[int, tuple[Any, Connection, float]] = {}
    results: dict[int, FileResult] = {}

    def finish(i: int, result: FileResult) -> None:
        results[i] = result
        if on_result is not None:
            on_result(result)

    while pending or running:
        while pending and len(running) < max(1, jobs):
            i, path = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_work, args=(child, path, api_name, options))
            proc.start()
            child.close()
            running[i] = (proc, parent, time.monotonic())
        for i, (proc, conn, started) in list(running.items()):
            result = _poll(paths[i], proc, conn, started, timeout)
            if result is not None:
                del running[i]
                finish(i, result)
        if running:
            wait([c for _, c, _ in running.values()], timeout=0.2)
    return [results[i] for i in range(len(paths))]


def _poll(path: str, proc: Any, conn: Connection, started: float,
          timeout: float | None) -> FileResult | None:
    """The worker's result if it is done (or dead, or overdue and now killed), else None."""
    if conn.poll() or not proc.is_alive() and conn.poll(0.5):
        try:
            result: FileResult = conn.recv()
        except EOFError:
            proc.join()
            result = _dead(path, proc)
        proc.join()
        conn.close()
        return result
    if not proc.is_alive():
        proc.join()
        conn.close()
        return _dead(path, proc)
    if timeout and time.monotonic() - started > timeout + GRACE:
        proc.kill()
        proc.join()
        conn.close()
        result = FileResult(path)
        result.fail(0, "script", f"killed: still running {timeout + GRACE:g}s after it started")
        return result
    return None


def _dead(path: str, proc: Any) -> FileResult:
    result = FileResult(path)
    result.fail(0, "script", f"worker process died (exit code {proc.exitcode})")
    return result
