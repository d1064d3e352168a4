"""poll_oneoff: wait for clocks and for descriptors to become readable/writable.

Files, Python-backed streams and discarded output are always ready (as in
wasmtime, which reports 1 byte for them); inherited streams and sockets are
waited on with the host's ``poll``. Clock subscriptions are turned into monotonic
deadlines up front, so a realtime clock step cannot stretch a sleep.
"""

from __future__ import annotations

import select
import time

from ...exec.trap import Trap, TrapCode
from ...records import Record
from . import abi
from .calls_env import now
from .ctx import WasiCtx
from .errno import Errno, WasiError
from .fdtable import Entry, FileEntry, SocketEntry, StreamEntry
from .guestmem import GuestMemory
from .registry import wasi_function

INTERRUPT_SLICE = 20_000_000
"""Longest stretch (ns) a wait goes without checking for an epoch interrupt."""

WAIT_SLICE = 3600 * 1_000_000_000
"""Longest single host wait (ns). Timeouts go up to u64-max ns (584 years), past
what ``time.sleep`` and ``poll`` take; longer waits are made of slices."""

MAX_SUBSCRIPTIONS = 1 << 16
"""Most subscriptions one call may pass (EINVAL beyond; keeps host memory bounded)."""


class _Sub(Record):
    __match_args__ = ("userdata", "kind", "deadline", "host_fd", "ready", "hangup")
    userdata: int
    kind: int
    deadline: int
    """Clocks: monotonic ns at which the subscription fires."""
    host_fd: int | None
    """Descriptors: the OS fd to wait on, None when always ready."""
    ready: bool
    hangup: bool

    def __init__(self, userdata: int, kind: int, deadline: int = 0, host_fd: int | None = None,
                 ready: bool = False, hangup: bool = False) -> None:  # fmt: skip
        self.userdata = userdata
        self.kind = kind
        self.deadline = deadline
        self.host_fd = host_fd
        self.ready = ready
        self.hangup = hangup


def _fd_sub(ctx: WasiCtx, userdata: int, kind: int, fd: int) -> _Sub:
    entry: Entry = ctx.table.get(fd)
    reading = kind == abi.EVENTTYPE_FD_READ
    sub = _Sub(userdata, kind)
    if isinstance(entry, FileEntry):
        sub.ready = True
    elif isinstance(entry, StreamEntry):
        stream = entry.input if reading else entry.output
        if stream is None:
            raise WasiError(Errno.BADF)
        entry.require(abi.RIGHT_FD_READ if reading else abi.RIGHT_FD_WRITE)
        sub.host_fd = stream.host_fd
        sub.ready = stream.host_fd is None
    elif isinstance(entry, SocketEntry):
        entry.require(abi.RIGHT_POLL_FD_READWRITE)
        sub.host_fd = entry.sock.fileno()
    else:
        raise WasiError(Errno.BADF)
    return sub


def _parse(ctx: WasiCtx, mem: GuestMemory, ptr: int, count: int) -> list[_Sub]:
    subs = []
    start = time.monotonic_ns()
    for i in range(count):
        userdata, kind, body = mem.load(abi.SUBSCRIPTION, ptr + abi.SUBSCRIPTION.size * i)
        if kind == abi.EVENTTYPE_CLOCK:
            clock_id, timeout, _precision, flags = abi.SUB_CLOCK.unpack_from(body)
            if flags & ~abi.SUBCLOCK_ABSTIME or clock_id not in (abi.CLOCK_REALTIME, abi.CLOCK_MONOTONIC):
                raise WasiError(Errno.INVAL)
            delay = timeout - now(clock_id) if flags & abi.SUBCLOCK_ABSTIME else timeout
            subs.append(_Sub(userdata, kind, deadline=start + max(0, delay)))
        elif kind in (abi.EVENTTYPE_FD_READ, abi.EVENTTYPE_FD_WRITE):
            (fd,) = abi.SUB_FD.unpack_from(body)
            subs.append(_fd_sub(ctx, userdata, kind, fd))
        else:
            raise WasiError(Errno.INVAL)
    return subs


def _poll_host(subs: list[_Sub], timeout_ns: int | None) -> None:
    """Mark the subscriptions whose host fds are ready within the timeout."""
    poller = select.poll()
    waiting = [s for s in subs if s.host_fd is not None]
    for s in waiting:
        assert s.host_fd is not None
        mask = select.POLLIN if s.kind == abi.EVENTTYPE_FD_READ else select.POLLOUT
        poller.register(s.host_fd, mask)
    timeout_ms = None if timeout_ns is None else -(-timeout_ns // 1_000_000)
    events = dict(poller.poll(timeout_ms))
    for s in waiting:
        ev = events.get(s.host_fd, 0)  # type: ignore[arg-type]
        if ev:
            s.ready = True
            s.hangup = bool(ev & select.POLLHUP)


@wasi_function
def poll_oneoff(ctx: WasiCtx, mem: GuestMemory, in_ptr: int, out_ptr: int, nsubscriptions: int,
                nevents: int) -> None:  # fmt: skip
    if nsubscriptions == 0 or nsubscriptions > MAX_SUBSCRIPTIONS:
        raise WasiError(Errno.INVAL)
    mem.check(in_ptr, abi.SUBSCRIPTION.size * nsubscriptions)
    mem.check(out_ptr, abi.EVENT.size * nsubscriptions)
    mem.check(nevents, 4)
    subs = _parse(ctx, mem, in_ptr, nsubscriptions)
    clocks = [s for s in subs if s.kind == abi.EVENTTYPE_CLOCK]
    hosted = any(s.host_fd is not None for s in subs)
    if hosted:
        _poll_host(subs, 0)
    first = min((c.deadline for c in clocks), default=None)
    while not any(s.ready for s in subs if s.kind != abi.EVENTTYPE_CLOCK):
        wait = None if first is None else first - time.monotonic_ns()
        if wait is not None and wait <= 0:
            break
        if ctx.interrupted is not None:
            if ctx.interrupted():
                raise Trap.of(TrapCode.INTERRUPT)
            wait = INTERRUPT_SLICE if wait is None else min(wait, INTERRUPT_SLICE)
        elif wait is not None:
            wait = min(wait, WAIT_SLICE)
        if hosted:
            _poll_host(subs, wait)
        elif wait is None:
            break  # nothing to wait for (cannot happen: unhosted descriptors are ready)
        else:
            time.sleep(wait / 1e9)
    current = time.monotonic_ns()
    for c in clocks:
        c.ready = c.deadline <= current
    count = 0
    for s in subs:
        if not s.ready:
            continue
        if s.kind == abi.EVENTTYPE_CLOCK:
            mem.store(abi.EVENT, out_ptr + abi.EVENT.size * count, s.userdata, 0, s.kind, 0, 0)
        else:
            flags = abi.EVENTRWFLAG_HANGUP if s.hangup else 0
            mem.store(abi.EVENT, out_ptr + abi.EVENT.size * count, s.userdata, 0, s.kind, 1, flags)
        count += 1
    mem.set_u32(nevents, count)
