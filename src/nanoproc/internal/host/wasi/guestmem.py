"""Checked access to the guest's linear memory for WASI calls.

Every pointer a guest passes is untrusted: each access is bounds-checked against
the memory's current size and a bad one fails the call with ``EFAULT`` (wasmtime
traps instead; an errno lets the program, and the host, carry on). Buffers are
handed out as ``memoryview`` slices, so reads and writes go straight between the
OS and guest memory and a huge length never becomes a huge host allocation.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from . import abi
from .errno import Errno, WasiError

MAX_PATH = 1 << 16
"""Longest path a guest may pass, in bytes (ENAMETOOLONG beyond)."""

MAX_IOVECS = 1024
"""Iovecs looked at per call (POSIX IOV_MAX); entries past it are ignored, which
makes at most a short read or write, as POSIX allows."""


class GuestMemory:
    """Bounds-checked views of one linear memory (its current size)."""

    __slots__ = ("view", "size")

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.size = len(view)

    def check(self, ptr: int, n: int) -> None:
        """EFAULT unless ``[ptr, ptr + n)`` is inside memory (nothing to check for n == 0)."""
        if n and ptr + n > self.size:
            raise WasiError(Errno.FAULT)

    def slice(self, ptr: int, n: int) -> memoryview:
        """The guest bytes ``[ptr, ptr + n)``, writable in place."""
        if ptr + n > self.size:
            raise WasiError(Errno.FAULT)
        return self.view[ptr : ptr + n]

    def read(self, ptr: int, n: int) -> bytes:
        return bytes(self.slice(ptr, n))

    def write(self, ptr: int, data: bytes | bytearray | memoryview) -> None:
        n = len(data)
        if ptr + n > self.size:
            raise WasiError(Errno.FAULT)
        self.view[ptr : ptr + n] = data

    def load(self, layout: struct.Struct, ptr: int) -> tuple[Any, ...]:
        if ptr + layout.size > self.size:
            raise WasiError(Errno.FAULT)
        return layout.unpack_from(self.view, ptr)

    def store(self, layout: struct.Struct, ptr: int, *values: int) -> None:
        if ptr + layout.size > self.size:
            raise WasiError(Errno.FAULT)
        layout.pack_into(self.view, ptr, *values)

    def set_u32(self, ptr: int, value: int) -> None:
        self.store(abi.U32, ptr, value)

    def set_u64(self, ptr: int, value: int) -> None:
        self.store(abi.U64, ptr, value)

    def path(self, ptr: int, n: int) -> bytes:
        """A path argument: valid UTF-8 (else EILSEQ) without NUL (else EINVAL)."""
        if n > MAX_PATH:
            raise WasiError(Errno.NAMETOOLONG)
        data = self.read(ptr, n)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise WasiError(Errno.ILSEQ) from None
        if b"\0" in data:
            raise WasiError(Errno.INVAL)
        return data

    def iovecs(self, ptr: int, count: int) -> Iterator[memoryview]:
        """The buffers of an iovec array, at most MAX_IOVECS of them, each checked."""
        for i in range(min(count, MAX_IOVECS)):
            buf, length = self.load(abi.IOVEC, ptr + 8 * i)
            yield self.slice(buf, length)

    def first_iovec(self, ptr: int, count: int) -> memoryview:
        """The first non-empty buffer of an iovec array (empty if there is none).

        Reads and writes move one buffer per call, as wasmtime does: a short
        transfer is always allowed, and it keeps results identical to wasmtime's.
        """
        for buf in self.iovecs(ptr, count):
            if len(buf):
                return buf
        return memoryview(b"")
