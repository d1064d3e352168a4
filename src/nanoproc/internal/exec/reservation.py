"""Address-space reservations for linear memories, recycled through a small pool.

A memory reserves its whole range once (``mmap`` with MAP_NORESERVE: virtual
space only, zero pages committed on first touch), so its base never moves. On
Linux, mapping and unmapping 4 GiB costs two system calls and the page tables'
teardown, about half of what creating a store and a small instance costs, so a
released reservation goes back to a pool instead. A range whose memory touched
at most ZERO_BY_WRITING bytes keeps its pages and is zeroed when handed out again
(a memset, cheaper than faulting pages back in); a larger one
has its touched pages dropped at once with ``madvise(MADV_DONTNEED)``, after which
Linux guarantees a private anonymous page reads zero. Either way the next memory
of that size starts as clean as from a fresh ``mmap``.

A reservation is released only when nothing can reach its bytes any more: the
memory's views are exported by a ctypes array over the range, and the range is
queued for release by that array's weak-reference callback, which runs only after
the memory object and every ``memoryview`` derived from it (the host's included)
have gone. The callback is ``list.append`` (C code, no Python frame): it may run
inside any allocation, also at the bottom of a recursion at Python's limit (the
interp tier's stack overflow), where calling a Python function fails. The queue
is emptied (pages dropped, ranges pooled) by the next :func:`reserve` and by
:func:`drain`, which every new store calls. Elsewhere than Linux the module answers None and memories
use Python's ``mmap`` directly, without a pool.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
import weakref
from typing import Any

POOL_PER_SIZE = 32
"""Released reservations kept per size; more are unmapped."""

ZERO_BY_WRITING = 256 * 1024
"""Up to this many touched bytes, a released range is zeroed by writing zeros (its
pages stay committed, at most this much per pooled range)."""

_MADV_DONTNEED = 4
_MAP_NORESERVE = 0x4000
_ENABLED = sys.platform.startswith("linux") and hasattr(mmap, "MAP_ANONYMOUS")

_libc: Any = None
_pool: dict[int, list[tuple[int, int]]] = {}
"""size -> [(address, bytes still to zero)] of released ranges."""
_live: dict[int, tuple[weakref.ReferenceType[Any], int, int, list[int]]] = {}
"""id(weakref) -> (weakref, address, size, [high-water bytes]) of every reservation
in use (holding the weak reference keeps its callback alive)."""
_types: dict[int, Any] = {}


def _load_libc() -> Any:
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mmap.restype = ctypes.c_void_p
        lib.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                             ctypes.c_int, ctypes.c_long]  # fmt: skip
        lib.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        _libc = lib
    return _libc


def _arena_type(size: int) -> Any:
    t = _types.get(size)
    if t is None:
        # A subclass, because ctypes' own array types take no weak references.
        t = _types[size] = type(f"Reservation{size}", (ctypes.c_char * size,), {})
    return t


class Reservation:
    """A reserved range: ``buffer`` exports its bytes, ``view`` is all of them as
    unsigned bytes, ``address`` is its base."""

    __slots__ = ("buffer", "view", "address", "high_water")

    def __init__(self, buffer: Any, view: memoryview, address: int,
                 high_water: list[int]) -> None:
        self.buffer = buffer
        self.view = view
        self.address = address
        self.high_water = high_water
        """One-element list: bytes that may have been touched (the memory's largest size)."""


_memset = ctypes.memset


def reserve(nbytes: int) -> Reservation | None:
    """A zero-filled range of ``nbytes`` (from the pool when one is free), or None
    where this module does not apply or the address space is exhausted."""
    if not _ENABLED or nbytes <= 0:
        return None
    if _released:
        drain()
    free = _pool.get(nbytes)
    dirty = 0
    if free:
        address, dirty = free.pop()
        if dirty:
            # A pooled range keeps the bytes its last memory wrote until handed out
            # again (nothing can reach them meanwhile); zeroed here (memset: cheaper
            # than a copy from the zero page, or than faulting pages back in).
            _memset(address, 0, dirty)
    else:
        libc = _load_libc()
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
        address = libc.mmap(None, nbytes, mmap.PROT_READ | mmap.PROT_WRITE, flags, -1, 0)
        if address is None or address == ctypes.c_void_p(-1).value:
            return None
    buffer = (_types.get(nbytes) or _arena_type(nbytes)).from_address(address)
    view = memoryview(buffer).cast("B")
    high_water = [0]
    ref = weakref.ref(buffer, _released.append)
    _live[id(ref)] = (ref, address, nbytes, high_water)  # keeps the callback alive
    return Reservation(buffer, view, address, high_water)


_released: list[weakref.ReferenceType[Any]] = []
"""Weak references whose buffers died, waiting for :func:`drain`."""


def drain() -> None:
    """Release every reservation whose memory has gone: pool it, to be zeroed when
    handed out again (or unmap it when the pool is full)."""
    pop = _live.pop
    while _released:
        entry = pop(id(_released.pop()), None)
        if entry is None:
            continue
        _, address, nbytes, high_water = entry
        free = _pool.get(nbytes)
        if free is None:
            free = _pool[nbytes] = []
        used = high_water[0]
        if 0 <= used <= ZERO_BY_WRITING and len(free) < POOL_PER_SIZE and used <= nbytes:
            free.append((address, used))  # zeroed by reserve: cheaper than faulting pages in
        else:
            _release(address, nbytes, used, free)


def _release(address: int, nbytes: int, used: int, free: list[tuple[int, int]]) -> None:
    """Pool a range with more than ZERO_BY_WRITING touched bytes (dropping them), or
    unmap it when the pool is full."""
    libc = _libc
    # Clamped: a bad high-water mark must never make a pooled range unusable.
    used = min(max(used, 0), nbytes)
    if len(free) >= POOL_PER_SIZE:
        libc.munmap(address, nbytes)
    elif used <= ZERO_BY_WRITING:
        free.append((address, used))
    elif libc.madvise(address, used, _MADV_DONTNEED) == 0:
        free.append((address, 0))
    else:
        libc.munmap(address, nbytes)


def pooled() -> int:
    """Reservations waiting in the pool (for tests)."""
    drain()
    return sum(len(v) for v in _pool.values())
