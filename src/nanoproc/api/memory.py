"""``Memory``: a linear memory, readable and writable from Python.

Besides wasmtime-py's methods (``read``/``write`` copies, ``data_ptr`` and
``get_buffer_ptr`` raw ctypes access), ``buffer(store)`` gives a zero-copy
``memoryview`` of the whole memory.
"""

from __future__ import annotations

import ctypes
from typing import Any

from ..internal.errors import UnsupportedFeature, WasmtimeError
from ..internal.exec.memory import MemoryInst
from ..internal.exec.store import StoreState
from .argcheck import expect
from .engine import Engine
from .externs import ExternHandle
from .store import check_same_store, state_of
from .types import MemoryType


class Memory(ExternHandle):
    """A linear memory of a store."""

    __slots__ = ()

    _ext: MemoryInst

    def __init__(self, store: Any, ty: MemoryType) -> None:
        st = state_of(store)
        expect(ty, MemoryType, "a MemoryType")
        if ty.is_shared:
            raise WasmtimeError("a shared memory type needs SharedMemory, not Memory")
        self._ext = MemoryInst(ty._t, st)
        self._st = st

    @staticmethod
    def _wrap(mi: MemoryInst, st: StoreState) -> Memory:
        m = object.__new__(Memory)
        m._ext = mi
        m._st = st
        return m

    def _mem(self, store: Any) -> MemoryInst:
        check_same_store(store, self._st)
        return self._ext

    def type(self, store: Any) -> MemoryType:
        """The memory's declared type (its minimum does not follow growth)."""
        return MemoryType._of(self._mem(store).type)

    def grow(self, store: Any, delta: int) -> int:
        """Grow by ``delta`` pages; returns the previous size in pages.

        Raises WasmtimeError if the memory cannot grow that much (its maximum, the
        store's limits, or what nanoproc can reserve).
        """
        if delta < 0:
            raise WasmtimeError("cannot grow by negative amount")
        if not isinstance(delta, int):
            raise TypeError("expected an int")
        old = self._mem(store).grow(delta)
        if old < 0:
            raise WasmtimeError(f"failed to grow memory by `{delta}`")
        return old

    def size(self, store: Any) -> int:
        """Current size in pages."""
        return self._mem(store).pages

    def data_len(self, store: Any) -> int:
        """Current size in bytes."""
        return self._mem(store).data_len

    def page_size(self, store: Any) -> int:
        """Bytes per page (65536, or 1 with custom page sizes)."""
        return self._mem(store).page_size

    def page_size_log2(self, store: Any) -> int:
        return self._mem(store).page_size.bit_length() - 1

    def data_ptr(self, store: Any) -> ctypes._Pointer[ctypes.c_ubyte]:
        """A raw ctypes pointer to byte 0. Not bounds-checked: stay below ``data_len``.

        With the mmap backing the base never moves, so the pointer stays valid
        across growth; otherwise it is valid until the next growth.
        """
        return ctypes.cast(self._mem(store).address(), ctypes.POINTER(ctypes.c_ubyte))

    def get_buffer_ptr(
        self, store: Any, size: int | None = None, offset: int = 0
    ) -> ctypes.Array[ctypes.c_ubyte]:
        """A ctypes array over ``size`` bytes at ``offset`` (zero-copy; usable with
        ``numpy.frombuffer``). ``size`` None (or -1) means up to the end of memory.

        Unlike wasmtime-py, the range is checked: IndexError if it leaves the memory.
        """
        mi = self._mem(store)
        length = mi.data_len
        if size is None or size == -1:
            size = length - offset
        if offset < 0 or size < 0 or offset + size > length:
            raise IndexError("index out of range")
        view = mi.view
        if size == 0:
            return (ctypes.c_ubyte * 0)()
        return (ctypes.c_ubyte * size).from_buffer(view, offset)

    def read(self, store: Any, start: int | None = 0, stop: int | None = None) -> bytearray:
        """A copy of bytes ``[start:stop]``, with list-slice semantics (negative
        indices count from the end; out-of-range bounds are clipped)."""
        return bytearray(self._mem(store).view[start:stop])

    def write(self, store: Any, value: Any, start: int | None = None) -> int:
        """Copy ``value`` (bytes-like) into memory at ``start`` (negative: from the end).

        Returns the number of bytes written; IndexError if it does not fit.
        """
        mi = self._mem(store)
        size = mi.data_len
        begin = slice(start, None).indices(size)[0]
        if begin >= size:
            raise IndexError("index out of range")
        if not isinstance(value, (bytes, bytearray)):
            value = bytearray(value)
        n = len(value)
        if n == 0:
            return 0
        if begin + n > size:
            raise IndexError("index out of range")
        mi.view[begin : begin + n] = value
        return n

    def buffer(self, store: Any) -> memoryview:
        """A zero-copy, writable ``memoryview`` of the whole memory as it is now
        (not in wasmtime-py).

        After the memory grows the view still covers only the old size; take a new
        one to see the new pages. Where memory is not mmap-backed (Windows), an old
        view no longer refers to the memory after growth.
        """
        return self._mem(store).view

    def __repr__(self) -> str:
        return f"<Memory {self._ext.pages} pages>"


class SharedMemory:
    """A memory shared between threads: not supported yet (nanoproc has no threads)."""

    def __init__(self, engine: Engine, ty: MemoryType) -> None:
        raise UnsupportedFeature("shared memory", "the threads proposal is not implemented")
