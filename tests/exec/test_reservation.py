"""Pooled memory reservations: a recycled range is zero and never shared while
anything can still reach the old memory's bytes."""

from __future__ import annotations

import gc
import sys
import types

import pytest

from nanoproc.internal.exec import reservation
from nanoproc.internal.exec.memory import MemoryInst
from nanoproc.internal.syntax.types import Limits, MemType

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="pooled reservations are Linux-only")


def _mem(pages: int = 1, maximum: int | None = None) -> MemoryInst:
    return MemoryInst(MemType(Limits(pages, maximum, False, False, None)))


@pytest.mark.parametrize("grow", [0, 1, 8])  # 8 pages: past the write-zeros threshold
def test_recycled_range_reads_zero(grow: int) -> None:
    m = _mem(1, 1000)
    m.grow(grow)
    address = m.address()
    size = m.data_len
    m.view[:] = b"\xab" * size
    del m
    gc.collect()
    again = _mem(1, 1000)
    assert again.address() == address, "the released range should be reused"
    again.grow(grow)
    assert again.view.tobytes() == bytes(size)


def test_a_live_view_keeps_the_range() -> None:
    m = _mem(1, 50)
    view = m.view
    address = m.address()
    del m
    gc.collect()
    other = _mem(1, 50)
    assert other.address() != address
    other.view[:4] = b"\x01\x02\x03\x04"
    view[:4] = b"\xff\xff\xff\xff"  # the old bytes: still its own, not the new tenant's
    assert other.view[:4].tobytes() == b"\x01\x02\x03\x04"
    del view
    gc.collect()
    assert _mem(1, 50).address() == address


def test_pool_is_bounded() -> None:
    mems = [_mem(1, 7) for _ in range(reservation.POOL_PER_SIZE + 5)]
    del mems
    gc.collect()
    assert reservation.pooled() <= reservation.POOL_PER_SIZE * len(reservation._pool)
    assert len(reservation._pool[7 * 65536]) == reservation.POOL_PER_SIZE


def test_release_needs_no_python_frame() -> None:
    """The release callback runs inside allocations, also at the recursion limit
    (the interp tier's stack overflow), where calling a Python function raises: it
    must be C code (a list's append), and the queue is emptied by the next reserve."""
    m = _mem(1, 3)
    address = m.address()
    ref = next(entry[0] for entry in reservation._live.values() if entry[1] == address)
    assert isinstance(ref.__callback__, types.BuiltinMethodType)
    m.view[:4] = b"\x01\x02\x03\x04"
    del m
    gc.collect()
    assert any(r is ref for r in reservation._released)
    again = _mem(1, 3)
    assert again.address() == address
    assert again.view[:4].tobytes() == bytes(4)
