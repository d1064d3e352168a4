"""Wall-clock timeouts built on epoch interruption (``Store.set_timeout``).

Wasm code checks the engine's epoch against its store's deadline at every function
entry and loop header, so advancing the epoch is all it takes to stop it, even in a
tight loop that makes no calls. A timeout is a deadline some ticks ahead plus a
background thread that advances the engine's epoch every :data:`TICK` seconds until
the last pending deadline has passed; then the thread ends. One ticker serves every
store of an engine.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from ..internal import threads

TICK = 0.005
"""Seconds between epoch increments while a timeout is pending. A timeout fires
between ``seconds`` and ``seconds + TICK`` (plus the wait for Python's GIL, which
a running thread hands over every 5 ms)."""

_lock = threading.Lock()


class EpochTicker:
    """Advances ``engine``'s epoch every :data:`TICK` s until it reaches ``until``.

    Ticks keep to a fixed schedule (``start + n * TICK``): a thread that woke late makes
    up the ticks it owes in a quick burst, so that timeouts stay accurate on a busy
    machine. A deadline set while ticks are owed adds them, so the burst cannot make
    it fire early.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.until = 0
        self.thread: threading.Thread | None = None
        self.start = 0.0
        self.done = 0
        """Ticks made since ``start``."""

    def deadline_after(self, seconds: float) -> int:
        """The epoch by which ``seconds`` from now have passed; ticks until then."""
        with _lock:
            running = self.thread is not None and self.thread.is_alive()
            owed = 0
            if running:
                owed = max(0, int((time.monotonic() - self.start) / TICK) - self.done)
            deadline = int(self.engine.epoch) + owed + ticks_for(seconds)
            self.until = max(self.until, deadline)
            if not running:
                self.start = time.monotonic()
                self.done = 0
                self.thread = threads.start_daemon(self._run, "nanoproc-epoch-ticker")
            return deadline

    def _run(self) -> None:
        while True:
            delay = self.start + (self.done + 1) * TICK - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with _lock:
                self.engine.increment_epoch()
                self.done += 1
                if self.engine.epoch >= self.until:
                    self.thread = None
                    return


def ticks_for(seconds: float) -> int:
    """Epoch ticks a timeout of ``seconds`` waits for: one more than ``seconds``
    spans, because a ticker already running may tick at once (the timeout must not
    fire early; it may fire up to one tick late)."""
    return math.ceil(seconds / TICK) + 1


def ticker_of(engine: Any) -> EpochTicker:
    """The engine's ticker (made on first use)."""
    with _lock:
        ticker = getattr(engine, "_ticker", None)
        if ticker is None:
            ticker = engine._ticker = EpochTicker(engine)
        return ticker  # type: ignore[no-any-return]
