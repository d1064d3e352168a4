"""Tables as native code sees them: a mirror of the table's list, kept in step.

A table's ``elems`` list stays the storage Python reads (the API, instantiation, the
helpers). The llvm tier replaces it by a :class:`NativeElems`, a list subclass whose
every mutating method also updates a TableCell: an array of native handles (see
:mod:`.refs`) and the size, which native code reads for ``table.get``, ``table.size``
and ``call_indirect``. Reads stay plain list reads. When the array must grow, a new
one replaces it and the old one is kept until the store goes, so native code that
loaded the old pointer never reads freed memory.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from typing import Any, SupportsIndex

from ..exec.entities import TableInst
from . import abi
from .nativestore import NativeStore
from .refs import py_letter


class TableMirror:
    """The TableCell and handle array of one table."""

    def __init__(self, ns: NativeStore, letter: str) -> None:
        self.ns = ns
        self.letter = letter
        """How its references look natively: ``r`` funcref, ``a`` GC, ``e`` exnref
        (native copies of the list's ExnInsts, see exnheap), ``x`` extern."""
        self.funcref = letter == "r"
        self.exn = letter == "e"
        self.cell = abi.array(ctypes.c_uint64, 2)()
        self.address = ctypes.addressof(self.cell)
        self.data = abi.array(ctypes.c_uint64, 0)()
        self.capacity = 0

    def handle(self, v: Any) -> int:
        if v is None:
            return 0
        if self.funcref:
            return self.ns.func_handle(v)
        if self.letter == "a":
            return self.ns.any_handle(v)
        if self.exn:
            return self.ns.exn_handle(v)
        return self.ns.obj_handle(v)

    def resize(self, n: int) -> None:
        if n > self.capacity:
            cap = max(n, 2 * self.capacity, 8)
            new = (ctypes.c_uint64 * cap)()
            if self.capacity:
                ctypes.memmove(new, self.data, 8 * min(self.capacity, n))
            self.ns.keep.append(self.data)
            self.data = new
            self.capacity = cap
            self.cell[abi.TAB_DATA // 8] = ctypes.addressof(new)
        self.cell[abi.TAB_SIZE // 8] = n

    def write(self, start: int, values: Iterable[Any]) -> None:
        data = self.data
        if self.funcref:  # the missing records made in one go (a table of thousands)
            handles = self.ns.func_handles(list(values))
            data[start : start + len(handles)] = handles
            return
        handle = self.handle
        for i, v in enumerate(values, start):
            data[i] = handle(v)


class NativeElems(list):  # type: ignore[type-arg]
    """A table's element list that keeps its native mirror up to date."""

    __slots__ = ("mirror",)
    mirror: TableMirror

    def _sync(self, old: list[Any]) -> None:
        m = self.mirror
        for v in old:
            m.ns.pin(v)
        m.resize(len(self))
        m.write(0, self)

    def __setitem__(self, key: Any, value: Any) -> None:
        m = self.mirror
        if isinstance(key, slice):
            old = list.__getitem__(self, key)
            before = len(self)
            list.__setitem__(self, key, value)
            if len(self) == before and key.step in (None, 1):
                start = key.indices(before)[0]
                for v in old:
                    m.ns.pin(v)
                m.write(start, list.__getitem__(self, slice(start, start + len(old))))
            else:
                self._sync(old)
            return
        i = key.__index__()
        if i < 0:
            i += len(self)
        old_v = list.__getitem__(self, i)
        list.__setitem__(self, i, value)
        m.ns.pin(old_v)
        m.data[i] = m.handle(value)

    def extend(self, values: Iterable[Any]) -> None:
        values = list(values)
        start = len(self)
        list.extend(self, values)
        self.mirror.resize(len(self))
        self.mirror.write(start, values)

    def append(self, value: Any) -> None:
        self.extend([value])

    def __iadd__(self, values: Iterable[Any]) -> NativeElems:  # type: ignore[override,misc]
        self.extend(values)
        return self

    def __delitem__(self, key: Any) -> None:
        old = list(self)
        list.__delitem__(self, key)
        self._sync(old)

    def insert(self, index: SupportsIndex, value: Any) -> None:
        old = list(self)
        list.insert(self, index, value)
        self._sync(old)

    def pop(self, index: SupportsIndex = -1) -> Any:
        old = list(self)
        v = list.pop(self, index)
        self._sync(old)
        return v

    def remove(self, value: Any) -> None:
        old = list(self)
        list.remove(self, value)
        self._sync(old)

    def clear(self) -> None:
        old = list(self)
        list.clear(self)
        self._sync(old)

    def __imul__(self, n: SupportsIndex) -> NativeElems:  # type: ignore[override]
        old = list(self)
        list.__imul__(self, n)
        self._sync(old)
        return self

    def reverse(self) -> None:
        list.reverse(self)
        self._sync([])

    def sort(self, *args: Any, **kwargs: Any) -> None:
        list.sort(self, *args, **kwargs)
        self._sync([])


def table_cell(ns: NativeStore, tab: TableInst) -> int:
    """Address of ``tab``'s TableCell, mirroring its list on first use."""
    elems = tab.elems
    if isinstance(elems, NativeElems) and elems.mirror.ns is ns:
        return elems.mirror.address
    mirror = TableMirror(ns, py_letter(tab.type.elem))
    exn = mirror.exn
    native = NativeElems(elems)
    native.mirror = mirror
    if exn:
        ns.heap.add_root(mirror.address, abi.ROOT_TABLE)
    mirror.resize(len(native))
    mirror.write(0, native)
    tab.elems = native
    return mirror.address
