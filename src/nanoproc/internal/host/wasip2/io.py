"""``wasi:io`` (error, poll, streams) and the stream objects behind them.

Input streams read stdin (preview1's stream object) or a file at an offset;
output streams write stdout/stderr (preview1's) or a file. Stream calls never
raise into the guest: a failure is ``last-operation-failed(error)``, the end of
input ``closed``.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from ...exec.component.values import Variant
from ...exec.trap import Trap, TrapCode
from ..wasi.errno import Errno, WasiError
from ..wasi.streams import InputStream, OutputStream
from .state import ERROR, INPUT_STREAM, OUTPUT_STREAM, POLLABLE, IoError, P2State, err, errno_of, ok

WRITE_BUDGET = 1 << 16
"""What ``check-write`` permits at once (writes complete before they return)."""
MAX_READ = 1 << 20
"""Most bytes one ``read`` returns."""
WAIT_SLICE = 0.05
"""Longest sleep between checks of the store's deadline (seconds)."""


class Closed(Exception):
    """End of input / output closed: ``stream-error.closed``."""


# ------------------------------------------------------------ pollables
class Pollable:
    def ready(self) -> bool:
        return True

    def host_fd(self) -> int | None:
        return None

    def event(self) -> threading.Event | None:
        """An event set when it becomes ready (a worker thread's), to sleep on."""
        return None


class Timer(Pollable):
    def __init__(self, deadline_ns: int) -> None:
        self.deadline = deadline_ns

    def ready(self) -> bool:
        return time.monotonic_ns() >= self.deadline


class FdReadable(Pollable):
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def ready(self) -> bool:
        return bool(select.select([self.fd], [], [], 0)[0])

    def host_fd(self) -> int | None:
        return self.fd


def wait(p2: P2State, pollables: list[Pollable]) -> list[int]:
    """Block until one of ``pollables`` is ready; the indices of the ready ones.
    The store's deadline (``-W timeout``, epochs) interrupts the wait with a trap."""
    if not pollables:
        raise Trap("poll: empty list of pollables")
    interrupted: Callable[[], bool] | None = p2.ctx.interrupted
    while True:
        ready = [i for i, p in enumerate(pollables) if p.ready()]
        if ready:
            return ready
        if interrupted is not None and interrupted():
            raise Trap.of(TrapCode.INTERRUPT)
        timers = [p.deadline for p in pollables if isinstance(p, Timer)]
        left = (min(timers) - time.monotonic_ns()) / 1e9 if timers else WAIT_SLICE
        pause = max(0.0, min(left, WAIT_SLICE))
        fds = [fd for p in pollables if (fd := p.host_fd()) is not None]
        events = [ev for p in pollables if (ev := p.event()) is not None]
        if fds:
            select.select(fds, [], [], pause if not events else min(pause, 0.005))
        elif events:
            events[0].wait(pause if len(events) == 1 else min(pause, 0.005))
        else:
            time.sleep(pause)


# ------------------------------------------------------------ streams
class InStream:
    def read(self, n: int) -> bytes:
        raise NotImplementedError

    def pollable(self) -> Pollable:
        return Pollable()

    def close(self) -> None:
        pass


class StdinStream(InStream):
    def __init__(self, stream: InputStream) -> None:
        self.stream = stream

    def read(self, n: int) -> bytes:
        buf = bytearray(min(n, MAX_READ))
        got = self.stream.readinto(memoryview(buf))
        if got == 0 and n:
            raise Closed
        return bytes(buf[:got])

    def pollable(self) -> Pollable:
        fd = self.stream.host_fd
        return Pollable() if fd is None else FdReadable(fd)


class FileInStream(InStream):
    """Reads a file from an offset (its own descriptor: the guest may drop the
    file's descriptor handle while the stream lives)."""

    def __init__(self, fd: int, offset: int) -> None:
        self.fd = os.dup(fd)
        self.offset = offset

    def read(self, n: int) -> bytes:
        data = os.pread(self.fd, min(n, MAX_READ), self.offset)
        if not data and n:
            raise Closed
        self.offset += len(data)
        return data

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class OutStream:
    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class StdoutStream(OutStream):
    def __init__(self, stream: OutputStream) -> None:
        self.stream = stream

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self.stream.write(view)
            if n <= 0:
                raise WasiError(Errno.IO)
            view = view[n:]


class FileOutStream(OutStream):
    """Writes a file at an offset, or at its end (``append``)."""

    def __init__(self, fd: int, offset: int | None) -> None:
        self.fd = os.dup(fd)
        self.offset = offset

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.offset is None:
                n = os.write(self.fd, view)
            else:
                n = os.pwrite(self.fd, view, self.offset)
                self.offset += n
            view = view[n:]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# ------------------------------------------------------------ the interfaces
def _failed(p2: P2State, exc: BaseException) -> Variant:
    if isinstance(exc, Closed):
        return err(Variant("closed"))
    e = IoError(errno_of(exc))
    code = getattr(exc, "net_code", None)
    if code is not None:
        e.net_code = code
    return err(Variant("last-operation-failed", p2.own(e, ERROR)))


def define(p2_of: Callable[[Any], P2State], io: dict[str, Any]) -> None:
    """Fill ``io["error"]``, ``io["poll"]`` and ``io["streams"]`` (name -> callable)."""

    def debug_string(store: Any, e: Any) -> str:
        return str(p2_of(store).get(e).debug())

    io["error"] = {"[method]error.to-debug-string": debug_string}

    def ready(store: Any, p: Any) -> bool:
        return bool(p2_of(store).get(p).ready())

    def block(store: Any, p: Any) -> None:
        p2 = p2_of(store)
        wait(p2, [p2.get(p)])

    def poll(store: Any, ps: list[Any]) -> list[int]:
        p2 = p2_of(store)
        return wait(p2, [p2.get(p) for p in ps])

    io["poll"] = {"[method]pollable.ready": ready, "[method]pollable.block": block, "poll": poll}

    def read(store: Any, s: Any, n: int) -> Variant:
        p2 = p2_of(store)
        try:
            return ok(p2.get(s).read(n))
        except (Closed, OSError, WasiError) as e:
            return _failed(p2, e)

    def blocking_read(store: Any, s: Any, n: int) -> Variant:
        p2 = p2_of(store)
        stream = p2.get(s)
        try:
            fn = getattr(stream, "blocking_read", None)
            return ok(fn(n) if fn is not None else stream.read(n))
        except (Closed, OSError, WasiError) as e:
            return _failed(p2, e)

    def skip(store: Any, s: Any, n: int) -> Variant:
        r = read(store, s, n)
        return r if r.tag == "err" else ok(len(r.payload))

    def in_subscribe(store: Any, s: Any) -> Any:
        p2 = p2_of(store)
        return p2.own(p2.get(s).pollable(), POLLABLE)

    def check_write(store: Any, s: Any) -> Variant:
        p2_of(store).get(s)
        return ok(WRITE_BUDGET)

    def write(store: Any, s: Any, data: bytes) -> Variant:
        p2 = p2_of(store)
        try:
            p2.get(s).write(bytes(data))
        except (Closed, OSError, WasiError) as e:
            return _failed(p2, e)
        return ok()

    def flush(store: Any, s: Any) -> Variant:
        p2_of(store).get(s)
        return ok()

    def zeroes(store: Any, s: Any, n: int) -> Variant:
        return write(store, s, bytes(min(n, MAX_READ)))

    def splice(store: Any, dst: Any, src: Any, n: int) -> Variant:
        p2 = p2_of(store)
        try:
            data = p2.get(src).read(n)
            p2.get(dst).write(data)
        except (Closed, OSError, WasiError) as e:
            return _failed(p2, e)
        return ok(len(data))

    def out_subscribe(store: Any, s: Any) -> Any:
        p2 = p2_of(store)
        p2.get(s)
        return p2.own(Pollable(), POLLABLE)

    io["streams"] = {
        "[method]input-stream.read": read, "[method]input-stream.blocking-read": blocking_read,
        "[method]input-stream.skip": skip, "[method]input-stream.blocking-skip": skip,
        "[method]input-stream.subscribe": in_subscribe,
        "[method]output-stream.check-write": check_write,
        "[method]output-stream.write": write,
        "[method]output-stream.blocking-write-and-flush": write,
        "[method]output-stream.flush": flush, "[method]output-stream.blocking-flush": flush,
        "[method]output-stream.subscribe": out_subscribe,
        "[method]output-stream.write-zeroes": zeroes,
        "[method]output-stream.blocking-write-zeroes-and-flush": zeroes,
        "[method]output-stream.splice": splice, "[method]output-stream.blocking-splice": splice,
    }  # fmt: skip


RESOURCES = {"error": {"error": ERROR}, "poll": {"pollable": POLLABLE},
             "streams": {"input-stream": INPUT_STREAM, "output-stream": OUTPUT_STREAM,
                         "error": ERROR, "pollable": POLLABLE}}  # fmt: skip
"""Resource types each interface exports (its own and those it ``use``s)."""
