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

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..records import Record
from .ops import REF_FUNC
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


# The classes below are mutable records written out by hand (see ..records): each keeps
# the fields, order, defaults (a fresh list/dict where there was a default factory),
# equality and repr of the slotted dataclass it was.


class Import(Record):
    __slots__ = __match_args__ = ("module", "name", "kind", "desc")
    module: str
    name: str
    kind: str
    """One of ``func``, ``table``, ``memory``, ``global``, ``tag``."""
    desc: ImportDesc

    def __init__(self, module: str, name: str, kind: str, desc: ImportDesc) -> None:
        self.module = module
        self.name = name
        self.kind = kind
        self.desc = desc


class Export(Record):
    __slots__ = __match_args__ = ("name", "kind", "index")
    name: str
    kind: str
    index: int

    def __init__(self, name: str, kind: str, index: int) -> None:
        self.name = name
        self.kind = kind
        self.index = index


class Func(Record):
    """A function defined in the module (not imported).

    ``locals`` keeps the binary's run-length groups ``(count, type)`` so that
    decode -> encode reproduces the bytes. ``body`` may be filled lazily by the
    decoder: use :attr:`instrs`, which decodes on first access.
    """

    __slots__ = __match_args__ = ("typeidx", "locals", "body", "code_offset", "offsets", "lazy")
    typeidx: int
    locals: list[tuple[int, ValType]]
    body: Expr | None
    code_offset: int
    """Byte offset of this function's body (its locals vector) in the binary; 0 if from text."""
    offsets: Sequence[int] | None
    """Byte offset of each instruction of ``body`` in the binary (None if from text).
    The decoder stores an ``array('I')``: 4 bytes per instruction instead of ~36."""
    lazy: Callable[[Func], None] | None
    """Decoder hook that fills ``body`` (and ``offsets``) on first use."""

    def __init__(self, typeidx: int, locals: list[tuple[int, ValType]] | None = None,
                 body: Expr | None = None, code_offset: int = 0,
                 offsets: Sequence[int] | None = None,
                 lazy: Callable[[Func], None] | None = None) -> None:  # fmt: skip
        self.typeidx = typeidx
        self.locals = [] if locals is None else locals
        self.body = body
        self.code_offset = code_offset
        self.offsets = offsets
        self.lazy = lazy

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


class Table(Record):
    __slots__ = __match_args__ = ("type", "init")
    type: TableType
    init: Expr | None
    """Explicit initialiser expression (3.0 form ``0x40 0x00``), else None (null)."""

    def __init__(self, type: TableType, init: Expr | None = None) -> None:
        self.type = type
        self.init = init


class Memory(Record):
    __slots__ = __match_args__ = ("type",)
    type: MemType

    def __init__(self, type: MemType) -> None:
        self.type = type


class Global(Record):
    __slots__ = __match_args__ = ("type", "init")
    type: GlobalType
    init: Expr

    def __init__(self, type: GlobalType, init: Expr) -> None:
        self.type = type
        self.init = init


class Tag(Record):
    __slots__ = __match_args__ = ("type",)
    type: TagType

    def __init__(self, type: TagType) -> None:
        self.type = type


class FuncRefs(Sequence["Expr"]):
    """An element segment's items when the binary lists bare function indices: the
    indices in an ``array('I')``, each item ``[(REF_FUNC, x)]`` made when read.

    Reads as the list of expressions it stands for (equal to it, same repr). Holding
    one list and one tuple per item made CPython-for-WASI's table segment ~94,000
    objects that the cyclic GC traversed at every full collection and at exit.
    Immutable: nothing changes a decoded segment's items."""

    __slots__ = ("indices",)

    def __init__(self, indices: Sequence[int]) -> None:
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [[(REF_FUNC, x)] for x in self.indices[i]]
        return [(REF_FUNC, self.indices[i])]

    def __iter__(self) -> Iterator[Expr]:
        for x in self.indices:
            yield [(REF_FUNC, x)]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FuncRefs):
            return list(self.indices) == list(other.indices)
        if isinstance(other, (list, tuple, Sequence)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))


class Elem(Record):
    """An element segment.

    ``mode`` is ``active``, ``passive`` or ``declarative``. ``init`` holds one constant
    expression per element. ``funcidx_encoding`` records the binary form that lists
    bare function indices (flags 0-3) rather than expressions (flags 4-7), and
    ``explicit_table``/``explicit_type`` whether the binary spelled out the table index
    or element kind, so the encoder can reproduce the exact bytes.
    """

    __slots__ = __match_args__ = ("mode", "type", "init", "table", "offset",
                                  "funcidx_encoding", "explicit_table")  # fmt: skip
    mode: str
    type: RefType
    init: list[Expr] | FuncRefs
    table: int
    offset: Expr | None
    funcidx_encoding: bool
    explicit_table: bool

    def __init__(self, mode: str, type: RefType, init: list[Expr] | FuncRefs, table: int = 0,
                 offset: Expr | None = None, funcidx_encoding: bool = False,
                 explicit_table: bool = False) -> None:  # fmt: skip
        self.mode = mode
        self.type = type
        self.init = init
        self.table = table
        self.offset = offset
        self.funcidx_encoding = funcidx_encoding
        self.explicit_table = explicit_table


class Data(Record):
    """A data segment; ``mode`` is ``active`` or ``passive``."""

    __slots__ = __match_args__ = ("mode", "init", "memory", "offset", "explicit_memory")
    mode: str
    init: bytes
    memory: int
    offset: Expr | None
    explicit_memory: bool

    def __init__(self, mode: str, init: bytes, memory: int = 0, offset: Expr | None = None,
                 explicit_memory: bool = False) -> None:  # fmt: skip
        self.mode = mode
        self.init = init
        self.memory = memory
        self.offset = offset
        self.explicit_memory = explicit_memory


class Custom(Record):
    """A custom section, kept as raw bytes.

    ``after`` is the id of the last non-custom section before it (0 if none), so the
    encoder puts it back where it was.
    """

    __slots__ = __match_args__ = ("name", "data", "after")
    name: str
    data: bytes
    after: int

    def __init__(self, name: str, data: bytes, after: int = 0) -> None:
        self.name = name
        self.data = data
        self.after = after


class Names(Record):
    """Contents of the ``name`` custom section (including extended subsections)."""

    __slots__ = __match_args__ = ("module", "funcs", "locals", "labels", "types", "tables",
                                  "memories", "globals", "elems", "datas", "fields", "tags")  # fmt: skip
    module: str | None
    funcs: dict[int, str]
    locals: dict[int, dict[int, str]]
    labels: dict[int, dict[int, str]]
    types: dict[int, str]
    tables: dict[int, str]
    memories: dict[int, str]
    globals: dict[int, str]
    elems: dict[int, str]
    datas: dict[int, str]
    fields: dict[int, dict[int, str]]
    tags: dict[int, str]

    def __init__(self, module: str | None = None, funcs: dict[int, str] | None = None,
                 locals: dict[int, dict[int, str]] | None = None,
                 labels: dict[int, dict[int, str]] | None = None,
                 types: dict[int, str] | None = None, tables: dict[int, str] | None = None,
                 memories: dict[int, str] | None = None, globals: dict[int, str] | None = None,
                 elems: dict[int, str] | None = None, datas: dict[int, str] | None = None,
                 fields: dict[int, dict[int, str]] | None = None,
                 tags: dict[int, str] | None = None) -> None:  # fmt: skip
        self.module = module
        self.funcs = {} if funcs is None else funcs
        self.locals = {} if locals is None else locals
        self.labels = {} if labels is None else labels
        self.types = {} if types is None else types
        self.tables = {} if tables is None else tables
        self.memories = {} if memories is None else memories
        self.globals = {} if globals is None else globals
        self.elems = {} if elems is None else elems
        self.datas = {} if datas is None else datas
        self.fields = {} if fields is None else fields
        self.tags = {} if tags is None else tags


class Module(Record):
    """A WebAssembly module."""

    __slots__ = __match_args__ = ("types", "imports", "funcs", "tables", "memories", "tags",
                                  "globals", "exports", "start", "elems", "datas", "data_count",
                                  "customs", "names", "id", "_deftypes")  # fmt: skip
    _shown = __match_args__[:-1]
    """``_deftypes`` (a cache) is neither compared nor shown."""
    types: list[RecType]
    imports: list[Import]
    funcs: list[Func]
    tables: list[Table]
    memories: list[Memory]
    tags: list[Tag]
    globals: list[Global]
    exports: list[Export]
    start: int | None
    elems: list[Elem]
    datas: list[Data]
    data_count: int | None
    """Value of the data count section, or None if the section is absent."""
    customs: list[Custom]
    names: Names | None
    """Parsed ``name`` section (also kept raw among ``customs`` when decoded)."""
    id: str | None
    """The text format's ``$id`` of the module, if any."""
    _deftypes: list[SubType] | None

    def __init__(self, types: list[RecType] | None = None, imports: list[Import] | None = None,
                 funcs: list[Func] | None = None, tables: list[Table] | None = None,
                 memories: list[Memory] | None = None, tags: list[Tag] | None = None,
                 globals: list[Global] | None = None, exports: list[Export] | None = None,
                 start: int | None = None, elems: list[Elem] | None = None,
                 datas: list[Data] | None = None, data_count: int | None = None,
                 customs: list[Custom] | None = None, names: Names | None = None,
                 id: str | None = None, _deftypes: list[SubType] | None = None) -> None:  # fmt: skip
        self.types = [] if types is None else types
        self.imports = [] if imports is None else imports
        self.funcs = [] if funcs is None else funcs
        self.tables = [] if tables is None else tables
        self.memories = [] if memories is None else memories
        self.tags = [] if tags is None else tags
        self.globals = [] if globals is None else globals
        self.exports = [] if exports is None else exports
        self.start = start
        self.elems = [] if elems is None else elems
        self.datas = [] if datas is None else datas
        self.data_count = data_count
        self.customs = [] if customs is None else customs
        self.names = names
        self.id = id
        self._deftypes = _deftypes

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
