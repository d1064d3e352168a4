"""Worker processes (compiling, validating) that work wherever Python does.

multiprocessing's ``spawn`` and ``forkserver`` re-run the parent's ``__main__`` in
every child: a script without an ``if __name__ == "__main__":`` guard starts itself
again (and dies with BrokenProcessPool), and ``python -c``, stdin or a notebook have
no main file to re-run at all. These workers are plain ``python -P -c`` processes
whose only code is :func:`main` below; they talk to the parent over their stdin and
stdout (length-prefixed pickles of plain data), so nothing of the user's program is
ever imported in them.

No orphans: a worker exits when its stdin closes (the parent exited, however it
died) and a watcher thread also exits it when its parent process is gone. Workers
ignore SIGINT, so Ctrl-C stops the parent (which kills its workers at exit) without
a traceback from each child. Where processes cannot be started (no interpreter
executable, a frozen or embedded application, ``NANOPROC_COMPILE_WORKERS=0``), the
caller compiles in its own process, with the same results.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from . import threads

_LEN = struct.Struct("<Q")
_READY = b"nanoproc-worker-ready\n"

# ---------------------------------------------------------------- the worker side


def _read_msg(f: IO[bytes]) -> Any:
    head = f.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (n,) = _LEN.unpack(head)
    data = f.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


def _write_msg(f: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(_LEN.pack(len(data)) + data)
    f.flush()


def _read_raw(f: IO[bytes]) -> bytes | None:
    head = f.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (n,) = _LEN.unpack(head)
    data = f.read(n)
    return data if len(data) == n else None


def _watch_parent(ppid: int) -> None:
    import time

    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(0)


def main() -> None:
    """A worker's loop: read tasks from stdin, write object code to stdout."""
    import signal

    threads.unblock_all()  # started from a thread of ours, we inherit its mask
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    # Nothing else may write to the protocol stream.
    sys.stdout = sys.stderr
    ppid = os.getppid()
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True).start()
    try:
        nice = int(os.environ.get("NANOPROC_WORKER_NICE", "0"))
        if nice:
            os.nice(nice)
    except (OSError, ValueError):
        pass
    wasm_of: dict[str, bytes] = {}
    state: dict[tuple[str, str], Any] = {}
    stdout.write(_READY)
    stdout.flush()
    while True:
        msg = _read_msg(stdin)
        if msg is None:
            return
        kind, task_id, digest, has_wasm, args = msg
        wasm = _read_raw(stdin) if has_wasm else None
        try:
            if wasm is not None:
                wasm_of.clear()
                state.clear()
                wasm_of[digest] = wasm
            key = (_STATE.get(kind, kind), digest)
            if key not in state:
                state[key] = _PREPARE[kind](wasm_of[digest])
            result = _RUN[kind](state[key], *args)
            _write_msg(stdout, (task_id, True, result))
        except BaseException as e:  # reported to the parent, which does the task itself
            _write_msg(stdout, (task_id, False, f"{type(e).__name__}: {e}"))


def _prepare_compile(wasm: bytes) -> tuple[Any, Any]:
    from .binary import decode_module

    module = decode_module(wasm)
    return module, [module.functype(i) for i in module.func_typeidxs()]


def _compile(prepared: tuple[Any, Any], funcs: list[int], glue: bool, index: int,
             options: Any) -> bytes:
    from .llvm.irgen.module import Partition
    from .llvm.unitcode import partition_object

    module, func_types = prepared
    return partition_object(module, func_types, Partition(index, funcs, glue), options)


def _unit_part(prepared: tuple[Any, Any], part_funcs: list[int], index: int,
               unit_funcs: list[int], options: Any) -> bytes:
    """The object of one partition of a partial unit (llvm/unitcode.py). The bodies it
    decoded are dropped again after: a worker serving a big module's tier-up
    (CPython-for-WASI, 89,000 functions) keeps only the module's bytes and its
    skeleton."""
    from .llvm import unitcode
    from .llvm.irgen.module import Partition

    module, func_types = prepared
    try:
        return unitcode.partition_object(module, func_types, Partition(index, part_funcs, False),
                                         options, frozenset(unit_funcs))
    finally:
        for f in module.funcs:
            if f.lazy is not None and f.body is not None:
                f.body = None
                f.offsets = None


def _prepare_validate(wasm: bytes) -> Any:
    from .binary import decode_module
    from .valid.validate import body_checker

    return body_checker(decode_module(wasm))


def _validate(checker: Any, start: int, stop: int) -> Any:
    return checker(start, stop)


def _prepare_translate(wasm: bytes) -> Any:
    from .interp.ahead import prepare

    return prepare(wasm)


def _translate(art: Any, options: tuple[Any, ...], funcs: list[int],
               classify: list[int]) -> Any:
    from .interp.ahead import work

    return work(art, options, funcs, classify)


_PREPARE: dict[str, Callable[[bytes], Any]] = {"compile": _prepare_compile,
                                               "unitpart": _prepare_compile,
                                               "validate": _prepare_validate,
                                               "translate": _prepare_translate}
_RUN: dict[str, Callable[..., Any]] = {"compile": _compile, "unitpart": _unit_part,
                                       "validate": _validate, "translate": _translate}
_STATE = {"unitpart": "compile"}
"""Task kinds sharing another's prepared state (one decoded module per worker)."""


# ---------------------------------------------------------------- the parent side


class WorkerFailed(Exception):
    """A worker died or reported an error (the caller compiles the task itself)."""


class ShuttingDown(Exception):
    """The interpreter is exiting: unfinished background work is dropped, not redone
    in this process."""


_closing = False


class Worker:
    """One worker process and what it has been sent."""

    def __init__(self, nice: int = 0) -> None:
        root = str(Path(__file__).resolve().parents[2])
        code = (f"import sys; sys.path.insert(0, {root!r}); "
                "from nanoproc.internal.workers import main; main()")
        args = [sys.executable]
        args.append("-P")  # do not put the current directory on sys.path
        args += ["-c", code]
        env = dict(os.environ, NANOPROC_WORKER_NICE=str(nice))
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            close_fds=True, start_new_session=False, env=env,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.digest: str | None = None
        line = self.stdout.readline()
        if line != _READY:
            self.kill()
            raise WorkerFailed("compile worker did not start")

    def run(self, kind: str, task_id: int, digest: str, wasm: bytes, *args: Any) -> Any:
        """Task ``kind`` (``compile``, ``validate``) on module ``wasm`` (sent once)."""
        send = digest != self.digest
        try:
            _write_msg(self.stdin, (kind, task_id, digest, send, args))
            if send:  # the module's bytes as they are (no pickled copy of them)
                self.stdin.write(_LEN.pack(len(wasm)))
                self.stdin.write(wasm)
                self.stdin.flush()
            self.digest = digest
            reply = _read_msg(self.stdout)
        except (OSError, ValueError, pickle.PickleError, EOFError) as e:
            self.kill()
            raise WorkerFailed(str(e)) from None
        except BaseException:
            # Interrupted mid-task (KeyboardInterrupt in the thread waiting here): the
            # worker would answer a task nobody reads, so it is not used again.
            self.kill()
            raise
        if reply is None:
            self.kill()
            raise WorkerFailed("compile worker exited")
        rid, ok, payload = reply
        if rid != task_id:
            self.kill()
            raise WorkerFailed("compile worker answered another task")
        if not ok:
            raise WorkerFailed(str(payload))
        return payload

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            self.stdin.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass


BACKGROUND_NICE = 19
"""Niceness of workers compiling in the background (the program runs meanwhile and
comes first); foreground compiles (the llvm tier, ``nanoproc compile``) use 0. The
lowest priority: with the kernel's autogroup scheduling (the default on desktop
and server Linux) a worker competes with its own program first, and at 5 it took
about a quarter of the program's CPU on a busy machine (Boolector's first result
was 1.2x interp alone's); on an idle core it runs at full speed whatever its
niceness."""


class Pool:
    """Idle workers, started on demand and kept for the process's life (reused by
    later compiles); all killed at interpreter exit."""

    def __init__(self, nice: int = 0) -> None:
        self.nice = nice
        self._idle: list[Worker] = []
        self._all: list[Worker] = []
        self._lock = threading.Lock()
        self.disabled = False
        """Set when a worker could not be started: compile in the process from then on."""
        atexit.register(self.shutdown)

    def acquire(self) -> Worker | None:
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.alive():
                    return w
            if self.disabled or _closing:
                return None
        try:
            w = Worker(self.nice)
        except (OSError, WorkerFailed, ValueError):
            self.disabled = True
            return None
        with self._lock:
            if not _closing:
                self._all.append(w)
                return w
        w.kill()  # the pool was shut down meanwhile: no worker outlives it
        return None

    def release(self, w: Worker) -> None:
        with self._lock:
            if w.alive():
                self._idle.append(w)

    def shutdown(self) -> None:
        global _closing
        _closing = True
        with self._lock:
            workers, self._all, self._idle = self._all, [], []
        for w in workers:
            w.kill()

    def pids(self) -> list[int]:
        with self._lock:
            return [w.proc.pid for w in self._all if w.alive()]


_pools: dict[bool, Pool] = {}
_pool_lock = threading.Lock()


def workers_available() -> bool:
    """Whether worker processes may be used at all here."""
    if os.environ.get("NANOPROC_COMPILE_WORKERS", "1") == "0":
        return False
    if getattr(sys, "frozen", False) or not sys.executable:
        return False
    return not any(p.disabled for p in _pools.values())


def pool(background: bool = False) -> Pool:
    """The pool of foreground or background (niced) workers."""
    with _pool_lock:
        p = _pools.get(background)
        if p is None:
            p = _pools[background] = Pool(BACKGROUND_NICE if background else 0)
        return p


def worker_pids() -> list[int]:
    """Every live worker of this process (tests)."""
    return [pid for p in list(_pools.values()) for pid in p.pids()]


_task_ids = itertools.count(1 << 32)


def run_one(kind: str, digest: str, wasm: bytes, args: tuple[Any, ...],
            run_here: Callable[[], Any], background: bool = True) -> Any:
    """The result of one task ``kind`` on module ``wasm`` (``digest``: its sha256):
    on a worker of the pool when one can be had, else (or when the worker dies or
    errs) ``run_here()`` in this thread. While the interpreter exits, the pool's
    workers are killed and a task they had is dropped: ShuttingDown, never redone
    here (an exit does not wait for a compile)."""
    if not workers_available():
        return run_here()
    if _closing:
        raise ShuttingDown()
    p = pool(background)
    w = p.acquire()
    if w is None:
        if _closing:
            raise ShuttingDown()
        return run_here()
    try:
        return w.run(kind, next(_task_ids), digest, wasm, *args)
    except WorkerFailed:
        if _closing:
            raise ShuttingDown() from None
        return run_here()
    finally:
        p.release(w)


def abandon() -> None:
    """The interpreter exits: every worker is killed now (what it compiles is
    dropped) and later tasks raise ShuttingDown (none starts a worker)."""
    global _closing
    _closing = True
    with _pool_lock:
        pools = list(_pools.values())
    for p in pools:
        p.shutdown()


def run_tasks(tasks: list[Any], jobs: int, run_here: Callable[[Any], Any],
              run_remote: Callable[[Worker, int, Any], Any],
              done: Callable[[int], None] | None = None,
              background: bool = False, here_too: bool = False) -> list[Any]:
    """Results of ``tasks`` in order: each on a worker (``run_remote``) when one can
    be had, else (or when its worker fails) in this process (``run_here``). Up to
    ``jobs`` run at once; with ``here_too`` this thread takes tasks as well (for
    work that does not need a process of its own, such as validation)."""
    results: list[Any] = [None] * len(tasks)
    if not workers_available() or jobs < 1:
        for i, t in enumerate(tasks):
            results[i] = run_here(t)
            if done is not None:
                done(i)
        return results
    p = pool(background)
    lock = threading.Lock()
    next_task = iter(range(len(tasks)))
    errors: list[BaseException] = []

    def loop() -> None:
        w = p.acquire()
        try:
            while True:
                with lock:
                    if errors:
                        return
                    i = next(next_task, None)
                if i is None:
                    return
                try:
                    if _closing:
                        raise ShuttingDown()
                    if w is not None:
                        try:
                            results[i] = run_remote(w, i, tasks[i])
                        except WorkerFailed:
                            if _closing:
                                raise ShuttingDown() from None
                            results[i] = run_here(tasks[i])
                            if not w.alive():
                                w = p.acquire()
                    else:
                        results[i] = run_here(tasks[i])
                    if done is not None:
                        with lock:
                            done(i)
                except BaseException as e:
                    with lock:
                        errors.append(e)
                    return
        finally:
            if w is not None:
                p.release(w)

    def local() -> None:
        while True:
            with lock:
                if errors:
                    return
                i = next(next_task, None)
            if i is None:
                return
            try:
                results[i] = run_here(tasks[i])
            except BaseException as e:
                with lock:
                    errors.append(e)
                return

    pumps = [threads.start_daemon(loop, "nanoproc compile")
             for _ in range(max(1, min(jobs, len(tasks))))]  # fmt: skip
    if here_too:
        local()
    for t in pumps:
        t.join()
    if errors:
        raise errors[0]
    return results
