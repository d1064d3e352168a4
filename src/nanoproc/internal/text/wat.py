"""The WebAssembly text format: modules (spec 6.6), parsed into the shared module tree.

Parsing takes three passes over the module fields: bind every identifier to its
index (so references may point forward, and imports are checked to come first),
build the explicit type section, then build everything else in textual order
(which is also the order implicit types from type uses are appended in).

Inline abbreviations expand where they stand: ``(func (export "e") (import ..))``,
``(table funcref (elem ...))`` (an active segment on that table, written with an
explicit table index), ``(memory (data ...))`` (an active segment, sized exactly).
``module.names`` is filled from identifiers, as the ``wat`` crate does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ParseError
from ..syntax.module import (
    Data,
    Elem,
    Export,
    Expr,
    Func,
    Global,
    Import,
    Memory,
    Module,
    Names,
    Table,
    Tag,
)
from ..syntax.ops import I32_CONST, I64_CONST, REF_FUNC
from ..syntax.types import (
    FUNCREF,
    GlobalType,
    Limits,
    MemType,
    RecType,
    RefType,
    SubType,
    TableType,
    TagType,
    ValType,
)
from .context import ModuleContext
from .cursor import Cursor
from .instrs import BodyParser
from .lexer import ATOM, Node, Source, Tok, read_sexprs

T = TypeVar("T")
_DEFINES = ("func", "table", "memory", "global", "tag")
_KIND_WORD = {"func": "function", "table": "table", "memory": "memory", "global": "global", "tag": "tag"}
_FUNC_REF = RefType(False, "func")


def parse_wat(text: str, *, filename: str | None = None) -> Module:
    """Parse a module in text: ``(module ...)`` or a bare sequence of module fields.

    Raises ParseError (and nothing else) for malformed text.
    """
    src = Source(text, filename)

    def run() -> Module:
        root = read_sexprs(src)
        items = root.items
        if items and isinstance(items[0], Node) and items[0].head() == "module":
            if len(items) > 1:
                raise Cursor(root, src, 1).unexpected()
            return parse_module(Cursor(items[0], src, 1))
        return parse_module(Cursor(root, src, 0))

    return guarded(src, run)


RECURSION_ROOM = 8200
"""Python frames a parse may nest (see :func:`guarded`)."""


def guarded(src: Source, fn: Callable[[], T]) -> T:
    """Run a parse with :data:`RECURSION_ROOM` levels of Python recursion to spare.

    Instructions, the only part of the grammar that nests without bound, are parsed
    without recursion; what else recurses (a script's nested ``either`` results)
    gets this room, and a RecursionError beyond it is a ParseError (Python-to-Python
    calls use no C stack on 3.11+).
    """
    need = _stack_depth() + RECURSION_ROOM
    old = sys.getrecursionlimit()
    if old < need:
        sys.setrecursionlimit(need)
    try:
        return fn()
    except RecursionError:
        raise ParseError("nesting too deep", 1, 1, src.filename) from None
    finally:
        if old < need:
            sys.setrecursionlimit(old)


def _stack_depth() -> int:
    frame = sys._getframe()
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return depth


def parse_module(cur: Cursor) -> Module:
    """The module whose optional ``$id`` and fields are the rest of ``cur``."""
    module = Module()
    module.id = cur.take_id()
    ctx = ModuleContext(cur.src, module)
    fields: list[tuple[Node, str, int]] = []
    first_def: str | None = None
    while cur.more():
        node = cur.next()
        if not isinstance(node, Node) or node.head() is None:
            raise cur.unexpected(node)
        head = node.head()
        assert head is not None
        if head not in _BIND:
            raise cur.src.error(f"unknown module field {head}", node.pos)
        idx, imported = _BIND[head](ctx, node)
        if imported and first_def is not None:
            raise cur.src.error(f"import after {_KIND_WORD[first_def]}", node.pos)
        if head in _DEFINES and not imported and first_def is None:
            first_def = head
        fields.append((node, head, idx))
    builder = Builder(ctx)
    for node, head, _ in fields:
        if head in ("type", "rec"):
            builder.types(node, head)
    for node, head, idx in fields:
        if head not in ("type", "rec"):
            _BUILD[head](builder, node, idx)
    ctx.check_typeuses()
    if ctx.uses_data_index:
        module.data_count = len(module.datas)
    builder.finish_names()
    return module


# ---------------------------------------------------------------- pass 1: binding
def _inline_import(cur: Cursor) -> bool:
    """Skip ``$id? (export ..)*`` and report whether an ``(import ..)`` follows."""
    while cur.take_list("export") is not None:
        pass
    return cur.peek_head() == "import"


def _bind_type(ctx: ModuleContext, node: Node) -> tuple[int, bool]:
    cur = Cursor(node, ctx.src, 1)
    pos = cur.pos()
    return ctx.bind("type", cur.take_id(), pos), False


def _bind_rec(ctx: ModuleContext, node: Node) -> tuple[int, bool]:
    cur = Cursor(node, ctx.src, 1)
    first = ctx.counts["type"]
    while cur.more():
        sub = cur.list("type")
        pos = sub.pos()
        ctx.bind("type", sub.take_id(), pos)
    return first, False


def _binder(kind: str) -> Callable[[ModuleContext, Node], tuple[int, bool]]:
    def bind(ctx: ModuleContext, node: Node) -> tuple[int, bool]:
        cur = Cursor(node, ctx.src, 1)
        pos = cur.pos()
        name = cur.take_id()
        idx = ctx.bind(kind, name, pos)
        imported = False
        if kind in _DEFINES:
            imported = _inline_import(cur)
            if not imported:
                # Inline segments take an index of their own.
                for item in cur.items[cur.i :]:
                    if isinstance(item, Node):
                        if kind == "table" and item.head() == "elem":
                            ctx.bind("elem", None, item.pos)
                        if kind == "memory" and item.head() == "data":
                            ctx.bind("data", None, item.pos)
        return idx, imported

    return bind


def _bind_import(ctx: ModuleContext, node: Node) -> tuple[int, bool]:
    cur = Cursor(node, ctx.src, 1)
    cur.string()
    cur.string()
    desc = cur.list()
    kind_tok = desc.keyword()
    if kind_tok.text not in _DEFINES:
        raise desc.unexpected(kind_tok)
    pos = desc.pos()
    return ctx.bind(kind_tok.text, desc.take_id(), pos), True


def _bind_nothing(ctx: ModuleContext, node: Node) -> tuple[int, bool]:
    return -1, False


_BIND: dict[str, Callable[[ModuleContext, Node], tuple[int, bool]]] = {
    "type": _bind_type,
    "rec": _bind_rec,
    "import": _bind_import,
    "func": _binder("func"),
    "table": _binder("table"),
    "memory": _binder("memory"),
    "global": _binder("global"),
    "tag": _binder("tag"),
    "elem": _binder("elem"),
    "data": _binder("data"),
    "export": _bind_nothing,
    "start": _bind_nothing,
}


# ---------------------------------------------------------------- passes 2 and 3: building
class Builder:
    """Builds the module's entities from their fields, in textual order."""

    def __init__(self, ctx: ModuleContext) -> None:
        self.ctx = ctx
        self.src = ctx.src
        self.m = ctx.module
        self.names = Names(module=self.m.id)
        self.start_seen = False

    def types(self, node: Node, head: str) -> None:
        ctx = self.ctx
        cur = Cursor(node, self.src, 1)
        if head == "type":
            idx = len(self.m.deftypes)
            name = cur.take_id()
            st = ctx.subtype(cur, idx)
            self._name_type(idx, name)
            ctx.add_types(RecType((st,), explicit=False))
            return
        subs: list[SubType] = []
        base = len(self.m.deftypes)
        while cur.more():
            sub = cur.list("type")
            name = sub.take_id()
            self._name_type(base + len(subs), name)
            subs.append(ctx.subtype(sub, base + len(subs)))
        ctx.add_types(RecType(tuple(subs), explicit=True))

    def _name_type(self, idx: int, name: str | None) -> None:
        if name is not None:
            self.names.types[idx] = name

    # ------------------------------------------------------------ shared pieces
    def header(self, cur: Cursor, kind: str, idx: int) -> tuple[str, str] | None:
        """``$id? (export "n")* (import "m" "n")?``: records exports, returns the import."""
        name = cur.take_id()
        if name is not None:
            getattr(self.names, _NAME_SPACE[kind])[idx] = name
        while (e := cur.take_list("export")) is not None:
            self.m.exports.append(Export(e.name(), kind, idx))
            e.expect_end()
        imp = cur.take_list("import")
        if imp is None:
            return None
        where = (imp.name(), imp.name())
        imp.expect_end()
        return where

    def expr(self, cur: Cursor) -> Expr:
        """A constant expression: the rest of ``cur``."""
        p = BodyParser(self.ctx, None, in_func=False)
        p.seq(cur)
        return p.out

    def offset(self, cur: Cursor) -> Expr:
        """``(offset instr*)`` or the one-instruction abbreviation ``(instr)``."""
        off = cur.take_list("offset")
        if off is not None:
            return self.expr(off)
        item = cur.next("offset expression")
        if not isinstance(item, Node):
            raise cur.unexpected(item)
        p = BodyParser(self.ctx, None, in_func=False)
        p.folded(item)
        return p.out

    def limits(self, cur: Cursor, addr64: bool) -> tuple[int, int | None]:
        bits = 64  # wider than 32-bit limits are well-formed; the validator rejects them
        lo = cur.uint(bits)
        hi = None
        item = cur.peek()
        if isinstance(item, Tok) and item.kind == ATOM and item.text[0].isdigit():
            hi = cur.uint(bits)
        return lo, hi

    def addr64(self, cur: Cursor) -> bool:
        if cur.take_keyword("i64"):
            return True
        cur.take_keyword("i32")
        return False

    def tabletype(self, cur: Cursor) -> TableType:
        addr64 = self.addr64(cur)
        lo, hi = self.limits(cur, addr64)
        return TableType(self.ctx.reftype(cur), Limits(lo, hi, addr64))

    def memtype(self, cur: Cursor) -> MemType:
        addr64 = self.addr64(cur)
        lo, hi = self.limits(cur, addr64)
        shared = cur.take_keyword("shared")
        return MemType(Limits(lo, hi, addr64, shared, self.pagesize(cur)))

    def pagesize(self, cur: Cursor) -> int | None:
        """``(pagesize N)`` (custom-page-sizes) as log2 of N."""
        ps = cur.take_list("pagesize")
        if ps is None:
            return None
        item = ps.peek()
        size = ps.uint(64)
        ps.expect_end()
        if size == 0 or size & (size - 1):
            raise ps.error("invalid custom page size", item)
        return size.bit_length() - 1

    def globaltype(self, cur: Cursor) -> GlobalType:
        mut = cur.take_list("mut")
        if mut is not None:
            t = self.ctx.valtype(mut)
            mut.expect_end()
            return GlobalType(t, True)
        return GlobalType(self.ctx.valtype(cur), False)

    def elemlist(self, cur: Cursor, legacy: bool) -> tuple[RefType, list[Expr], bool]:
        """``func x*`` | ``reftype item*`` | (active, no table use) ``x*``."""
        if cur.take_keyword("func") or (legacy and not self.ctx.peek_is_reftype(cur)):
            init: list[Expr] = []
            while cur.more():
                init.append([(REF_FUNC, self.ctx.index("func", cur))])
            return _FUNC_REF, init, True
        return self.ctx.reftype(cur), self.elem_exprs(cur), False

    def elem_exprs(self, cur: Cursor) -> list[Expr]:
        """``(item instr*)`` or the one-instruction abbreviation ``(instr)``, to the end."""
        init: list[Expr] = []
        while cur.more():
            item = cur.next("element expression")
            if not isinstance(item, Node):
                raise cur.unexpected(item)
            if item.head() == "item":
                init.append(self.expr(Cursor(item, self.src, 1)))
            else:
                p = BodyParser(self.ctx, None, in_func=False)
                p.folded(item)
                init.append(p.out)
        return init

    # ------------------------------------------------------------ fields
    def func(self, node: Node, idx: int) -> None:
        ctx = self.ctx
        cur = Cursor(node, self.src, 1)
        imp = self.header(cur, "func", idx)
        typeidx, ft, pnames = ctx.typeuse(cur, names=True)
        local_ids: dict[str, int] = {}
        local_names: dict[int, str] = {}
        for pname, i in pnames:
            self._bind_local(local_ids, local_names, pname, i, node)
        if imp is not None:
            cur.expect_end()
            self.m.imports.append(Import(imp[0], imp[1], "func", typeidx))
            if local_names:
                self.names.locals[idx] = local_names
            return
        groups: list[tuple[int, ValType]] = []
        n = len(ft.params)
        while (loc := cur.take_list("local")) is not None:
            pos = loc.pos()
            name = loc.take_id()
            types = [ctx.valtype(loc)] if name is not None else []
            if name is not None:
                loc.expect_end()
                self._bind_local(local_ids, local_names, name, n, node, pos)
            else:
                while loc.more():
                    types.append(ctx.valtype(loc))
            for t in types:
                if groups and groups[-1][1] == t:
                    groups[-1] = (groups[-1][0] + 1, t)
                else:
                    groups.append((1, t))
                n += 1
        body = BodyParser(ctx, local_ids, in_func=True)
        body.seq(cur)
        self.m.funcs.append(Func(typeidx, groups, body.out))
        if local_names:
            self.names.locals[idx] = local_names
        if body.label_names:
            self.names.labels[idx] = body.label_names

    def _bind_local(
        self, ids: dict[str, int], names: dict[int, str], name: str, i: int, node: Node, pos: int | None = None
    ) -> None:
        if name in ids:
            raise self.src.error(f"duplicate local ${name}", node.pos if pos is None else pos)
        ids[name] = i
        names[i] = name

    def table(self, node: Node, idx: int) -> None:
        cur = Cursor(node, self.src, 1)
        imp = self.header(cur, "table", idx)
        if imp is not None:
            tt = self.tabletype(cur)
            cur.expect_end()
            self.m.imports.append(Import(imp[0], imp[1], "table", tt))
            return
        save = cur.i
        addr64 = self.addr64(cur)
        if self.ctx.peek_is_reftype(cur):
            rt = self.ctx.reftype(cur)
            el = cur.list("elem")
            # The segment has the table's type; only a funcref table's index list
            # can use the compact function-index encoding (as wasm-tools does).
            exprs = isinstance(el.peek(), Node)
            init = self.elem_exprs(el) if exprs else self.elemlist(el, legacy=True)[1]
            funcidx = rt == FUNCREF and not exprs
            etype = _FUNC_REF if funcidx else rt  # function indices are (ref func)
            cur.expect_end()
            n = len(init)
            self.m.tables.append(Table(TableType(rt, Limits(n, n, addr64))))
            zero = (I64_CONST, 0) if addr64 else (I32_CONST, 0)
            self.m.elems.append(
                Elem("active", etype, init, idx, [zero], funcidx_encoding=funcidx, explicit_table=True)
            )
            return
        cur.i = save
        tt = self.tabletype(cur)
        self.m.tables.append(Table(tt, self.expr(cur) if cur.more() else None))

    def memory(self, node: Node, idx: int) -> None:
        cur = Cursor(node, self.src, 1)
        imp = self.header(cur, "memory", idx)
        if imp is not None:
            mt = self.memtype(cur)
            cur.expect_end()
            self.m.imports.append(Import(imp[0], imp[1], "memory", mt))
            return
        save = cur.i
        addr64 = self.addr64(cur)
        page_log2 = self.pagesize(cur)
        data = cur.take_list("data")
        if data is not None:
            raw = b"".join(_strings(data))
            cur.expect_end()
            size = 1 << (16 if page_log2 is None else page_log2)
            pages = -(-len(raw) // size)
            limits = Limits(pages, pages, addr64, page_size_log2=page_log2)
            self.m.memories.append(Memory(MemType(limits)))
            zero = (I64_CONST, 0) if addr64 else (I32_CONST, 0)
            self.m.datas.append(Data("active", raw, idx, [zero], explicit_memory=idx != 0))
            return
        cur.i = save
        mt = self.memtype(cur)
        cur.expect_end()
        self.m.memories.append(Memory(mt))

    def global_(self, node: Node, idx: int) -> None:
        cur = Cursor(node, self.src, 1)
        imp = self.header(cur, "global", idx)
        gt = self.globaltype(cur)
        if imp is not None:
            cur.expect_end()
            self.m.imports.append(Import(imp[0], imp[1], "global", gt))
            return
        self.m.globals.append(Global(gt, self.expr(cur)))

    def tag(self, node: Node, idx: int) -> None:
        cur = Cursor(node, self.src, 1)
        imp = self.header(cur, "tag", idx)
        typeidx, _, _ = self.ctx.typeuse(cur, names=True)
        cur.expect_end()
        if imp is not None:
            self.m.imports.append(Import(imp[0], imp[1], "tag", TagType(typeidx)))
        else:
            self.m.tags.append(Tag(TagType(typeidx)))

    def import_(self, node: Node, idx: int) -> None:
        cur = Cursor(node, self.src, 1)
        module, name = cur.name(), cur.name()
        desc = cur.list()
        cur.expect_end()
        kind = desc.keyword().text
        ident = desc.take_id()
        if ident is not None:
            getattr(self.names, _NAME_SPACE[kind])[idx] = ident
        d: Any
        if kind == "func":
            d, _, pnames = self.ctx.typeuse(desc, names=True)
            if pnames:
                self.names.locals[idx] = {i: n for n, i in pnames}
        elif kind == "tag":
            d = TagType(self.ctx.typeuse(desc, names=True)[0])
        elif kind == "table":
            d = self.tabletype(desc)
        elif kind == "memory":
            d = self.memtype(desc)
        else:
            d = self.globaltype(desc)
        desc.expect_end()
        self.m.imports.append(Import(module, name, kind, d))

    def export(self, node: Node, idx: int) -> None:
        cur = Cursor(node, self.src, 1)
        name = cur.name()
        desc = cur.list()
        cur.expect_end()
        kind_tok = desc.keyword()
        if kind_tok.text not in _DEFINES:
            raise desc.unexpected(kind_tok)
        index = self.ctx.index(kind_tok.text, desc)
        desc.expect_end()
        self.m.exports.append(Export(name, kind_tok.text, index))

    def start(self, node: Node, idx: int) -> None:
        if self.start_seen:
            raise self.src.error("multiple start sections", node.pos)
        self.start_seen = True
        cur = Cursor(node, self.src, 1)
        self.m.start = self.ctx.index("func", cur)
        cur.expect_end()

    def elem(self, node: Node, idx: int) -> None:
        cur = Cursor(node, self.src, 1)
        name = cur.take_id()
        if name is not None:
            self.names.elems[idx] = name
        if cur.take_keyword("declare"):
            rt, init, funcidx = self.elemlist(cur, legacy=False)
            self.m.elems.append(Elem("declarative", rt, init, funcidx_encoding=funcidx))
            return
        table_use = cur.take_list("table")
        table = 0
        bare = False
        if table_use is not None:
            table = self.ctx.index("table", table_use)
            table_use.expect_end()
        elif _legacy_index(cur):
            table_use, bare = cur, True  # MVP form: a bare table index before the offset
            table = self.ctx.index("table", cur)
        item = cur.peek()
        if table_use is None and not (isinstance(item, Node) and item.head() != "ref"):
            rt, init, funcidx = self.elemlist(cur, legacy=False)
            self.m.elems.append(Elem("passive", rt, init, funcidx_encoding=funcidx))
            return
        offset = self.offset(cur)
        rt, init, funcidx = self.elemlist(cur, legacy=table_use is None or bare)
        # Without a table use, the binary can only leave the table implicit for
        # function indices or funcref expressions (flags 0 and 4).
        explicit = table_use is not None or not (funcidx or rt == FUNCREF)
        self.m.elems.append(
            Elem("active", rt, init, table, offset, funcidx_encoding=funcidx, explicit_table=explicit)
        )

    def data(self, node: Node, idx: int) -> None:
        cur = Cursor(node, self.src, 1)
        name = cur.take_id()
        if name is not None:
            self.names.datas[idx] = name
        mem_use = cur.take_list("memory")
        mem = 0
        if mem_use is not None:
            mem = self.ctx.index("memory", mem_use)
            mem_use.expect_end()
        elif _legacy_index(cur):
            mem_use = cur  # MVP form: a bare memory index before the offset
            mem = self.ctx.index("memory", cur)
        if mem_use is None and not isinstance(cur.peek(), Node):
            self.m.datas.append(Data("passive", b"".join(_strings(cur))))
            return
        offset = self.offset(cur)
        raw = b"".join(_strings(cur))
        self.m.datas.append(Data("active", raw, mem, offset, explicit_memory=mem != 0))

    def finish_names(self) -> None:
        for typeidx, fields in self.ctx.field_ids.items():
            if fields:
                self.names.fields[typeidx] = {i: n for n, i in fields.items()}
        n = self.names
        if n.module is not None or any(
            (n.funcs, n.locals, n.labels, n.types, n.tables, n.memories, n.globals, n.elems, n.datas, n.fields, n.tags)
        ):
            self.m.names = n


def _legacy_index(cur: Cursor) -> bool:
    """A bare numeric index followed by a list (the offset) in elem/data fields."""
    item = cur.peek()
    return (
        isinstance(item, Tok)
        and item.kind == ATOM
        and item.text[0].isdigit()
        and isinstance(cur.peek_at(1), Node)
    )


def _strings(cur: Cursor) -> list[bytes]:
    out = []
    while cur.more():
        out.append(cur.string())
    return out


_NAME_SPACE = {
    "func": "funcs",
    "table": "tables",
    "memory": "memories",
    "global": "globals",
    "tag": "tags",
}

_BUILD: dict[str, Callable[[Builder, Node, int], None]] = {
    "import": Builder.import_,
    "func": Builder.func,
    "table": Builder.table,
    "memory": Builder.memory,
    "global": Builder.global_,
    "tag": Builder.tag,
    "elem": Builder.elem,
    "data": Builder.data,
    "export": Builder.export,
    "start": Builder.start,
}
