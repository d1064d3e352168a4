"""The validation context (spec 3.1.1, "Contexts"), in canonical types.

Everything the typing rules look up is converted once to canonical form (see
:mod:`.canon`), so the instruction checker compares types with ``==`` and the
functions of :mod:`.subtyping`, and never touches module type indices again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..syntax.module import Module
from ..syntax.types import (
    ABSTRACT_HEAP_TYPES,
    I32,
    I64,
    NUM_TYPES,
    ArrayType,
    FuncType,
    HeapType,
    NumType,
    RefType,
    StructType,
    SubType,
    ValType,
)


class Invalid(Exception):
    """Internal: a broken rule. The validator turns it into a ValidationError with a position."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.pos: int | None = None
        """Index of the offending instruction in its sequence, once known."""


@dataclass(slots=True)
class TableInfo:
    elem: RefType
    """Canonical element type."""
    addr: NumType


@dataclass(slots=True)
class Context:
    """What the typing rules of a module's definitions and code may refer to."""

    module: Module
    type_ids: list[int] = field(default_factory=list)
    """Type index -> canonical id (grows group by group while the type section is checked)."""
    defs: list[SubType] = field(default_factory=list)
    """Type index -> canonical definition."""
    funcs: list[FuncType] = field(default_factory=list)
    """Function index -> canonical function type."""
    func_type_ids: list[int] = field(default_factory=list)
    tables: list[TableInfo] = field(default_factory=list)
    mems: list[NumType] = field(default_factory=list)
    """Memory index -> address type."""
    globals: list[tuple[ValType, bool]] = field(default_factory=list)
    """Global index -> (canonical type, mutable)."""
    tags: list[FuncType] = field(default_factory=list)
    """Tag index -> canonical function type (empty results)."""
    elems: list[RefType] = field(default_factory=list)
    """Element segment index -> canonical element type."""
    ndatas: int = 0
    refs: frozenset[int] = frozenset()
    """Function indices declared outside function bodies (``ref.func`` may use them)."""
    _cache: dict[ValType, ValType] = field(default_factory=dict)

    # ------------------------------------------------------------ types
    def heap(self, h: HeapType) -> HeapType:
        """Canonical heap type of a module heap type; "unknown type" if out of range."""
        if isinstance(h, int):
            if 0 <= h < len(self.type_ids):
                return self.type_ids[h]
            raise Invalid(f"unknown type {h}")
        if h in ABSTRACT_HEAP_TYPES:
            return h
        raise Invalid(f"unknown type {h!r}")

    def val(self, t: ValType) -> ValType:
        """Canonical value type of a module value type (checks it is valid)."""
        c = self._cache.get(t)
        if c is None:
            if isinstance(t, RefType):
                c = RefType(bool(t.nullable), self.heap(t.heap))
            elif isinstance(t, NumType) and t.name in NUM_TYPES:
                c = NUM_TYPES[t.name]  # the singleton, so hot code may compare with ``is``
            else:
                raise Invalid(f"invalid value type {t!r}")
            self._cache[t] = c
        return c

    def ref(self, t: RefType) -> RefType:
        if not isinstance(t, RefType):
            raise Invalid(f"invalid reference type {t!r}")
        return self.val(t)  # type: ignore[return-value]

    def deftype(self, x: int) -> SubType:
        if isinstance(x, int) and 0 <= x < len(self.defs):
            return self.defs[x]
        raise Invalid(f"unknown type {x}")

    def functype(self, x: int) -> FuncType:
        ct = self.deftype(x).comp
        if not isinstance(ct, FuncType):
            raise Invalid(f"type mismatch: type {x} is not a function type")
        return ct

    def structtype(self, x: int) -> StructType:
        ct = self.deftype(x).comp
        if not isinstance(ct, StructType):
            raise Invalid(f"type mismatch: type {x} is not a struct type")
        return ct

    def arraytype(self, x: int) -> ArrayType:
        ct = self.deftype(x).comp
        if not isinstance(ct, ArrayType):
            raise Invalid(f"type mismatch: type {x} is not an array type")
        return ct

    # ------------------------------------------------------------ index spaces
    def func(self, x: int) -> FuncType:
        if isinstance(x, int) and 0 <= x < len(self.funcs):
            return self.funcs[x]
        raise Invalid(f"unknown function {x}")

    def table(self, x: int) -> TableInfo:
        if isinstance(x, int) and 0 <= x < len(self.tables):
            return self.tables[x]
        raise Invalid(f"unknown table {x}")

    def mem(self, x: int) -> NumType:
        if isinstance(x, int) and 0 <= x < len(self.mems):
            return self.mems[x]
        raise Invalid(f"unknown memory {x}")

    def tag(self, x: int) -> FuncType:
        if isinstance(x, int) and 0 <= x < len(self.tags):
            return self.tags[x]
        raise Invalid(f"unknown tag {x}")

    def elem(self, x: int) -> RefType:
        if isinstance(x, int) and 0 <= x < len(self.elems):
            return self.elems[x]
        raise Invalid(f"unknown elem segment {x}")

    def data(self, x: int) -> None:
        if not (isinstance(x, int) and 0 <= x < self.ndatas):
            raise Invalid(f"unknown data segment {x}")


def min_addr(a: NumType, b: NumType) -> NumType:
    """The smaller of two address types (i32 unless both are i64)."""
    return I64 if a is I64 and b is I64 else I32
