"""Linear memory, shared by every tier and by the host.

Where the OS allows, a memory reserves its whole address range once (an anonymous
``mmap`` with MAP_NORESERVE: virtual space only, zero-filled pages committed on
first touch), so its base address never moves: native code keeps one pointer and
Python code can hold zero-copy views across ``memory.grow``. Tiers and the host see
the memory through :attr:`MemoryInst.view`, a ``memoryview`` exactly as long as the
current size, so Python slicing and ``struct`` calls bounds-check for free; after a
grow, the memory hands a new view to every listener bound to it.

Without a usable ``mmap`` the memory falls back to a ``bytearray`` copied on growth.
"""

from __future__ import annotations

import mmap
import sys
import weakref
from collections.abc import Callable
from types import MethodType
from typing import Any

from ..syntax.types import MemType
from . import reservation
from .store import StoreState

WASM_PAGE = 65536
MAX_PAGES_32 = 65536
MAX_PAGES_64 = 1 << 48

RESERVE_CAP = 8 << 30
"""Largest address range reserved for one memory (bytes). A memory64 may not grow
beyond it; memory.grow then returns -1, which the spec allows."""

_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else 0)
_USE_MMAP = sys.platform != "win32" and hasattr(mmap, "MAP_ANONYMOUS")


def _reserve(nbytes: int) -> mmap.mmap | None:
    """Python's own mmap: where the pooled reservations do not apply."""
    if not _USE_MMAP or nbytes == 0:
        return None
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
    try:
        return mmap.mmap(-1, nbytes, flags=flags)
    except (OSError, OverflowError, ValueError):
        return None


def memory_facts(mtype: MemType) -> tuple[int, int, int]:
    """(page size, most pages, bytes to reserve) of a memory type: what every
    instance of it needs, computed once per module by instantiation's plan."""
    lim = mtype.limits
    page_size = mtype.page_size
    spec_max = (MAX_PAGES_64 if lim.addr64 else MAX_PAGES_32) * WASM_PAGE // page_size
    max_pages = spec_max if lim.max is None else min(lim.max, spec_max)
    return page_size, max_pages, min(max_pages * page_size, RESERVE_CAP)


class MemoryInst:
    """A linear memory instance."""

    __slots__ = (
        "type", "page_size", "pages", "max_pages", "addr64", "store",
        "_mm", "_res", "_buf", "view", "_listeners", "_held", "__weakref__",
    )  # fmt: skip

    def __init__(self, mtype: MemType, store: StoreState | None = None,
                 facts: tuple[int, int, int] | None = None) -> None:
        if facts is None:
            facts = memory_facts(mtype)
        page_size, max_pages, reserve = facts
        lim = mtype.limits
        self.type = mtype
        self.page_size = page_size
        self.addr64 = lim.addr64
        self.store = store
        self.max_pages = max_pages
        self.pages = lim.min
        initial = lim.min * page_size
        if store is not None and (store.limiter is not None or store.limits.memory_size is not None) \
                and not store.allow_memory(0, initial, max_pages * page_size):  # fmt: skip
            from ..errors import WasmtimeError

            raise WasmtimeError(
                f"memory minimum size of {lim.min} pages exceeds memory limits"
            )
        if initial > reserve:
            from ..errors import WasmtimeError

            raise WasmtimeError(f"memory of {lim.min} pages is larger than nanoproc can reserve")
        self._listeners: list[weakref.ReferenceType[Callable[[memoryview], None]]] = []
        self._held: Callable[[memoryview], None] | None = None
        res = self._res = reservation.reserve(reserve)
        if res is not None:
            res.high_water[0] = initial
            self._mm: Any = res.buffer
        else:
            self._mm = _reserve(reserve)
        self._buf: bytearray | None = None if self._mm is not None else bytearray(initial)
        self.view = res.view[:initial] if res is not None else self._make_view()

    def _max_bytes(self) -> int:
        return self.max_pages * self.page_size

    def _make_view(self) -> memoryview:
        size = self.pages * self.page_size
        if self._res is not None:
            return self._res.view[:size]
        if self._mm is not None:
            return memoryview(self._mm).cast("B")[:size]
        assert self._buf is not None
        return memoryview(self._buf)

    # ------------------------------------------------------------ size
    @property
    def data_len(self) -> int:
        return self.pages * self.page_size

    @property
    def reserved(self) -> int:
        """Bytes the memory can ever grow to without moving."""
        return len(self._mm) if self._mm is not None else self.data_len

    @property
    def stable_base(self) -> bool:
        """True when the base address never moves (mmap reservation)."""
        return self._mm is not None

    def grow(self, delta: int) -> int:
        """Grow by ``delta`` pages; the old size in pages, or -1 (the spec's failure)."""
        old = self.pages
        new = old + delta
        if delta < 0 or new > self.max_pages:
            return -1
        new_bytes = new * self.page_size
        if self._mm is not None and new_bytes > len(self._mm):
            return -1
        if self.store is not None and not self.store.allow_memory(
            old * self.page_size, new_bytes, self._max_bytes()
        ):
            return -1
        if delta == 0:
            return old
        if self._mm is None:
            assert self._buf is not None
            grown = bytearray(new_bytes)
            grown[: len(self._buf)] = self._buf
            self._buf = grown
        self.pages = new
        if self._res is not None and new_bytes > self._res.high_water[0]:
            self._res.high_water[0] = new_bytes
        self.view = self._make_view()
        self._notify()
        return old

    # ------------------------------------------------------------ listeners
    def bind(self, listener: Callable[[memoryview], None], owner: bool = False) -> None:
        """Call ``listener(view)`` after every growth.

        Held weakly (bound methods through WeakMethod), so an instance that imported
        this memory and died does not keep receiving updates. The instance that
        defines the memory (``owner``) lives as long as it, so its one listener is
        held strongly, which saves a weak reference per instantiation.
        """
        if owner and self._held is None:
            self._held = listener
            return
        ref: weakref.ReferenceType[Callable[[memoryview], None]]
        if isinstance(listener, MethodType):  # (no failed attribute lookup per function)
            ref = weakref.WeakMethod(listener)  # type: ignore[arg-type]
        else:
            ref = weakref.ref(listener)
        self._listeners.append(ref)

    def _notify(self) -> None:
        if self._held is not None:
            self._held(self.view)
        alive = []
        for ref in self._listeners:
            fn = ref()
            if fn is not None:
                fn(self.view)
                alive.append(ref)
        self._listeners = alive

    # ------------------------------------------------------------ native access
    def address(self) -> int:
        """Base address of the memory's bytes (for native tiers and ctypes users).

        Stable for the memory's life when :attr:`stable_base`; otherwise valid only
        until the next growth.
        """
        import ctypes

        if self._res is not None:
            return self._res.address
        if self._mm is not None:
            return ctypes.addressof(ctypes.c_char.from_buffer(self._mm))
        assert self._buf is not None
        if not self._buf:
            return 0
        return ctypes.addressof(ctypes.c_char.from_buffer(self._buf))
