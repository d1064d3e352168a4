"""The validation context (spec 3.1.1, "Contexts"), in canonical types.

Everything the typing rules look up is converted once to canonical form (see
:mod:`.canon`), so the instruction checker compares types with ``==`` and the
functions of :mod:`.subtyping`, and never touches module type indices again.
"""

from __future__ import annotations

from ..records import Record
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


class TableInfo(Record):
    __slots__ = __match_args__ = ("elem", "addr")
    elem: RefType
    """Canonical element type."""
    addr: NumType

    def __init__(self, elem: RefType, addr: NumType) -> None:
        self.elem = elem
        self.addr = addr


class Context(Record):
    """What the typing rules of a module's definitions and code may refer to."""

    __slots__ = __match_args__ = ("module", "type_ids", "defs", "funcs", "func_type_ids", "tables",
                                  "mems", "globals", "tags", "elems", "ndatas", "refs", "_cache")  # fmt: skip
    module: Module
    type_ids: list[int]
    """Type index -> canonical id (grows group by group while the type section is checked)."""
    defs: list[SubType]
    """Type index -> canonical definition."""
    funcs: list[FuncType]
    """Function index -> canonical function type."""
    func_type_ids: list[int]
    tables: list[TableInfo]
    mems: list[NumType]
    """Memory index -> address type."""
    globals: list[tuple[ValType, bool]]
    """Global index -> (canonical type, mutable)."""
    tags: list[FuncType]
    """Tag index -> canonical function type (empty results)."""
    elems: list[RefType]
    """Element segment index -> canonical element type."""
    ndatas: int
    refs: frozenset[int]
    """Function indices declared outside function bodies (``ref.func`` may use them)."""
    _cache: dict[ValType, ValType]

    def __init__(self, module: Module, type_ids: list[int] | None = None,
                 defs: list[SubType] | None = None, funcs: list[FuncType] | None = None,
                 func_type_ids: list[int] | None = None, tables: list[TableInfo] | None = None,
                 mems: list[NumType] | None = None,
                 globals: list[tuple[ValType, bool]] | None = None,
                 tags: list[FuncType] | None = None, elems: list[RefType] | None = None,
                 ndatas: int = 0, refs: frozenset[int] = frozenset(),
                 _cache: dict[ValType, ValType] | None = None) -> None:  # fmt: skip
        self.module = module
        self.type_ids = [] if type_ids is None else type_ids
        self.defs = [] if defs is None else defs
        self.funcs = [] if funcs is None else funcs
        self.func_type_ids = [] if func_type_ids is None else func_type_ids
        self.tables = [] if tables is None else tables
        self.mems = [] if mems is None else mems
        self.globals = [] if globals is None else globals
        self.tags = [] if tags is None else tags
        self.elems = [] if elems is None else elems
        self.ndatas = ndatas
        self.refs = refs
        self._cache = {} if _cache is None else _cache

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
