"""A time limit for a whole script, enforced inside the running process."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .outcomes import Timeout


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise Timeout in this thread after ``seconds`` (only possible in the main thread:
    elsewhere the caller must bound the run, e.g. by running it in a subprocess)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise Timeout()

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
