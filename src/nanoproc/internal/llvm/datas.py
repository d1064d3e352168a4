"""Passive data segments shared by native code and ``ModuleInstance.datas``.

Native code reads a segment through its vmctx slot (address, length) and drops it
by storing length 0; other code of the same instance (a frame of another tier still
running after a tier switch, a helper) reads and drops ``inst.datas``. Both must see
one state: a segment dropped on either side is dropped for both, and a segment
dropped before the instance was bound to native code stays dropped.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from typing import Any


class NativeDatas(list):  # type: ignore[type-arg]
    """``inst.datas`` once the instance has native slots: indexing answers ``b""``
    for a segment native code dropped; assigning ``b""`` (data.drop) drops the
    native slot too."""

    __slots__ = ("vm", "off")

    def __init__(self, items: Iterable[bytes], vm: Any, off: int) -> None:
        super().__init__(items)
        self.vm = vm
        self.off = off

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, int) and 0 <= i and not self.vm[self.off + 2 * i + 1]:
            return b""
        return list.__getitem__(self, i)

    def __setitem__(self, i: Any, value: Any) -> None:
        list.__setitem__(self, i, value)
        if isinstance(i, int) and not value:
            self.vm[self.off + 2 * (i % len(self)) + 1] = 0


def bind_datas(inst: Any, segments: list[Any], vm: Any, off: int) -> list[Any]:
    """Fill the vmctx data slots from the instance's current segments (``inst.datas``
    as far as it is filled; a passive segment's init beyond, at instantiation) and
    make ``inst.datas`` follow the slots. Returns the buffers to keep alive."""
    if not segments:  # nothing to follow (the usual small module)
        return []
    current = list(inst.datas)
    keep = []
    for d, seg in enumerate(segments):
        if d < len(current):
            data = bytes(current[d])
        else:
            data = bytes(seg.init) if seg.mode == "passive" else b""
        if data:
            buf = ctypes.create_string_buffer(data, len(data))
            keep.append(buf)
            vm[off + 2 * d] = ctypes.addressof(buf)
            vm[off + 2 * d + 1] = len(data)
    inst.datas = NativeDatas(current, vm, off)
    return keep



