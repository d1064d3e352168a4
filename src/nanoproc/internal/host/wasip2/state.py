"""Per-store WASI 0.2 state: the resources the guest holds handles to.

A handle the guest holds is a host resource (``ResourceHost.own(rep, type)``);
``rep`` indexes :attr:`P2State.objects`. The object is removed when the guest
drops the handle (the resource type's destructor), which also closes what it owns.
"""

from __future__ import annotations

import weakref
from typing import Any

from ...exec.component.values import ResourceHost, Variant
from ..wasi.ctx import WasiCtx, context_for
from ..wasi.errno import Errno, WasiError, from_oserror

# Host resource type numbers (ResourceType.host(n)): one per WASI resource.
ERROR, POLLABLE, INPUT_STREAM, OUTPUT_STREAM = 0x5732_0001, 0x5732_0002, 0x5732_0003, 0x5732_0004
TERMINAL_INPUT, TERMINAL_OUTPUT = 0x5732_0005, 0x5732_0006
DESCRIPTOR, DIRECTORY_ENTRY_STREAM = 0x5732_0007, 0x5732_0008

MAX_HANDLES = 1 << 16
"""Live host resources one store may hold (a guest leaking handles gets a trap)."""


class P2State:
    """The resource objects of one store, by rep."""

    def __init__(self, ctx: WasiCtx) -> None:
        self.ctx = ctx
        self.objects: dict[int, Any] = {}
        self.next_rep = 1

    def own(self, obj: Any, ty: int) -> ResourceHost:
        """A new owned handle to ``obj`` for the guest."""
        if len(self.objects) >= MAX_HANDLES:
            from ...exec.trap import Trap

            raise Trap("resource table has no free entries")
        rep = self.next_rep
        self.next_rep += 1
        self.objects[rep] = obj
        return ResourceHost.own(rep, ty)

    def get(self, handle: Any) -> Any:
        """The object behind a handle the guest passed (own or borrow)."""
        try:
            return self.objects[handle.rep if isinstance(handle, ResourceHost) else handle._rep]
        except KeyError:
            from ...exec.trap import Trap

            raise Trap("unknown handle index") from None

    def drop(self, rep: int) -> None:
        obj = self.objects.pop(rep, None)
        close = getattr(obj, "close", None)
        if close is not None:
            close()

    def close(self) -> None:
        objs, self.objects = list(self.objects.values()), {}
        for obj in objs:
            close = getattr(obj, "close", None)
            if close is not None:
                try:
                    close()
                except OSError:
                    pass


_STATES: weakref.WeakKeyDictionary[Any, tuple[WasiCtx, P2State]] = weakref.WeakKeyDictionary()


def state_for(store: Any) -> P2State:
    """The WASI 0.2 state of an API store (built on its preview1 context)."""
    st = store._state
    ctx = context_for(st)
    cached = _STATES.get(st)
    if cached is not None and cached[0] is ctx:
        return cached[1]
    if cached is not None:
        cached[1].close()
    p2 = P2State(ctx)
    _STATES[st] = (ctx, p2)
    weakref.finalize(st, p2.close)
    return p2


def ok(value: Any = None) -> Variant:
    return Variant("ok", value)


def err(value: Any = None) -> Variant:
    return Variant("err", value)


_CODES = {
    Errno.ACCES: "access", Errno.AGAIN: "would-block", Errno.ALREADY: "already",
    Errno.BADF: "bad-descriptor", Errno.BUSY: "busy", Errno.DEADLK: "deadlock",
    Errno.DQUOT: "quota", Errno.EXIST: "exist", Errno.FBIG: "file-too-large",
    Errno.ILSEQ: "illegal-byte-sequence", Errno.INPROGRESS: "in-progress",
    Errno.INTR: "interrupted", Errno.INVAL: "invalid", Errno.IO: "io",
    Errno.ISDIR: "is-directory", Errno.LOOP: "loop", Errno.MLINK: "too-many-links",
    Errno.MSGSIZE: "message-size", Errno.NAMETOOLONG: "name-too-long",
    Errno.NODEV: "no-device", Errno.NOENT: "no-entry", Errno.NOLCK: "no-lock",
    Errno.NOMEM: "insufficient-memory", Errno.NOSPC: "insufficient-space",
    Errno.NOTDIR: "not-directory", Errno.NOTEMPTY: "not-empty",
    Errno.NOTRECOVERABLE: "not-recoverable", Errno.NOTSUP: "unsupported",
    Errno.NOTTY: "no-tty", Errno.NXIO: "no-such-device", Errno.OVERFLOW: "overflow",
    Errno.PERM: "not-permitted", Errno.NOTCAPABLE: "not-permitted", Errno.PIPE: "pipe",
    Errno.ROFS: "read-only", Errno.SPIPE: "invalid-seek", Errno.TXTBSY: "text-file-busy",
    Errno.XDEV: "cross-device", Errno.MFILE: "insufficient-memory",
}  # fmt: skip
"""preview1 errnos to ``wasi:filesystem/types.error-code`` cases."""


def errno_of(exc: BaseException) -> Errno:
    if isinstance(exc, WasiError):
        return exc.errno
    if isinstance(exc, OSError):
        return from_oserror(exc)
    if isinstance(exc, UnicodeError):
        return Errno.ILSEQ
    raise exc


def error_code(exc: BaseException) -> str:
    """The filesystem error-code for a failed host operation."""
    return _CODES.get(errno_of(exc), "io")


class IoError:
    """A ``wasi:io/error.error``: what a stream operation failed with."""

    def __init__(self, errno: Errno) -> None:
        self.errno = errno
        self.net_code: str | None = None
        """What ``network-error-code`` answers (a socket stream's error), else None."""

    def debug(self) -> str:
        return f"{_CODES.get(self.errno, 'io')} (errno {self.errno.name.lower()})"
