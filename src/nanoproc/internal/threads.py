"""Threads that nanoproc starts for itself: background compiles, timers, the epoch
ticker, the CLI's timeout.

Python runs signal handlers in the main thread only, but the kernel delivers a
process-directed signal (Ctrl-C's SIGINT, a ``kill``) to any thread that does not
block it. Landed on one of our helper threads, it interrupts nothing: a main thread
in ``time.sleep`` or a blocking read keeps waiting, and Ctrl-C seems ignored until
the call returns by itself. Our threads therefore block the asynchronous signals, so
the kernel picks a thread of the program's own. Synchronous signals (SIGSEGV, SIGFPE,
...) are never blocked.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

ASYNC_SIGNALS = frozenset(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
                 "SIGCHLD", "SIGWINCH", "SIGPIPE")  # fmt: skip
    if hasattr(signal, name)
)


def _quiet(target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, ASYNC_SIGNALS)
    target(*args)


def start_daemon(target: Callable[..., Any], name: str, *args: Any) -> threading.Thread:
    """Start a daemon thread running ``target(*args)`` with the asynchronous signals
    blocked (see the module docstring)."""
    t = threading.Thread(target=_quiet, args=(target, args), name=name, daemon=True)
    t.start()
    return t


def start_timer(delay: float, target: Callable[[], Any], name: str) -> threading.Thread:
    """Like ``threading.Timer(delay, target)`` as a daemon, with signals blocked."""

    def wait_then_run() -> None:
        time.sleep(delay)
        target()

    return start_daemon(wait_then_run, name)


def unblock_all() -> None:
    """For a child process started from one of our threads: it inherits the thread's
    signal mask, so it unblocks everything before its own setup."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
