"""GC references as the runtime core sees them, shared by every tier.

Inside nanoproc (globals, tables, element segments, arguments and results of
``FuncInst.call``) a reference of the ``any`` hierarchy is one of:

=================  ===========================================================
null               ``None``
``i31``            a Python ``int`` in ``[0, 2**31)`` (the 31 bits, unsigned)
struct / array     an object of a :class:`StructRef` / :class:`ArrayRef` subclass
                   (the interp tier's objects, or the llvm tier's handles on its
                   native heap)
host object        :class:`HostAny` wrapping it (``any.convert_extern`` of an
                   externref that is not a GC reference)
=================  ===========================================================

A reference of the ``extern`` hierarchy is the host's Python object itself (None is
null); ``extern.convert_any`` of a GC reference gives the struct or array object
itself, or an :class:`I31` for an i31. So an externref that came from a GC reference
converts back (``any.convert_extern``) to the same reference, and any other Python
object converts to a HostAny.

Python code (the public API) sees one set of values for both hierarchies: None, an
:class:`I31`, a struct or array object, or a host object; :func:`to_public` and
:func:`from_public` convert an ``any`` reference.
"""

from __future__ import annotations

from typing import Any

I31_MASK = 0x7FFF_FFFF


class StructRef:
    """A reference to a Wasm struct (opaque; compares by identity)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<StructRef 0x{id(self):x}>"


class ArrayRef:
    """A reference to a Wasm array (opaque; compares by identity)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<ArrayRef 0x{id(self):x}>"


GC_OBJECTS = (StructRef, ArrayRef)


class I31:
    """An ``i31ref``: a 31-bit integer passed by reference type (wasmtime's ``I31``).

    ``I31(n)`` keeps the low 31 bits of ``n``; ``.value`` reads them sign-extended
    (``i31.get_s``), ``.unsigned`` zero-extended (``i31.get_u``). Equal by value.
    """

    __slots__ = ("bits",)
    bits: int

    def __init__(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("expected an integer")
        object.__setattr__(self, "bits", value & I31_MASK)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("I31 is immutable")

    @property
    def value(self) -> int:
        b = self.bits
        return b - ((b & 0x4000_0000) << 1)

    @property
    def unsigned(self) -> int:
        return self.bits

    def __eq__(self, other: object) -> bool:
        return isinstance(other, I31) and other.bits == self.bits

    def __hash__(self) -> int:
        return hash(("i31", self.bits))

    def __repr__(self) -> str:
        return f"I31({self.value})"


class HostAny:
    """A host object inside the ``any`` hierarchy (``any.convert_extern``)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __repr__(self) -> str:
        return f"HostAny({self.obj!r})"


def internalize(e: Any) -> Any:
    """``any.convert_extern``: an externref as an ``any`` reference."""
    if e is None or isinstance(e, GC_OBJECTS):
        return e
    if e.__class__ is I31:
        return e.bits
    return HostAny(e)


def externalize(a: Any) -> Any:
    """``extern.convert_any``: an ``any`` reference as an externref."""
    if a is None:
        return None
    cls = a.__class__
    if cls is int:
        return I31(a)
    if cls is HostAny:
        return a.obj
    return a


to_public = externalize
"""The Python value of an ``any`` reference: the same as its externref."""

from_public = internalize
"""The ``any`` reference of a Python value (anything not a GC reference is a host
object)."""


def matches(v: Any, heap: Any) -> bool:
    """Whether a non-null ``any`` reference (internal form) is of heap type ``heap``
    (abstract, or a canonical id): the run-time type check of casts and of values the
    host passes in."""
    cls = v.__class__
    if heap == "any":
        return True
    if cls is int:
        return heap in ("eq", "i31")
    if cls is HostAny:
        return False
    if isinstance(v, StructRef):
        kind = "struct"
    elif isinstance(v, ArrayRef):
        kind = "array"
    else:
        return False
    if isinstance(heap, int):
        from ..valid import is_subtype_canon

        return bool(is_subtype_canon(v.cid, heap))  # type: ignore[attr-defined]
    return heap in ("eq", kind)
