"""Structs and arrays of the interp tier: plain Python objects, freed by CPython.

Each canonical struct type gets a class with one slot per field (``f0``, ``f1``,
...), each canonical array type a class with one slot ``a`` holding the elements in
a list. Generated code allocates with ``object.__new__(cls)`` and sets the slots,
reads ``obj.f3``/``obj.a[i]``, and tests types on the class: ``cid`` is the
canonical id and ``supers`` every canonical type it matches. Reference counting
frees unreachable objects at once and CPython's cycle collector frees cycles, so
the tier needs no collector of its own.

Values are stored as the runtime represents them (:mod:`..exec.values`,
:mod:`..exec.gcref`); packed fields hold the unsigned i8/i16 bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..exec.gcref import ArrayRef, StructRef
from ..exec.gctypes import (
    MAX_ARRAY_LENGTH,
    array_field,
    default_of,
    packed_mask,
    struct_fields,
    supers,
)
from ..exec.trap import Trap, TrapCode

new = object.__new__

_STRUCTS: dict[int, type] = {}
_ARRAYS: dict[int, type] = {}


def struct_class(cid: int) -> type:
    """The class of structs of canonical type ``cid`` (made once per process)."""
    cls = _STRUCTS.get(cid)
    if cls is None:
        fields = struct_fields(cid)
        ns = {
            "__slots__": tuple(f"f{i}" for i in range(len(fields))),
            "cid": cid,
            "supers": supers(cid),
            "defaults": tuple(default_of(f.storage) for f in fields),
            "masks": tuple(packed_mask(f.storage) for f in fields),
        }
        cls = _STRUCTS.setdefault(cid, type(f"Struct{cid}", (StructRef,), ns))
    return cls


def array_class(cid: int) -> type:
    """The class of arrays of canonical type ``cid`` (made once per process)."""
    cls = _ARRAYS.get(cid)
    if cls is None:
        f = array_field(cid)
        ns = {
            "__slots__": ("a",),
            "cid": cid,
            "supers": supers(cid),
            "default": default_of(f.storage),
            "mask": packed_mask(f.storage),
        }
        cls = _ARRAYS.setdefault(cid, type(f"Array{cid}", (ArrayRef,), ns))
    return cls


def new_struct(cls: Any, values: Sequence[Any]) -> Any:
    obj = new(cls)
    for i, (v, m) in enumerate(zip(values, cls.masks)):
        setattr(obj, f"f{i}", v & m if m else v)
    return obj


def new_array(cls: Any, elems: list[Any]) -> Any:
    """An array holding ``elems`` (already masked; the list is taken over)."""
    if len(elems) > MAX_ARRAY_LENGTH:
        raise Trap.of(TrapCode.ALLOCATION_TOO_LARGE)
    obj = new(cls)
    obj.a = elems
    return obj


class InterpHeap:
    """What the runtime core asks of the tier's GC (constant expressions)."""

    @staticmethod
    def new_struct(cid: int, values: Sequence[Any]) -> Any:
        return new_struct(struct_class(cid), values)

    @staticmethod
    def new_array(cid: int, elems: Sequence[Any]) -> Any:
        cls: Any = array_class(cid)
        m = cls.mask
        return new_array(cls, [v & m for v in elems] if m else list(elems))


HEAP = InterpHeap()
