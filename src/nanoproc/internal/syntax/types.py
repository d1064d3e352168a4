"""WebAssembly 3.0 types (spec chapter 2.3, "Types").

Value types are small immutable objects. Number and vector types are singletons,
so hot code (the validator, the translators) can compare them with ``is``; reference
types compare by value. A heap type is either an abstract name (a ``str`` such as
``"func"`` or ``"any"``) or a concrete type index (an ``int``) into the module's
type section.
"""

from __future__ import annotations

from typing import Any

from ..records import Frozen

_set = object.__setattr__
# The classes below are frozen records written out by hand (see ..records): each
# keeps the fields, order, defaults, equality, hash and repr of the frozen, slotted
# dataclass it was.


class NumType(Frozen):
    """A number or vector type: i32, i64, f32, f64, v128."""

    __slots__ = ("name",)
    __match_args__ = ("name",)
    name: str

    def __init__(self, name: str) -> None:
        _set(self, "name", name)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return self.name == other.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name,))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name.upper()


I32 = NumType("i32")
I64 = NumType("i64")
F32 = NumType("f32")
F64 = NumType("f64")
V128 = NumType("v128")

NUM_TYPES: dict[str, NumType] = {t.name: t for t in (I32, I64, F32, F64, V128)}

# Abstract heap types, grouped by hierarchy (top first, bottom last).
FUNC_HIERARCHY = ("func", "nofunc")
EXTERN_HIERARCHY = ("extern", "noextern")
ANY_HIERARCHY = ("any", "eq", "i31", "struct", "array", "none")
EXN_HIERARCHY = ("exn", "noexn")
ABSTRACT_HEAP_TYPES = frozenset(
    FUNC_HIERARCHY + EXTERN_HIERARCHY + ANY_HIERARCHY + EXN_HIERARCHY
)

HeapType = str | int
"""An abstract heap type name, or a concrete type index."""


class RefType(Frozen):
    """``(ref null? heap)``."""

    __slots__ = ("nullable", "heap")
    __match_args__ = ("nullable", "heap")
    nullable: bool
    heap: HeapType

    def __init__(self, nullable: bool, heap: HeapType) -> None:
        _set(self, "nullable", nullable)
        _set(self, "heap", heap)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.nullable, self.heap) == (other.nullable, other.heap)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.nullable, self.heap))

    def __str__(self) -> str:
        ht = self.heap if isinstance(self.heap, str) else str(self.heap)
        if self.nullable and isinstance(self.heap, str):
            short = SHORTHAND_NAMES.get(self.heap)
            if short:
                return short
        return f"(ref {'null ' if self.nullable else ''}{ht})"


ValType = NumType | RefType

FUNCREF = RefType(True, "func")
EXTERNREF = RefType(True, "extern")
ANYREF = RefType(True, "any")
EQREF = RefType(True, "eq")
I31REF = RefType(True, "i31")
STRUCTREF = RefType(True, "struct")
ARRAYREF = RefType(True, "array")
NULLREF = RefType(True, "none")
NULLFUNCREF = RefType(True, "nofunc")
NULLEXTERNREF = RefType(True, "noextern")
EXNREF = RefType(True, "exn")
NULLEXNREF = RefType(True, "noexn")

SHORTHAND_NAMES: dict[str, str] = {
    "func": "funcref",
    "extern": "externref",
    "any": "anyref",
    "eq": "eqref",
    "i31": "i31ref",
    "struct": "structref",
    "array": "arrayref",
    "none": "nullref",
    "nofunc": "nullfuncref",
    "noextern": "nullexternref",
    "exn": "exnref",
    "noexn": "nullexnref",
}
SHORTHANDS: dict[str, RefType] = {
    name: RefType(True, heap) for heap, name in SHORTHAND_NAMES.items()
}


class PackedType(Frozen):
    """A packed storage type, only valid as a struct or array field: i8, i16."""

    __slots__ = ("name",)
    __match_args__ = ("name",)
    name: str

    def __init__(self, name: str) -> None:
        _set(self, "name", name)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return self.name == other.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name,))

    @property
    def bits(self) -> int:
        return 8 if self.name == "i8" else 16

    def __str__(self) -> str:
        return self.name


I8 = PackedType("i8")
I16 = PackedType("i16")

StorageType = NumType | RefType | PackedType


def unpacked(t: StorageType) -> ValType:
    """The value type a storage type holds on the operand stack."""
    return I32 if isinstance(t, PackedType) else t


class FieldType(Frozen):
    __slots__ = ("storage", "mutable")
    __match_args__ = ("storage", "mutable")
    storage: StorageType
    mutable: bool

    def __init__(self, storage: StorageType, mutable: bool = False) -> None:
        _set(self, "storage", storage)
        _set(self, "mutable", mutable)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.storage, self.mutable) == (other.storage, other.mutable)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.storage, self.mutable))


class FuncType(Frozen):
    __slots__ = ("params", "results")
    __match_args__ = ("params", "results")
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]

    def __init__(self, params: tuple[ValType, ...] = (), results: tuple[ValType, ...] = ()) -> None:
        _set(self, "params", params)
        _set(self, "results", results)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.params, self.results) == (other.params, other.results)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.params, self.results))

    def __str__(self) -> str:
        p = " ".join(map(str, self.params))
        r = " ".join(map(str, self.results))
        return f"[{p}] -> [{r}]"


class StructType(Frozen):
    __slots__ = ("fields",)
    __match_args__ = ("fields",)
    fields: tuple[FieldType, ...]

    def __init__(self, fields: tuple[FieldType, ...] = ()) -> None:
        _set(self, "fields", fields)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return self.fields == other.fields
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.fields,))


class ArrayType(Frozen):
    __slots__ = ("field",)
    __match_args__ = ("field",)
    field: FieldType

    def __init__(self, field: FieldType) -> None:
        _set(self, "field", field)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return self.field == other.field
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.field,))


CompType = FuncType | StructType | ArrayType


class SubType(Frozen):
    """A type definition: ``(sub final? supertype* comptype)``.

    A plain ``(type (func ...))`` is ``SubType(final=True, supers=(), ...)``.
    ``supers`` are type indices within the defining module.
    """

    __slots__ = ("comp", "final", "supers")
    __match_args__ = ("comp", "final", "supers")
    comp: CompType
    final: bool
    supers: tuple[int, ...]

    def __init__(self, comp: CompType, final: bool = True, supers: tuple[int, ...] = ()) -> None:
        _set(self, "comp", comp)
        _set(self, "final", final)
        _set(self, "supers", supers)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.comp, self.final, self.supers) == (
                other.comp, other.final, other.supers)  # fmt: skip
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.comp, self.final, self.supers))


class RecType(Frozen):
    """A recursion group. A lone type definition is a group of one.

    ``explicit`` records whether the source wrote ``(rec ...)`` (binary 0x4E) for a
    group of one, so the encoder reproduces the bytes.
    """

    __slots__ = ("subtypes", "explicit")
    __match_args__ = ("subtypes", "explicit")
    subtypes: tuple[SubType, ...]
    explicit: bool

    def __init__(self, subtypes: tuple[SubType, ...], explicit: bool = False) -> None:
        _set(self, "subtypes", subtypes)
        _set(self, "explicit", explicit)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.subtypes, self.explicit) == (other.subtypes, other.explicit)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.subtypes, self.explicit))


class Limits(Frozen):
    """Limits of a memory or table. ``addr64`` marks memory64/table64 (i64 addresses)."""

    __slots__ = ("min", "max", "addr64", "shared", "page_size_log2")
    __match_args__ = ("min", "max", "addr64", "shared", "page_size_log2")
    min: int
    max: int | None
    addr64: bool
    shared: bool
    page_size_log2: int | None

    def __init__(self, min: int, max: int | None = None, addr64: bool = False,
                 shared: bool = False, page_size_log2: int | None = None) -> None:  # fmt: skip
        _set(self, "min", min)
        _set(self, "max", max)
        _set(self, "addr64", addr64)
        _set(self, "shared", shared)
        _set(self, "page_size_log2", page_size_log2)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.min, self.max, self.addr64, self.shared, self.page_size_log2) == (
                other.min, other.max, other.addr64, other.shared, other.page_size_log2)  # fmt: skip
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.min, self.max, self.addr64, self.shared, self.page_size_log2))

    @property
    def addr_type(self) -> NumType:
        return I64 if self.addr64 else I32


class MemType(Frozen):
    __slots__ = ("limits",)
    __match_args__ = ("limits",)
    limits: Limits

    def __init__(self, limits: Limits) -> None:
        _set(self, "limits", limits)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return self.limits == other.limits
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.limits,))

    @property
    def page_size(self) -> int:
        p = self.limits.page_size_log2
        return 65536 if p is None else 1 << p


class TableType(Frozen):
    __slots__ = ("elem", "limits")
    __match_args__ = ("elem", "limits")
    elem: RefType
    limits: Limits

    def __init__(self, elem: RefType, limits: Limits) -> None:
        _set(self, "elem", elem)
        _set(self, "limits", limits)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.elem, self.limits) == (other.elem, other.limits)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.elem, self.limits))


class GlobalType(Frozen):
    __slots__ = ("type", "mutable")
    __match_args__ = ("type", "mutable")
    type: ValType
    mutable: bool

    def __init__(self, type: ValType, mutable: bool = False) -> None:
        _set(self, "type", type)
        _set(self, "mutable", mutable)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.type, self.mutable) == (other.type, other.mutable)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.type, self.mutable))


class TagType(Frozen):
    """An exception tag; ``typeidx`` names a function type with empty results."""

    __slots__ = ("typeidx",)
    __match_args__ = ("typeidx",)
    typeidx: int

    def __init__(self, typeidx: int) -> None:
        _set(self, "typeidx", typeidx)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return self.typeidx == other.typeidx
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.typeidx,))


BlockType = NumType | RefType | int | None
"""Block type: None (empty), a single result value type, or a type index."""


# Names of external kinds, as used by imports and exports.
EXTERN_KINDS = ("func", "table", "memory", "global", "tag")

