"""WebAssembly 3.0 types (spec chapter 2.3, "Types").

Value types are small immutable objects. Number and vector types are singletons,
so hot code (the validator, the translators) can compare them with ``is``; reference
types compare by value. A heap type is either an abstract name (a ``str`` such as
``"func"`` or ``"any"``) or a concrete type index (an ``int``) into the module's
type section.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NumType:
    """A number or vector type: i32, i64, f32, f64, v128."""

    name: str

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


@dataclass(frozen=True, slots=True)
class RefType:
    """``(ref null? heap)``."""

    nullable: bool
    heap: HeapType

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


@dataclass(frozen=True, slots=True)
class PackedType:
    """A packed storage type, only valid as a struct or array field: i8, i16."""

    name: str

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


@dataclass(frozen=True, slots=True)
class FieldType:
    storage: StorageType
    mutable: bool = False


@dataclass(frozen=True, slots=True)
class FuncType:
    params: tuple[ValType, ...] = ()
    results: tuple[ValType, ...] = ()

    def __str__(self) -> str:
        p = " ".join(map(str, self.params))
        r = " ".join(map(str, self.results))
        return f"[{p}] -> [{r}]"


@dataclass(frozen=True, slots=True)
class StructType:
    fields: tuple[FieldType, ...] = ()


@dataclass(frozen=True, slots=True)
class ArrayType:
    field: FieldType


CompType = FuncType | StructType | ArrayType


@dataclass(frozen=True, slots=True)
class SubType:
    """A type definition: ``(sub final? supertype* comptype)``.

    A plain ``(type (func ...))`` is ``SubType(final=True, supers=(), ...)``.
    ``supers`` are type indices within the defining module.
    """

    comp: CompType
    final: bool = True
    supers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RecType:
    """A recursion group. A lone type definition is a group of one.

    ``explicit`` records whether the source wrote ``(rec ...)`` (binary 0x4E) for a
    group of one, so the encoder reproduces the bytes.
    """

    subtypes: tuple[SubType, ...]
    explicit: bool = False


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits of a memory or table. ``addr64`` marks memory64/table64 (i64 addresses)."""

    min: int
    max: int | None = None
    addr64: bool = False
    shared: bool = False
    page_size_log2: int | None = None

    @property
    def addr_type(self) -> NumType:
        return I64 if self.addr64 else I32


@dataclass(frozen=True, slots=True)
class MemType:
    limits: Limits

    @property
    def page_size(self) -> int:
        p = self.limits.page_size_log2
        return 65536 if p is None else 1 << p


@dataclass(frozen=True, slots=True)
class TableType:
    elem: RefType
    limits: Limits


@dataclass(frozen=True, slots=True)
class GlobalType:
    type: ValType
    mutable: bool = False


@dataclass(frozen=True, slots=True)
class TagType:
    """An exception tag; ``typeidx`` names a function type with empty results."""

    typeidx: int


BlockType = NumType | RefType | int | None
"""Block type: None (empty), a single result value type, or a type index."""


# Names of external kinds, as used by imports and exports.
EXTERN_KINDS = ("func", "table", "memory", "global", "tag")

