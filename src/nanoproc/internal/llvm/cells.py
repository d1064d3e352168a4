"""Memories and globals as native code sees them, kept one with the Python objects.

A memory's MemCell holds its base address and byte size. The memory reserves its
address range once (see exec.memory), so the base never moves; the cell's size is
updated by a listener the memory calls after every growth, whoever grows it (Wasm
code, the host, WASI), and so is the base for the rare memory that could not
reserve address space and moves when it grows.

A global's value lives in an 8-byte native cell (16 bytes for a v128). Its GlobalInst becomes a
:class:`NativeGlobalInst` (same layout, so ``__class__`` can be switched in place)
whose ``value`` property reads and writes the cell, converting between the runtime
representation and the native one; everyone else keeps using ``gi.value``.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any

from ..exec.entities import GlobalInst
from ..exec.memory import MemoryInst
from ..exec.values import MASK32, MASK64, f32_from_bits, f32_to_bits
from . import abi
from .nativestore import NativeStore
from .refs import py_letter


class MemCell:
    """The native view of one memory (shared by every instance using it)."""

    def __init__(self, mem: MemoryInst) -> None:
        self.cell = abi.array(ctypes.c_uint64, 2)()
        self.address = ctypes.addressof(self.cell)
        self.stable = mem.stable_base
        self._mem = weakref.ref(mem)
        self.update(mem.view)
        # held strongly when the memory has no owner listener yet (the cell refers
        # to the memory weakly: no cycle), which saves a WeakMethod per memory
        mem.bind(self.update, owner=True)

    def update(self, view: memoryview) -> None:
        mem = self._mem()
        if mem is None:
            return
        size = mem.data_len
        self.cell[abi.MEM_BASE // 8] = mem.address() if size or self.stable else 0
        self.cell[abi.MEM_SIZE // 8] = size


def mem_cell(ns: NativeStore, mem: MemoryInst) -> int:
    """Address of ``mem``'s MemCell (created on first use)."""
    cell = ns.mem_cells.get(id(mem))
    if cell is None or cell._mem() is not mem:
        cell = MemCell(mem)
        ns.mem_cells[id(mem)] = cell
        ns.keep.append(mem)  # the id stays unique while the store lives
    return cell.address  # type: ignore[no-any-return]


# ---------------------------------------------------------------- globals
_slot: Any = GlobalInst.__dict__["value"]  # the base class's member descriptor (the real storage)


class GlobalCell:
    """What a NativeGlobalInst keeps in its ``value`` slot."""

    __slots__ = ("cell", "address", "letter", "ns", "obj")

    def __init__(self, letter: str, ns: NativeStore) -> None:
        self.cell = abi.array(ctypes.c_uint64, 2 if letter == "V" else 1)()
        self.address = ctypes.addressof(self.cell)
        self.letter = letter
        self.ns = ns
        self.obj: Any = None
        """For reference globals: the object itself (keeps it alive)."""

    def get(self) -> Any:
        k = self.letter
        raw = self.cell[0]
        if k == "i":
            return raw & MASK32
        if k == "I":
            return raw
        if k == "f":
            return f32_from_bits(raw & MASK32)
        if k == "F":
            return ctypes.c_double.from_buffer(self.cell).value
        if k == "r":
            return self.ns.func_of(raw)
        if k == "V":
            return raw | (self.cell[1] << 64)
        return self.obj

    def set(self, v: Any) -> None:
        k = self.letter
        if k in "iI":
            self.cell[0] = v
        elif k == "f":
            self.cell[0] = f32_to_bits(v)
        elif k == "F":
            ctypes.c_double.from_buffer(self.cell).value = v
        elif k == "r":
            self.cell[0] = self.ns.func_handle(v)
        elif k == "e":
            self.obj = v
            self.cell[0] = self.ns.exn_handle(v)
        elif k == "V":
            self.cell[0] = v & MASK64
            self.cell[1] = v >> 64
        else:
            self.ns.pin(self.obj)
            self.obj = v
            self.cell[0] = self.ns.any_handle(v) if k == "a" else self.ns.obj_handle(v)


class NativeGlobalInst(GlobalInst):
    """A GlobalInst whose value lives in a native cell."""

    __slots__ = ()

    @property  # type: ignore[override]
    def value(self) -> Any:
        return _slot.__get__(self).get()

    @value.setter
    def value(self, v: Any) -> None:
        _slot.__get__(self).set(v)


def global_cell(ns: NativeStore, gi: GlobalInst, letter: str | None = None) -> int:
    """Address of ``gi``'s native cell, moving its value there on first use
    (``letter``: its type's :func:`py_letter`, when the caller knows it)."""
    if isinstance(gi, NativeGlobalInst):
        return _slot.__get__(gi).address  # type: ignore[no-any-return]
    value = gi.value
    cell = GlobalCell(letter or py_letter(gi.type.type), ns)
    if cell.letter == "e":
        ns.heap.add_root(cell.address, abi.ROOT_CELL)
    cell.set(value)
    _slot.__set__(gi, cell)
    gi.__class__ = NativeGlobalInst
    return cell.address
