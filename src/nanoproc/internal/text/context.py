"""Per-module parsing state: identifier spaces, types, and type uses.

Identifiers are bound in a first pass over the module fields (see :mod:`.wat`), so
any field may refer to any other regardless of order. ``$id`` references are
resolved here ("unknown func" and the like are malformed text); numeric indices pass
through unchecked, for the validator.

Type uses (spec 6.6.x, "Type Uses") without ``(type x)`` resolve to the first type
whose recursion group is a lone final function type with no supertypes and the
same signature, else a new such type is appended to the type section, in textual
order of the uses. Uses with both ``(type x)`` and inline declarations are
checked against each other once every type is known ("inline function type").
"""

from __future__ import annotations

from ..syntax.module import Module
from ..syntax.types import (
    ABSTRACT_HEAP_TYPES,
    I8,
    I16,
    NUM_TYPES,
    SHORTHANDS,
    ArrayType,
    BlockType,
    FieldType,
    FuncType,
    HeapType,
    RecType,
    RefType,
    StorageType,
    StructType,
    SubType,
    ValType,
)
from .cursor import Cursor, uint_of
from .lexer import ATOM, ID, Node, Source, Tok

SPACES = ("type", "func", "table", "memory", "global", "tag", "elem", "data")
_UNKNOWN = {"elem": "elem segment", "data": "data segment"}


class ModuleContext:
    """Identifier maps and the type section under construction for one module."""

    def __init__(self, src: Source, module: Module) -> None:
        self.src = src
        self.module = module
        self.ids: dict[str, dict[str, int]] = {s: {} for s in SPACES}
        self.counts: dict[str, int] = {s: 0 for s in SPACES}
        self.field_ids: dict[int, dict[str, int]] = {}
        self.functypes: dict[FuncType, int] = {}
        self.pending_checks: list[tuple[int, FuncType, int]] = []
        self.uses_data_index = False

    # ------------------------------------------------------------ binding
    def bind(self, space: str, name: str | None, pos: int) -> int:
        """Allocate the next index of ``space``, binding ``name`` to it if given."""
        idx = self.counts[space]
        self.counts[space] = idx + 1
        if name is not None:
            table = self.ids[space]
            if name in table:
                raise self.src.error(f"duplicate {space} ${name}", pos)
            table[name] = idx
        return idx

    def index(self, space: str, cur: Cursor) -> int:
        """A required index of ``space``: ``$id`` (resolved) or a u32."""
        item = cur.next(f"{space} index")
        return self.resolve(space, item, cur)

    def resolve(self, space: str, item: Tok | Node, cur: Cursor) -> int:
        if isinstance(item, Tok):
            if item.kind == ID:
                idx = self.ids[space].get(item.value)  # type: ignore[arg-type]
                if idx is None:
                    raise self.src.error(f"unknown {_UNKNOWN.get(space, space)} {item.text}", item.pos)
                return idx
            if item.kind == ATOM:
                return uint_of(item, 32, self.src)
        raise cur.unexpected(item)

    def opt_index(self, space: str, cur: Cursor, default: int = 0) -> int:
        if cur.peek_is_index():
            return self.index(space, cur)
        return default

    # ------------------------------------------------------------ types
    def heaptype(self, cur: Cursor) -> HeapType:
        item = cur.next("heap type")
        if isinstance(item, Tok) and item.kind == ATOM and item.text in ABSTRACT_HEAP_TYPES:
            return item.text
        return self.resolve("type", item, cur)

    def reftype(self, cur: Cursor) -> RefType:
        """``funcref``-style shorthand or ``(ref null? heaptype)``."""
        item = cur.next("reference type")
        if isinstance(item, Tok):
            if item.kind == ATOM and item.text in SHORTHANDS_BY_NAME:
                return SHORTHANDS_BY_NAME[item.text]
            raise cur.unexpected(item)
        if item.head() != "ref":
            raise cur.unexpected(item)
        sub = Cursor(item, self.src, 1)
        nullable = sub.take_keyword("null")
        heap = self.heaptype(sub)
        sub.expect_end()
        return RefType(nullable, heap)

    def peek_is_reftype(self, cur: Cursor) -> bool:
        item = cur.peek()
        if isinstance(item, Tok):
            return item.kind == ATOM and item.text in SHORTHANDS_BY_NAME
        return isinstance(item, Node) and item.head() == "ref"

    def valtype(self, cur: Cursor) -> ValType:
        item = cur.peek()
        if isinstance(item, Tok) and item.kind == ATOM and item.text in NUM_TYPES:
            cur.i += 1
            return NUM_TYPES[item.text]
        if item is None or not self.peek_is_reftype(cur):
            raise cur.unexpected(item)
        return self.reftype(cur)

    def storagetype(self, cur: Cursor) -> StorageType:
        if cur.take_keyword("i8"):
            return I8
        if cur.take_keyword("i16"):
            return I16
        return self.valtype(cur)

    def fieldtype(self, cur: Cursor) -> FieldType:
        mut = cur.take_list("mut")
        if mut is not None:
            st = self.storagetype(mut)
            mut.expect_end()
            return FieldType(st, True)
        return FieldType(self.storagetype(cur), False)

    def params_results(
        self, cur: Cursor, *, names: bool
    ) -> tuple[list[ValType], list[ValType], list[tuple[str, int]], bool]:
        """``(param ...)* (result ...)*``: types, bound param names, whether any were given."""
        params: list[ValType] = []
        results: list[ValType] = []
        pnames: list[tuple[str, int]] = []
        given = False
        while (p := cur.take_list("param")) is not None:
            given = True
            item = p.peek()
            name = p.take_id()
            if name is not None:
                if not names:
                    raise p.unexpected(item)
                pnames.append((name, len(params)))
                params.append(self.valtype(p))
                p.expect_end()
                continue
            while p.more():
                params.append(self.valtype(p))
        while (r := cur.take_list("result")) is not None:
            given = True
            while r.more():
                results.append(self.valtype(r))
        return params, results, pnames, given

    def functype_def(self, cur: Cursor) -> FuncType:
        params, results, _, _ = self.params_results(cur, names=True)
        cur.expect_end()
        return FuncType(tuple(params), tuple(results))

    def comptype(self, node: Tok | Node, cur: Cursor, typeidx: int) -> StructType | ArrayType | FuncType:
        if not isinstance(node, Node):
            raise cur.unexpected(node)
        head = node.head()
        sub = Cursor(node, self.src, 1)
        if head == "func":
            return self.functype_def(sub)
        if head == "struct":
            fields: list[FieldType] = []
            names: dict[str, int] = {}
            while sub.more():
                f = sub.list("field")
                fid_pos = f.pos()
                fid = f.take_id()
                if fid is not None:
                    if fid in names:
                        raise self.src.error(f"duplicate field ${fid}", fid_pos)
                    names[fid] = len(fields)
                    fields.append(self.fieldtype(f))
                    f.expect_end()
                else:
                    while f.more():
                        fields.append(self.fieldtype(f))
            self.field_ids[typeidx] = names
            return StructType(tuple(fields))
        if head == "array":
            ft = self.fieldtype(sub)
            sub.expect_end()
            return ArrayType(ft)
        raise cur.unexpected(node)

    def subtype(self, cur: Cursor, typeidx: int) -> SubType:
        """The body of ``(type $id? ...)`` after the id: a subtype or a bare comptype."""
        item = cur.next("type definition")
        if isinstance(item, Node) and item.head() == "sub":
            sub = Cursor(item, self.src, 1)
            final = sub.take_keyword("final")
            supers: list[int] = []
            while sub.peek_is_index():
                supers.append(self.index("type", sub))
            comp = self.comptype(sub.next("composite type"), sub, typeidx)
            sub.expect_end()
            cur.expect_end()
            return SubType(comp, final, tuple(supers))
        comp = self.comptype(item, cur, typeidx)
        cur.expect_end()
        return SubType(comp, True, ())

    def add_types(self, rec: RecType) -> None:
        """Append an explicit recursion group (keeps the implicit-type lookup current)."""
        base = len(self.module.deftypes)
        self.module.types.append(rec)
        self.module.invalidate_types()
        if len(rec.subtypes) == 1:
            st = rec.subtypes[0]
            if st.final and not st.supers and isinstance(st.comp, FuncType):
                self.functypes.setdefault(st.comp, base)

    def functype_index(self, ft: FuncType) -> int:
        """The index of the first plain type equal to ``ft``, appending one if needed."""
        idx = self.functypes.get(ft)
        if idx is None:
            idx = len(self.module.deftypes)
            self.add_types(RecType((SubType(ft, True, ()),)))
        return idx

    def functype_at(self, idx: int) -> FuncType | None:
        types = self.module.deftypes
        if idx < len(types):
            comp = types[idx].comp
            if isinstance(comp, FuncType):
                return comp
        return None

    def typeuse(
        self, cur: Cursor, *, names: bool
    ) -> tuple[int, FuncType, list[tuple[str, int]]]:
        """``(type x)? (param ...)* (result ...)*``: the type index, its signature and
        the parameter names (only when ``names`` allows them)."""
        tpos = cur.pos()
        t = cur.take_list("type")
        explicit: int | None = None
        if t is not None:
            explicit = self.index("type", t)
            t.expect_end()
        params, results, pnames, given = self.params_results(cur, names=names)
        ft = FuncType(tuple(params), tuple(results))
        if explicit is None:
            return self.functype_index(ft), ft, pnames
        if given:
            self.pending_checks.append((explicit, ft, tpos))
            return explicit, ft, pnames
        known = self.functype_at(explicit)
        return explicit, known if known is not None else ft, pnames

    def blocktype(self, cur: Cursor) -> BlockType:
        """A block type: shorthand when it has no params, at most one result, no (type)."""
        item = cur.peek()
        if not isinstance(item, Node) or item.head() not in ("type", "param", "result"):
            return None
        if item.head() != "type":
            save = cur.i
            params, results, _, _ = self.params_results(cur, names=False)
            if not params and len(results) <= 1:
                return results[0] if results else None
            cur.i = save
        idx, _, _ = self.typeuse(cur, names=False)
        return idx

    def check_typeuses(self) -> None:
        """Inline declarations next to ``(type x)`` must match type ``x``."""
        types = self.module.deftypes
        for idx, ft, pos in self.pending_checks:
            if idx >= len(types):
                raise self.src.error(f"unknown type {idx}", pos)
            if types[idx].comp != ft:
                raise self.src.error("inline function type does not match (type)", pos)

    # ------------------------------------------------------------ names
    def field_index(self, typeidx: int, cur: Cursor) -> int:
        item = cur.next("field index")
        if isinstance(item, Tok) and item.kind == ID:
            idx = self.field_ids.get(typeidx, {}).get(item.value)  # type: ignore[arg-type]
            if idx is None:
                raise self.src.error(f"unknown field {item.text}", item.pos)
            return idx
        if isinstance(item, Tok) and item.kind == ATOM:
            return uint_of(item, 32, self.src)
        raise cur.unexpected(item)


SHORTHANDS_BY_NAME: dict[str, RefType] = dict(SHORTHANDS)
