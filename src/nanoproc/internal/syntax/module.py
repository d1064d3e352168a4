"""The module syntax tree (spec chapter 2.5, "Modules").

One set of types serves the binary decoder and encoder, the text parser, the printer,
the validator and the execution tiers. Index spaces follow the spec: imported
entities come first in each space.

Instruction sequences (function bodies, constant expressions) are flat lists of
instruction tuples ``(op, *immediates)`` as described in :mod:`.ops`, with nested
blocks delimited by ``block``/``loop``/``if``/``try_table`` ... ``end``. The final
``end`` that closes a body or a constant expression is implicit: it is not in the list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .types import (
    CompType,
    FuncType,
    GlobalType,
    MemType,
    RecType,
    RefType,
    SubType,
    TableType,
    TagType,
    ValType,
)

Instr = tuple[Any, ...]
"""``(op, *immediates)``; see :mod:`nanoproc.internal.syntax.ops`."""
Expr = list[Instr]

ImportDesc = int | TableType | MemType | GlobalType | TagType
"""For ``func`` imports: the type index; ``tag``: a TagType; otherwise the entity type."""


@dataclass(slots=True)
class Import:
    module: str
    name: str
    kind: str
    """One of ``func``, ``table``, ``memory``, ``global``, ``tag``."""
    desc: ImportDesc


@dataclass(slots=True)
class Export:
    name: str
    kind: str
    index: int


@dataclass(slots=True)
class Func:
    """A function defined in the module (not imported).

    ``locals`` keeps the binary's run-length groups ``(count, type)`` so that
    decode -> encode reproduces the bytes. ``body`` may be filled lazily by the
    decoder: use :attr:`instrs`, which decodes on first access.
    """

    typeidx: int
    locals: list[tuple[int, ValType]] = field(default_factory=list)
    body: Expr | None = None
    code_offset: int = 0
    """Byte offset of this function's body (its locals vector) in the binary; 0 if from text."""
    offsets: Sequence[int] | None = None
    """Byte offset of each instruction of ``body`` in the binary (None if from text).
    The decoder stores an ``array('I')``: 4 bytes per instruction instead of ~36."""
    lazy: Callable[[Func], None] | None = None
    """Decoder hook that fills ``body`` (and ``offsets``) on first use."""

    @property
    def instrs(self) -> Expr:
        if self.body is None:
            assert self.lazy is not None, "function has neither body nor lazy decoder"
            self.lazy(self)
            assert self.body is not None
        return self.body

    def local_types(self) -> list[ValType]:
        """The declared locals, expanded (parameters not included)."""
        out: list[ValType] = []
        for count, t in self.locals:
            out.extend([t] * count)
        return out


@dataclass(slots=True)
class Table:
    type: TableType
    init: Expr | None = None
    """Explicit initialiser expression (3.0 form ``0x40 0x00``), else None (null)."""


@dataclass(slots=True)
class Memory:
    type: MemType


@dataclass(slots=True)
class Global:
    type: GlobalType
    init: Expr


@dataclass(slots=True)
class Tag:
    type: TagType


@dataclass(slots=True)
class Elem:
    """An element segment.

    ``mode`` is ``active``, ``passive`` or ``declarative``. ``init`` holds one constant
    expression per element. ``funcidx_encoding`` records the binary form that lists
    bare function indices (flags 0-3) rather than expressions (flags 4-7), and
    ``explicit_table``/``explicit_type`` whether the binary spelled out the table index
    or element kind, so the encoder can reproduce the exact bytes.
    """

    mode: str
    type: RefType
    init: list[Expr]
    table: int = 0
    offset: Expr | None = None
    funcidx_encoding: bool = False
    explicit_table: bool = False


@dataclass(slots=True)
class Data:
    """A data segment; ``mode`` is ``active`` or ``passive``."""

    mode: str
    init: bytes
    memory: int = 0
    offset: Expr | None = None
    explicit_memory: bool = False


@dataclass(slots=True)
class Custom:
    """A custom section, kept as raw bytes.

    ``after`` is the id of the last non-custom section before it (0 if none), so the
    encoder puts it back where it was.
    """

    name: str
    data: bytes
    after: int = 0


@dataclass(slots=True)
class Names:
    """Contents of the ``name`` custom section (including extended subsections)."""

    module: str | None = None
    funcs: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)
    labels: dict[int, dict[int, str]] = field(default_factory=dict)
    types: dict[int, str] = field(default_factory=dict)
    tables: dict[int, str] = field(default_factory=dict)
    memories: dict[int, str] = field(default_factory=dict)
    globals: dict[int, str] = field(default_factory=dict)
    elems: dict[int, str] = field(default_factory=dict)
    datas: dict[int, str] = field(default_factory=dict)
    fields: dict[int, dict[int, str]] = field(default_factory=dict)
    tags: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class Module:
    """A WebAssembly module."""

    types: list[RecType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[Func] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    memories: list[Memory] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[Elem] = field(default_factory=list)
    datas: list[Data] = field(default_factory=list)
    data_count: int | None = None
    """Value of the data count section, or None if the section is absent."""
    customs: list[Custom] = field(default_factory=list)
    names: Names | None = None
    """Parsed ``name`` section (also kept raw among ``customs`` when decoded)."""
    id: str | None = None
    """The text format's ``$id`` of the module, if any."""
    _deftypes: list[SubType] | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------ type index space
    @property
    def deftypes(self) -> list[SubType]:
        """All type definitions flattened across recursion groups (the type index space)."""
        if self._deftypes is None:
            self._deftypes = [st for rec in self.types for st in rec.subtypes]
        return self._deftypes

    def invalidate_types(self) -> None:
        """Call after mutating ``types`` so :attr:`deftypes` is recomputed."""
        self._deftypes = None

    def comptype(self, typeidx: int) -> CompType:
        return self.deftypes[typeidx].comp

    def functype(self, typeidx: int) -> FuncType:
        """The function type at ``typeidx``; TypeError if it is not a function type."""
        ct = self.deftypes[typeidx].comp
        if not isinstance(ct, FuncType):
            raise TypeError(f"type {typeidx} is not a function type")
        return ct

    # ------------------------------------------------------------ imports by kind
    def imported(self, kind: str) -> list[Import]:
        return [i for i in self.imports if i.kind == kind]

    @property
    def num_imported_funcs(self) -> int:
        return sum(1 for i in self.imports if i.kind == "func")

    def func_typeidxs(self) -> list[int]:
        """Type index of every function in the function index space."""
        out = [i.desc for i in self.imports if i.kind == "func"]
        out.extend(f.typeidx for f in self.funcs)
        return out  # type: ignore[return-value]

    def table_types(self) -> list[TableType]:
        out = [i.desc for i in self.imports if i.kind == "table"]
        out.extend(t.type for t in self.tables)
        return out  # type: ignore[return-value]

    def memory_types(self) -> list[MemType]:
        out = [i.desc for i in self.imports if i.kind == "memory"]
        out.extend(m.type for m in self.memories)
        return out  # type: ignore[return-value]

    def global_types(self) -> list[GlobalType]:
        out = [i.desc for i in self.imports if i.kind == "global"]
        out.extend(g.type for g in self.globals)
        return out  # type: ignore[return-value]

    def tag_types(self) -> list[TagType]:
        out = [i.desc for i in self.imports if i.kind == "tag"]
        out.extend(t.type for t in self.tags)
        return out  # type: ignore[return-value]
