"""The component text format (Explainer.md grammar, with the wast crate's sugar).

Each field is handled in three steps, as the wast crate does, so that the binary it
produces allocates indices exactly as ``wasm-tools parse`` does:

1. *parse*: the S-expression becomes an unresolved field (identifiers kept, inline
   type expressions and inline aliases kept);
2. *expand*: inline type expressions become type definitions placed just before the
   field (depth first), bags of exports in ``with`` arguments become instance
   definitions placed before it, and inline ``(export "n")`` sugar becomes export
   definitions appended at the end of the component;
3. *resolve*: identifiers become indices, in one pass in definition order; a
   reference through export names (``(func $i "f")``) becomes an ``alias export``
   placed before the field, and an identifier found only in an enclosing component
   or type becomes an ``alias outer`` placed before it.

Core modules inside a component are parsed by the core parser (:mod:`.wat`); core
types by :class:`.context.ModuleContext`, bound to the component's core type names.
Identifiers also name definitions in a ``component-name`` custom section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..syntax import component as C
from ..syntax import component_ops as O
from ..syntax.module import Import, Module
from ..syntax.types import NUM_TYPES, FuncType, RecType, StructType, SubType, TagType
from .context import ModuleContext
from .cursor import Cursor
from .lexer import ATOM, ID, STRING, Node, Source, Tok, read_sexprs
from .wat import Builder, guarded, parse_module

_ALIASABLE_OUTER = ("core module", "core type", "type", "component")
_SORT_WORDS = {"func", "value", "type", "component", "instance"}
_CORE_SORT_WORDS = {"func", "table", "memory", "global", "tag", "type", "module", "instance"}
_DEFVAL_HEADS = {"record", "variant", "list", "tuple", "flags", "enum", "option", "result",
                 "own", "borrow", "stream", "future", "map"}  # fmt: skip
_PRIM_ALIASES = {"float32": "f32", "float64": "f64"}


def parse_component_text(text: str, *, filename: str | None = None) -> C.Component:
    """Parse ``(component ...)`` text. Raises ParseError (and nothing else) if malformed."""
    src = Source(text, filename)

    def run() -> C.Component:
        root = read_sexprs(src)
        items = root.items
        if len(items) != 1 or not isinstance(items[0], Node) or items[0].head() != "component":
            raise Cursor(root, src, 0).error("expected (component ...)")
        return parse_component(Cursor(items[0], src, 1))

    return guarded(src, run)


def parse_component(cur: Cursor) -> C.Component:
    """The component whose ``$id?`` and fields are the rest of ``cur``."""
    ident = cur.take_id()
    return _Parser(cur.src).component(ident, cur, None)


# ---------------------------------------------------------------- unresolved pieces
class Gensym:
    """A generated identifier: unique, never printed, never in the name section."""

    __slots__ = ()


Ident = str | Gensym | None


@dataclass(slots=True)
class Ref:
    """A reference to an item of ``sort``: an index, an identifier, and, for inline
    export aliases, the export names projected through (``(func $i "a" "b")``)."""

    sort: str
    idx: int | str | Gensym
    pos: int
    names: tuple[str, ...] = ()


class Use:
    """A mutable slot holding an unresolved type use or value type: a primitive name,
    a :class:`Ref`, or an inline definition (a list ``[kind, ...]``); expansion and
    resolution overwrite it with a Ref and then an index."""

    __slots__ = ("v", "pos")

    def __init__(self, v: Any, pos: int) -> None:
        self.v = v
        self.pos = pos


@dataclass(slots=True)
class ItemSig:
    """The type part of an import/export: ``kind`` is the extern kind (``func``,
    ``component``, ``instance``, ``core module``, ``value``, ``type``); ``use`` a Use
    (type index or inline type), or for ``type`` a bound ``("eq", Ref)``/``("sub",)``."""

    kind: str
    ident: Ident
    use: Any
    pos: int


# ---------------------------------------------------------------- scopes
class _Scope:
    """One component, component type, instance type or module type being built:
    its identifier spaces, what it has emitted so far, and its names."""

    def __init__(self, kind: str, ident: str | None, parent: _Scope | None) -> None:
        self.kind = kind
        self.ident = ident
        self.parent = parent
        self.ids: dict[str, dict[Any, int]] = {}
        self.counts: dict[str, int] = {}
        self.out: list[Any] = []
        self.names: dict[str, dict[int, str]] = {}
        self.appends: list[Any] = []

    def register(self, sort: str, ident: Ident, src: Source, pos: int, named: bool = True) -> int:
        idx = self.counts.get(sort, 0)
        self.counts[sort] = idx + 1
        if ident is not None:
            table = self.ids.setdefault(sort, {})
            if ident in table:
                raise src.error(f"duplicate {sort} identifier ${ident}", pos)
            table[ident] = idx
            if named and isinstance(ident, str):
                self.names.setdefault(sort, {})[idx] = ident
        return idx

    def lookup(self, sort: str, ident: Any) -> int | None:
        table = self.ids.get(sort)
        return None if table is None else table.get(ident)


class _Parser:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.scope: _Scope | None = None

    # ------------------------------------------------------------ errors
    def err(self, msg: str, pos: int) -> Exception:
        return self.src.error(msg, pos)

    @property
    def cur_scope(self) -> _Scope:
        assert self.scope is not None
        return self.scope

    # ------------------------------------------------------------ components
    def component(self, ident: str | None, cur: Cursor, parent: _Scope | None) -> C.Component:
        scope = _Scope("component", ident, parent)
        saved = self.scope
        self.scope = scope
        try:
            while cur.more():
                node = cur.next()
                if not isinstance(node, Node):
                    raise cur.unexpected(node)
                self.field(node)
            for item in scope.appends:
                self.lower_export(item)
        finally:
            self.scope = saved
        comp = C.Component(id=ident)
        for d in scope.out:
            comp.add(C.section_of(d), d)
        names = C.ComponentNames(ident, {s: m for s, m in scope.names.items() if m})
        if names.component is not None or names.sorts:
            comp.names = names
        return comp

    def emit(self, item: Any) -> None:
        self.cur_scope.out.append(item)

    def field(self, node: Node) -> None:
        cur = Cursor(node, self.src, 1)
        head = node.head()
        if head == "core":
            kw = cur.keyword().text
            handler = _CORE_FIELDS.get(kw)
            if handler is None:
                raise self.err(f"unexpected token {kw}: expected a core field", node.items[1].pos)
            handler(self, cur, node)
            return
        handler = _FIELDS.get(head or "")
        if handler is None:
            raise self.err("expected valid component field", node.pos)
        handler(self, cur, node)

    # ------------------------------------------------------------ common syntax
    def inline_exports(self, cur: Cursor) -> list[C.ExternName]:
        """``(export "name" <attrs>)*`` sugar right after an identifier."""
        out: list[C.ExternName] = []
        while True:
            item = cur.peek()
            if not _is_inline_extern(item, "export"):
                return out
            sub = cur.list("export")
            name = self.extern_name(sub)
            sub.expect_end()
            out.append(name)

    def inline_import(self, cur: Cursor) -> C.ExternName | None:
        if not _is_inline_extern(cur.peek(), "import"):
            return None
        sub = cur.list("import")
        name = self.extern_name(sub)
        sub.expect_end()
        return name

    def extern_name(self, cur: Cursor) -> C.ExternName:
        """``"name" (implements "x")? (versionsuffix "s")? (external-id "e")?``."""
        name = cur.name()
        attrs: list[tuple[str, str]] = []
        for kind in ("implements", "versionsuffix", "external-id"):
            sub = cur.take_list(kind)
            if sub is not None:
                attrs.append((kind, sub.name()))
                sub.expect_end()
        return C.ExternName(name, tuple(attrs), 2 if attrs else 0)

    def index_tok(self, cur: Cursor, what: str) -> tuple[int | str, int]:
        item = cur.next(what)
        if isinstance(item, Tok):
            if item.kind == ID:
                return item.value, item.pos  # type: ignore[no-any-return]
            if item.kind == ATOM and item.text[:1].isdigit():
                return cur_u32(item, self.src), item.pos
        raise cur.unexpected(item)

    def peek_index(self, cur: Cursor) -> bool:
        return cur.peek_is_index()

    def item_ref(self, cur: Cursor, sort: str) -> Ref:
        """The inside of ``(sort idx "name"*)`` (the sort keyword(s) already taken)."""
        idx, pos = self.index_tok(cur, f"{sort} index")
        names = []
        while cur.more():
            names.append(cur.name())
        return Ref(sort, idx, pos, tuple(names))

    def core_item_ref(self, cur: Cursor, sort: str) -> Ref:
        """The inside of ``(core sort idx "name"?)`` after the keywords."""
        idx, pos = self.index_tok(cur, f"{sort} index")
        names: tuple[str, ...] = ()
        if cur.more():
            names = (cur.name(),)
        cur.expect_end()
        return Ref(sort, idx, pos, names)

    def index_or_ref(self, cur: Cursor, sort: str) -> Ref:
        """``idx`` or ``(sort idx "name"*)``."""
        if cur.peek_is_index():
            idx, pos = self.index_tok(cur, f"{sort} index")
            return Ref(sort, idx, pos)
        sub = cur.list(sort)
        return self.item_ref(sub, sort)

    def core_prefixed_ref(self, cur: Cursor, sort: str) -> Ref:
        """``idx`` or ``(core sort idx "name"?)`` (``sort`` includes ``core ``)."""
        if cur.peek_is_index():
            idx, pos = self.index_tok(cur, f"{sort} index")
            return Ref(sort, idx, pos)
        item = cur.next(sort)
        if not isinstance(item, Node):
            raise cur.unexpected(item)
        sub = Cursor(item, self.src, 0)
        first = sub.keyword()
        word = sort.split(" ", 1)[1]
        if first.text == word:
            raise self.err(f"the `core` keyword is required in this reference: `({word} ...)` "
                           f"should be written `(core {word} ...)`", first.pos)  # fmt: skip
        if first.text != "core":
            raise sub.unexpected(first)
        sub.keyword(word)
        return self.core_item_ref(sub, sort)

    def prefixed_contents(self, cur: Cursor, sort: str) -> Ref:
        """The contents of ``(memory ...)``: ``idx`` or ``(core memory idx "name"?)``."""
        if cur.peek_is_index():
            idx, pos = self.index_tok(cur, f"{sort} index")
            if cur.more():
                word = sort.split(" ", 1)[1]
                raise self.err(f"an export name must be written inside a nested reference: "
                               f"`({word} $i \"name\")` should be written "
                               f"`({word} (core {word} $i \"name\"))`", cur.pos())  # fmt: skip
            return Ref(sort, idx, pos)
        sub = cur.list("core")
        sub.keyword(sort.split(" ", 1)[1])
        ref = self.core_item_ref(sub, sort)
        cur.expect_end()
        return ref

    def sort_ref(self, cur: Cursor) -> Ref:
        """A parenthesised ``externidx``: ``(func $f)``, ``(core module $i "m")``, ..."""
        sub = cur.list()
        kw = sub.keyword()
        if kw.text == "core":
            sub.keyword("module")
            return self.item_ref(sub, "core module")
        if kw.text not in _SORT_WORDS:
            raise sub.unexpected(kw)
        return self.item_ref(sub, kw.text)

    # ------------------------------------------------------------ value types
    def valtype(self, cur: Cursor) -> Use:
        item = cur.next("value type")
        pos = item.pos
        if isinstance(item, Tok):
            if item.kind == ID:
                return Use(Ref("type", item.value, pos), pos)
            if item.kind == ATOM:
                t = _PRIM_ALIASES.get(item.text, item.text)
                if t in C.PRIMITIVES:
                    return Use(t, pos)
                if item.text[:1].isdigit():
                    return Use(Ref("type", cur_u32(item, self.src), pos), pos)
            raise cur.unexpected(item)
        return Use(self.defvaltype(Cursor(item, self.src, 0)), pos)

    def opt_valtype(self, cur: Cursor) -> Use | None:
        item = cur.peek()
        if item is None:
            return None
        if isinstance(item, Node) and item.head() == "error":
            return None
        return self.valtype(cur)

    def defvaltype(self, cur: Cursor) -> list[Any]:
        """An inline defined type ``(record ...)`` etc. as ``[kind, ...]``."""
        kw = cur.keyword()
        head = kw.text
        out: list[Any]
        if head == "record":
            fields = []
            while cur.more():
                f = cur.list("field")
                name = f.name()
                fields.append((name, self.valtype(f)))
                f.expect_end()
            out = ["record", fields]
        elif head == "variant":
            cases = []
            while cur.more():
                c = cur.list("case")
                c.take_id()
                name = c.name()
                t = self.valtype(c) if c.more() and not (c.peek_head() == "refines") else None
                refines = c.take_list("refines")
                if refines is not None:
                    raise self.err("variant case refinement is not supported", refines.node.pos)
                c.expect_end()
                cases.append((name, t))
            out = ["variant", cases]
        elif head == "list":
            t = self.valtype(cur)
            length = cur.u32() if cur.more() else None
            out = ["list", t, length]
        elif head == "tuple":
            ts = []
            while cur.more():
                ts.append(self.valtype(cur))
            out = ["tuple", ts]
        elif head in ("flags", "enum"):
            labels = []
            while cur.more():
                labels.append(cur.name())
            out = [head, labels]
        elif head == "option":
            out = ["option", self.valtype(cur)]
        elif head == "result":
            ok = self.opt_valtype(cur)
            err = None
            e = cur.take_list("error")
            if e is not None:
                err = self.valtype(e)
                e.expect_end()
            out = ["result", ok, err]
        elif head in ("own", "borrow"):
            idx, pos = self.index_tok(cur, "type index")
            out = [head, Ref("type", idx, pos)]
        elif head in ("stream", "future"):
            out = [head, self.valtype(cur) if cur.more() else None]
        elif head == "map":
            k = self.valtype(cur)
            out = ["map", k, self.valtype(cur)]
        else:
            raise cur.unexpected(kw)
        cur.expect_end()
        return out

    # ------------------------------------------------------------ type definitions
    def deftype(self, cur: Cursor) -> list[Any]:
        """The definition in ``(type $id? <deftype>)``."""
        item = cur.next("type definition")
        if isinstance(item, Tok):
            t = _PRIM_ALIASES.get(item.text, item.text) if item.kind == ATOM else None
            if t not in C.PRIMITIVES:
                raise cur.unexpected(item)
            return ["prim", t]
        sub = Cursor(item, self.src, 0)
        head = item.head()
        if head == "func":
            sub.keyword()
            return self.functype(sub)
        if head in ("component", "instance"):
            sub.keyword()
            return [head, list(sub.items[sub.i:]), item.pos]
        if head == "resource":
            sub.keyword()
            rep_l = sub.list("rep")
            rep = rep_l.keyword().text
            if rep not in NUM_TYPES:
                raise rep_l.unexpected(rep_l.items[rep_l.i - 1])
            rep_l.expect_end()
            dtor = None
            d = sub.take_list("dtor")
            if d is not None:
                dtor = self.core_prefixed_ref(d, "core func")
                d.expect_end()
            sub.expect_end()
            return ["resource", rep, dtor]
        if head in _DEFVAL_HEADS:
            return self.defvaltype(sub)
        raise cur.unexpected(item)

    def functype(self, cur: Cursor) -> list[Any]:
        """``async? (param "n" t)* (result t)?`` as ``["func", params, result, async]``."""
        is_async = cur.take_keyword("async")
        params = []
        while (p := cur.take_list("param")) is not None:
            name = p.name()
            params.append((name, self.valtype(p)))
            p.expect_end()
        result = None
        r = cur.take_list("result")
        if r is not None:
            if r.peek_is_string():
                raise r.error("named results are not supported")
            result = self.valtype(r)
            r.expect_end()
        cur.expect_end()
        return ["func", params, result, is_async]

    def type_use(self, cur: Cursor, kind: str) -> Use:
        """``(type idx "name"*)`` or an inline definition of ``kind`` (the rest of ``cur``)."""
        pos = cur.pos()
        if _is_type_ref(cur.peek()):
            sub = cur.list("type")
            ref = self.item_ref(sub, "type")
            return Use(ref, pos)
        if kind == "func":
            return Use(self.functype(cur), pos)
        if kind in ("component", "instance"):
            items = list(cur.items[cur.i:])
            cur.i = len(cur.items)
            return Use([kind, items, pos], pos)
        if kind == "core module":
            items = list(cur.items[cur.i:])
            cur.i = len(cur.items)
            return Use(["module", items, pos], pos)
        raise cur.unexpected()

    def core_type_use(self, cur: Cursor) -> Use:
        pos = cur.pos()
        if _is_type_ref(cur.peek()):
            sub = cur.list("type")
            return Use(self.core_item_ref(sub, "core type"), pos)
        items = list(cur.items[cur.i:])
        cur.i = len(cur.items)
        return Use(["module", items, pos], pos)

    def item_sig(self, cur: Cursor, *, bind_id: bool = True) -> ItemSig:
        """``(func $id? <typeuse>)`` etc. (a whole list from ``cur``)."""
        sub = cur.list()
        pos = sub.node.pos
        kw = sub.keyword().text
        if kw == "core":
            sub.keyword("module")
            ident = sub.take_id() if bind_id else None
            return ItemSig("core module", ident, self.core_type_use(sub), pos)
        if kw not in _SORT_WORDS:
            raise sub.unexpected(sub.items[0])
        ident = sub.take_id() if bind_id else None
        if kw == "type":
            b = sub.list()
            bkw = b.keyword().text
            if bkw == "eq":
                idx, ipos = self.index_tok(b, "type index")
                b.expect_end()
                sub.expect_end()
                return ItemSig("type", ident, ("eq", Ref("type", idx, ipos)), pos)
            if bkw == "sub":
                b.keyword("resource")
                b.expect_end()
                sub.expect_end()
                return ItemSig("type", ident, ("sub",), pos)
            raise b.unexpected(b.items[0])
        if kw == "value":
            vt = self.valtype(sub)
            sub.expect_end()
            return ItemSig("value", ident, vt, pos)
        use = self.type_use(sub, kw)
        sub.expect_end()
        return ItemSig(kw, ident, use, pos)

    # ------------------------------------------------------------ fields: parse + lower
    def f_import(self, cur: Cursor, node: Node) -> None:
        name = self.extern_name(cur)
        sig = self.item_sig(cur)
        cur.expect_end()
        self.lower_import(name, sig, node.pos)

    def lower_import(self, name: C.ExternName, sig: ItemSig, pos: int) -> None:
        self.expand_sig(sig)
        desc = self.resolve_sig(sig)
        self.emit(C.ImportDef(name, desc))
        self.cur_scope.register(desc.kind, sig.ident, self.src, sig.pos)

    def f_export(self, cur: Cursor, node: Node) -> None:
        ident = cur.take_id()
        name = self.extern_name(cur)
        ref = self.sort_ref(cur)
        sig = self.item_sig(cur, bind_id=False) if cur.more() else None
        cur.expect_end()
        self.lower_export((ident, name, ref, sig, node.pos))

    def lower_export(self, item: tuple[Any, ...]) -> None:
        ident, name, ref, sig, pos = item
        desc = None
        if sig is not None:
            self.expand_sig(sig)
            desc = self.resolve_sig(sig)
        idx = self.resolve(ref)
        self.emit(C.ExportDef(name, ref.sort, idx, desc))
        self.cur_scope.register(ref.sort, ident, self.src, pos)

    def f_alias(self, cur: Cursor, node: Node) -> None:
        alias, sort, ident = self.parse_alias(cur)
        self.emit(alias)
        self.cur_scope.register(sort, ident, self.src, node.pos)

    def parse_alias(self, cur: Cursor) -> tuple[Any, str, str | None]:
        """``export $i "n" (sort $id?)`` | ``core export ...`` | ``outer o i (sort $id?)``."""
        kw = cur.keyword().text
        if kw == "export":
            inst, ipos = self.index_tok(cur, "instance index")
            name = cur.name()
            sort, ident = self.alias_target(cur)
            if sort.startswith("core ") and sort != "core module":
                raise cur.error("expected a component sort")
            i = self.resolve(Ref("instance", inst, ipos))
            return C.ExportAlias(sort, i, name), sort, ident
        if kw == "core":
            cur.keyword("export")
            inst, ipos = self.index_tok(cur, "core instance index")
            name = cur.name()
            sort, ident = self.alias_target(cur)
            if not sort.startswith("core "):
                raise cur.error("expected a core sort")
            i = self.resolve(Ref("core instance", inst, ipos))
            return C.CoreExportAlias(sort, i, name), sort, ident
        if kw == "outer":
            o, opos = self.index_tok(cur, "outer index")
            oi, ipos = self.index_tok(cur, "index")
            sort, ident = self.alias_target(cur)
            if sort not in _ALIASABLE_OUTER:
                raise cur.error(f"`{sort}` cannot be aliased from an outer scope")
            count, index = self.outer(o, opos, oi, ipos, sort)
            return C.OuterAlias(sort, count, index), sort, ident
        raise cur.unexpected(cur.items[cur.i - 1])

    def alias_target(self, cur: Cursor) -> tuple[str, str | None]:
        sub = cur.list()
        kw = sub.keyword().text
        if kw == "core":
            word = sub.keyword().text
            if word not in _CORE_SORT_WORDS:
                raise sub.unexpected(sub.items[1])
            sort = "core " + word
        elif kw in _SORT_WORDS:
            sort = kw
        else:
            raise sub.unexpected(sub.items[0])
        ident = sub.take_id()
        sub.expect_end()
        cur.expect_end()
        return sort, ident

    def outer(self, o: int | str, opos: int, i: int | str, ipos: int, sort: str) -> tuple[int, int]:
        """Resolve ``alias outer o i``: the count and the index in that scope."""
        if isinstance(o, int) and isinstance(i, int):
            return o, i  # checked by validation
        scope = self.cur_scope
        if isinstance(o, str):
            depth = 0
            s: _Scope | None = scope
            while s is not None and s.ident != o:
                s = s.parent
                depth += 1
            if s is None:
                raise self.err(f"outer component `{o}` not found", opos)
        else:
            depth = o
            s = scope
            for _ in range(depth):
                s = s.parent if s is not None else None
            if s is None:
                raise self.err(f"outer count of `{depth}` is too large", opos)
        if isinstance(i, str):
            found = s.lookup(sort, i)
            if found is None:
                raise self.err(f"unknown {sort} ${i}", ipos)
            return depth, found
        return depth, i

    def f_type(self, cur: Cursor, node: Node) -> None:
        ident = cur.take_id()
        exports = self.inline_exports(cur)
        t = self.deftype(cur)
        cur.expect_end()
        self.lower_typedef(ident, t, node.pos)
        if exports:
            for name in exports:
                self.cur_scope.appends.append(
                    (None, name, Ref("type", self._named(ident, "type"), node.pos), None, node.pos))

    def _named(self, ident: str | None, sort: str) -> int | str | Gensym:
        """The identifier to refer to the item just registered (a gensym if it has none)."""
        if ident is not None:
            return ident
        scope = self.cur_scope
        g = Gensym()
        idx = scope.counts[sort] - 1
        scope.ids.setdefault(sort, {})[g] = idx
        return g

    def lower_typedef(self, ident: Ident, t: list[Any], pos: int) -> int:
        """Expand, resolve and emit a type definition; register it. Returns its index."""
        self.expand_deftype(t)
        d = self.resolve_deftype(t)
        scope = self.cur_scope
        if scope.kind == "component":
            self.emit(C.TypeDef(d))
        else:
            self.emit(C.TypeDecl(d))
        return scope.register("type", ident, self.src, pos)

    # ------------------------------------------------------------ core modules / instances
    def f_core_module(self, cur: Cursor, node: Node) -> None:
        ident = cur.take_id()
        exports = self.inline_exports(cur)
        imp = self.inline_import(cur)
        if imp is not None:
            sig = ItemSig("core module", ident, self.core_type_use(cur), node.pos)
            self.lower_import(imp, sig, node.pos)
        else:
            head: list[Tok | Node] = [Tok(ID, "$" + ident, node.pos, ident)] if ident else []
            rest = Node(head + cur.items[cur.i:], node.pos, node.end)
            module = parse_module(Cursor(rest, self.src, 0))
            self.emit(C.CoreModuleDef(module))
            self.cur_scope.register("core module", ident, self.src, node.pos)
        for name in exports:
            self.cur_scope.appends.append(
                (None, name, Ref("core module", self._named(ident, "core module"), node.pos),
                 None, node.pos))  # fmt: skip

    def f_core_instance(self, cur: Cursor, node: Node) -> None:
        ident = cur.take_id()
        inst = cur.take_list("instantiate")
        if inst is not None:
            module = self.index_or_ref(inst, "module")
            module.sort = "core module"
            args: list[tuple[str, Any]] = []
            while inst.more():
                w = inst.list("with")
                name = w.name()
                arg = w.list("instance")
                if arg.peek_is_index():
                    args.append((name, self.core_item_ref(arg, "core instance")))
                else:
                    args.append((name, self.core_exports(arg)))
                w.expect_end()
            cur.expect_end()
            # expand: bags of exports become instances placed first
            for i, (name, arg) in enumerate(args):
                if isinstance(arg, list):
                    g = Gensym()
                    self.lower_core_bag(arg, g, node.pos)
                    args[i] = (name, Ref("core instance", g, node.pos))
            m = self.resolve(module)
            rargs = tuple((name, self.resolve(r)) for name, r in args)
            self.emit(C.CoreInstantiate(m, rargs))
        else:
            exports = self.core_exports(cur)
            self.lower_core_bag(exports, ident, node.pos)
            return
        self.cur_scope.register("core instance", ident, self.src, node.pos)

    def core_exports(self, cur: Cursor) -> list[tuple[str, Ref]]:
        out = []
        while cur.more():
            e = cur.list("export")
            name = e.name()
            s = e.list()
            word = s.keyword().text
            if word not in ("func", "table", "memory", "global", "tag"):
                raise s.unexpected(s.items[0])
            out.append((name, self.core_item_ref(s, "core " + word)))
            e.expect_end()
        return out

    def lower_core_bag(self, exports: list[tuple[str, Ref]], ident: Ident, pos: int) -> None:
        resolved = tuple((name, r.sort, self.resolve(r)) for name, r in exports)
        self.emit(C.CoreInlineExports(resolved))
        self.cur_scope.register("core instance", ident, self.src, pos)

    def f_core_type(self, cur: Cursor, node: Node) -> None:
        ident = cur.take_id()
        item = cur.next("core type definition")
        if isinstance(item, Node) and item.head() == "module":
            decls = self.module_type(Cursor(item, self.src, 1), ident)
            cur.expect_end()
            self.emit_core_type(C.ModuleTypeDef(decls))
            self.cur_scope.register("core type", ident, self.src, node.pos)
            return
        scope = self.cur_scope
        idx = scope.register("core type", ident, self.src, node.pos)
        ctx = self.core_context()
        end = item.end if isinstance(item, Node) else item.pos + len(item.text)
        sub = Cursor(Node([item], item.pos, end), self.src, 0)
        st = ctx.subtype(sub, idx)
        cur.expect_end()
        self.emit_core_type(RecType((st,)))

    def f_core_rec(self, cur: Cursor, node: Node) -> None:
        scope = self.cur_scope
        base = scope.counts.get("core type", 0)
        subs_nodes = []
        while cur.more():
            t = cur.list("type")
            ident = t.take_id()
            scope.register("core type", ident, self.src, t.node.pos)
            subs_nodes.append(t)
        ctx = self.core_context()
        subs: list[SubType] = []
        for i, t in enumerate(subs_nodes):
            subs.append(ctx.subtype(t, base + i))
        self.emit_core_type(RecType(tuple(subs), explicit=True))

    def emit_core_type(self, t: C.CoreType) -> None:
        if self.cur_scope.kind == "component":
            self.emit(C.CoreTypeDef(t))
        else:
            self.emit(C.CoreTypeDecl(t))

    def core_context(self) -> ModuleContext:
        """A ModuleContext resolving ``$id`` type names in this scope's core types."""
        return _CoreTypes(self.src, self.cur_scope)

    def module_type(self, cur: Cursor, ident: str | None) -> tuple[C.ModuleDecl, ...]:
        """The declarations of ``(module ...)`` in a core type."""
        scope = _Scope("module type", ident, self.cur_scope)
        saved = self.scope
        self.scope = scope
        m = Module()
        ctx = _ModuleTypes(self.src, scope, m)
        out: list[C.ModuleDecl] = []
        try:
            while cur.more():
                node = cur.list()
                node.i = 1
                head = node.node.head()
                before = len(m.types)
                if head == "type":
                    tid = node.take_id()
                    idx = scope.register("core type", tid, self.src, node.node.pos)
                    st = ctx.subtype(node, idx)
                    ctx.add_types(RecType((st,)))
                    out.append(C.CoreTypeDeclM(RecType((st,))))
                    continue
                if head == "rec":
                    base = scope.counts.get("core type", 0)
                    tnodes = []
                    while node.more():
                        t = node.list("type")
                        scope.register("core type", t.take_id(), self.src, t.node.pos)
                        tnodes.append(t)
                    subs = tuple(ctx.subtype(t, base + i) for i, t in enumerate(tnodes))
                    ctx.add_types(RecType(subs, explicit=True))
                    out.append(C.CoreTypeDeclM(RecType(subs, explicit=True)))
                    continue
                if head == "alias":
                    node.keyword("outer")
                    o, opos = self.index_tok(node, "outer index")
                    i, ipos = self.index_tok(node, "index")
                    t = node.list("type")
                    aid = t.take_id()
                    t.expect_end()
                    node.expect_end()
                    count, index = self.outer(o, opos, i, ipos, "core type")
                    scope.register("core type", aid, self.src, node.node.pos)
                    ctx.reserve_type()
                    out.append(C.CoreOuterAlias(count, index))
                    continue
                if head == "import":
                    mod, name = node.name(), node.name()
                    kind, desc = self.core_item_sig(node, ctx)
                    node.expect_end()
                    decl: C.ModuleDecl = C.CoreImportDecl(Import(mod, name, kind, desc))
                elif head == "export":
                    name = node.name()
                    kind, desc = self.core_item_sig(node, ctx)
                    node.expect_end()
                    decl = C.CoreExportDecl(name, kind, desc)
                else:
                    raise node.unexpected(node.items[0])
                for rt in m.types[before:]:  # inline function types, declared first
                    scope.register("core type", None, self.src, node.node.pos)
                    out.append(C.CoreTypeDeclM(rt))
                out.append(decl)
        finally:
            self.scope = saved
        return tuple(out)

    def core_item_sig(self, cur: Cursor, ctx: ModuleContext) -> tuple[str, Any]:
        sub = cur.list()
        kind = sub.keyword().text
        sub.take_id()
        b = Builder(ctx)
        if kind == "func":
            idx, _, _ = ctx.typeuse(sub, names=True)
            desc: Any = idx
        elif kind == "tag":
            desc = TagType(ctx.typeuse(sub, names=True)[0])
        elif kind == "table":
            desc = b.tabletype(sub)
        elif kind == "memory":
            desc = b.memtype(sub)
        elif kind == "global":
            desc = b.globaltype(sub)
        else:
            raise sub.unexpected(sub.items[0])
        sub.expect_end()
        return kind, desc

    # ------------------------------------------------------------ nested components
    def f_component(self, cur: Cursor, node: Node) -> None:
        ident = cur.take_id()
        exports = self.inline_exports(cur)
        imp = self.inline_import(cur)
        if imp is not None:
            sig = ItemSig("component", ident, self.type_use(cur, "component"), node.pos)
            self.lower_import(imp, sig, node.pos)
        else:
            comp = self.component(ident, cur, self.cur_scope)
            self.emit(C.ComponentDef(comp))
            self.cur_scope.register("component", ident, self.src, node.pos)
        for name in exports:
            self.cur_scope.appends.append(
                (None, name, Ref("component", self._named(ident, "component"), node.pos),
                 None, node.pos))  # fmt: skip

    def f_instance(self, cur: Cursor, node: Node) -> None:
        ident = cur.take_id()
        exports = self.inline_exports(cur)
        imp = self.inline_import(cur)
        if imp is not None:
            sig = ItemSig("instance", ident, self.type_use(cur, "instance"), node.pos)
            self.lower_import(imp, sig, node.pos)
        else:
            inst = cur.take_list("instantiate")
            if inst is not None:
                comp = self.index_or_ref(inst, "component")
                args: list[tuple[str, Any]] = []
                while inst.more():
                    w = inst.list("with")
                    name = w.name()
                    item = w.peek()
                    if isinstance(item, Node) and item.head() == "instance" and not (
                            len(item.items) > 1 and isinstance(item.items[1], Tok)
                            and item.items[1].kind in (ID, ATOM)):  # fmt: skip
                        bag = self.bag(Cursor(w.next(), self.src, 1))  # type: ignore[arg-type]
                        args.append((name, bag))
                    else:
                        args.append((name, self.sort_ref(w)))
                    w.expect_end()
                cur.expect_end()
                for i, (name, arg) in enumerate(args):
                    if isinstance(arg, list):
                        g = Gensym()
                        self.lower_bag(arg, g, node.pos)
                        args[i] = (name, Ref("instance", g, node.pos))
                c = self.resolve(comp)
                rargs = tuple((name, r.sort, self.resolve(r)) for name, r in args)
                self.emit(C.Instantiate(c, rargs))
                self.cur_scope.register("instance", ident, self.src, node.pos)
            else:
                self.lower_bag(self.bag(cur), ident, node.pos)
        for ename in exports:
            self.cur_scope.appends.append(
                (None, ename, Ref("instance", self._named(ident, "instance"), node.pos),
                 None, node.pos))  # fmt: skip

    def bag(self, cur: Cursor) -> list[tuple[C.ExternName, Ref]]:
        out = []
        while cur.more():
            e = cur.list("export")
            name = self.extern_name(e)
            out.append((name, self.sort_ref(e)))
            e.expect_end()
        return out

    def lower_bag(self, exports: list[tuple[C.ExternName, Ref]], ident: Ident, pos: int) -> None:
        resolved = tuple((name, r.sort, self.resolve(r)) for name, r in exports)
        self.emit(C.InlineExports(resolved))
        self.cur_scope.register("instance", ident, self.src, pos)

    # ------------------------------------------------------------ functions
    def f_func(self, cur: Cursor, node: Node) -> None:
        ident = cur.take_id()
        exports = self.inline_exports(cur)
        imp = self.inline_import(cur)
        if imp is not None:
            sig = ItemSig("func", ident, self.type_use(cur, "func"), node.pos)
            cur.expect_end()
            self.lower_import(imp, sig, node.pos)
        elif cur.peek_head() == "alias":
            a = cur.list("alias")
            a.keyword("export")
            inst, ipos = self.index_tok(a, "instance index")
            name = a.name()
            a.expect_end()
            cur.expect_end()
            i = self.resolve(Ref("instance", inst, ipos))
            self.emit(C.ExportAlias("func", i, name))
            self.cur_scope.register("func", ident, self.src, node.pos)
        else:
            last = cur.items[-1] if len(cur.items) > cur.i else None
            if not (isinstance(last, Node) and last.head() == "canon"):
                raise cur.error("expected (canon lift ...)")
            body = Cursor(Node(cur.items[cur.i:-1], node.pos, last.pos), self.src, 0)
            ty = self.type_use(body, "func")
            body.expect_end()
            canon = Cursor(last, self.src, 1)
            canon.keyword("lift")
            fref = self.lift_func(canon)
            opts = self.canon_opts(canon)
            canon.expect_end()
            self.lower_lift(ident, fref, opts, ty, node.pos)
        for ename in exports:
            self.cur_scope.appends.append(
                (None, ename, Ref("func", self._named(ident, "func"), node.pos), None, node.pos))

    def f_core_func(self, cur: Cursor, node: Node) -> None:
        ident = cur.take_id()
        item = cur.list()
        cur.expect_end()
        head = item.node.head()
        if head == "alias":
            item.keyword("alias")
            item.keyword("core")
            item.keyword("export")
            inst, ipos = self.index_tok(item, "core instance index")
            name = item.name()
            item.expect_end()
            i = self.resolve(Ref("core instance", inst, ipos))
            self.emit(C.CoreExportAlias("core func", i, name))
            self.cur_scope.register("core func", ident, self.src, node.pos)
            return
        if head != "canon":
            raise item.unexpected(item.items[0])
        item.keyword("canon")
        self.canon_core(item, ident, node.pos)

    def lift_func(self, cur: Cursor) -> Ref:
        sub = cur.list("core")
        sub.keyword("func")
        return self.core_item_ref(sub, "core func")

    def canon_opts(self, cur: Cursor) -> list[tuple[str, Ref | None]]:
        opts: list[tuple[str, Ref | None]] = []
        while cur.more():
            item = cur.peek()
            if isinstance(item, Tok) and item.kind == ATOM and item.text in O.CANON_OPT_BY_NAME \
                    and not O.CANON_OPT_BY_NAME[item.text].index:  # fmt: skip
                cur.i += 1
                opts.append((item.text, None))
                continue
            if isinstance(item, Node) and item.head() in ("memory", "realloc", "post-return",
                                                          "callback"):  # fmt: skip
                sub = cur.list()
                word = sub.keyword().text
                if word == "memory":
                    ref = self.prefixed_contents(sub, "core memory")
                else:
                    ref = self.core_prefixed_ref(sub, "core func")
                    sub.expect_end()
                opts.append((word, ref))
                continue
            break
        return opts

    def resolve_opts(self, opts: list[tuple[str, Ref | None]]) -> tuple[C.CanonOpt, ...]:
        out = []
        for name, ref in opts:
            out.append(C.CanonOpt(name, None if ref is None else self.resolve(ref)))
        return tuple(out)

    def f_canon(self, cur: Cursor, node: Node) -> None:
        if cur.take_keyword("lift"):
            fref = self.lift_func(cur)
            opts = self.canon_opts(cur)
            f = cur.list("func")
            ident = f.take_id()
            ty = self.type_use(f, "func")
            f.expect_end()
            cur.expect_end()
            self.lower_lift(ident, fref, opts, ty, node.pos)
            return
        # the core function's (core func $id?) comes last
        last = cur.items[-1] if len(cur.items) > cur.i else None
        if not (isinstance(last, Node) and last.head() == "core"):
            raise cur.error("expected (core func $id?)")
        tail = Cursor(last, self.src, 1)
        tail.keyword("func")
        ident = tail.take_id()
        tail.expect_end()
        body = Cursor(Node(cur.items[cur.i:-1], node.pos, last.pos), self.src, 0)
        self.canon_core(body, ident, node.pos)

    def lower_lift(self, ident: Ident, fref: Ref, opts: list[Any], ty: Use, pos: int) -> None:
        self.expand_use(ty, "func")
        t = self.resolve_use(ty)
        f = self.resolve(fref)
        ropts = self.resolve_opts(opts)
        self.emit(C.Canon("lift", (f, ropts, t)))
        self.cur_scope.register("func", ident, self.src, pos)

    def canon_core(self, cur: Cursor, ident: Ident, pos: int) -> None:
        """A canonical built-in or ``lower`` (keyword next in ``cur``)."""
        kw = cur.keyword()
        info = O.CANON_BY_NAME.get(kw.text)
        if info is None or info.name == "lift":
            raise cur.unexpected(kw)
        parsed: list[Any] = []
        for imm in info.imms:
            if imm == "lower-func":
                sub = cur.list("func")
                parsed.append(self.item_ref(sub, "func"))
            elif imm == "opts":
                parsed.append(self.canon_opts(cur))
            elif imm == "type":
                parsed.append(self.index_or_ref(cur, "type"))
            elif imm == "resultlist":
                r = cur.take_list("result")
                if r is not None:
                    vt = self.valtype(r)
                    r.expect_end()
                    parsed.append(vt)
                else:
                    parsed.append(None)
            elif imm in O.FLAG_IMMS:
                parsed.append(cur.take_keyword(O.FLAG_IMMS[imm]))
            elif imm == "coreval":
                t = cur.keyword().text
                if t not in NUM_TYPES:
                    raise cur.unexpected(cur.items[cur.i - 1])
                parsed.append(t)
            elif imm == "u32":
                parsed.append(cur.u32())
            elif imm == "memory":
                sub = cur.list("memory")
                parsed.append(self.prefixed_contents(sub, "core memory"))
            elif imm == "coretype":
                parsed.append(self.core_prefixed_ref(cur, "core type"))
            elif imm == "table":
                parsed.append(self.core_prefixed_ref(cur, "core table"))
        cur.expect_end()
        # expand: an inline result type of task.return
        for i, imm in enumerate(info.imms):
            if imm == "resultlist" and parsed[i] is not None:
                self.expand_val(parsed[i])
        args: list[Any] = []
        for imm, v in zip(info.imms, parsed, strict=True):
            if imm in ("lower-func", "type", "memory", "coretype", "table"):
                args.append(self.resolve(v))
            elif imm == "opts":
                args.append(self.resolve_opts(v))
            elif imm == "resultlist":
                args.append(None if v is None else self.resolve_val(v))
            else:
                args.append(v)
        self.emit(C.Canon(info.name, tuple(args)))
        self.cur_scope.register("core func", ident, self.src, pos)

    def f_start(self, cur: Cursor, node: Node) -> None:
        fidx, fpos = self.index_tok(cur, "func index")
        args = []
        results: list[str | None] = []
        while (v := cur.take_list("value")) is not None:
            args.append(self.item_ref(v, "value"))
        while (r := cur.take_list("result")) is not None:
            v = r.list("value")
            results.append(v.take_id())
            v.expect_end()
            r.expect_end()
        cur.expect_end()
        f = self.resolve(Ref("func", fidx, fpos))
        rargs = tuple(self.resolve(a) for a in args)
        self.emit(C.Start(f, rargs, len(results)))
        for ident in results:
            self.cur_scope.register("value", ident, self.src, node.pos)

    def f_value(self, cur: Cursor, node: Node) -> None:
        raise self.err("component value definitions are not supported", node.pos)

    # ------------------------------------------------------------ expansion
    def expand_val(self, u: Use) -> None:
        """Make an inline defined type in value-type position a type definition."""
        if isinstance(u.v, list):
            t = u.v
            self.expand_deftype(t)
            g = Gensym()
            d = self.resolve_deftype(t)
            scope = self.cur_scope
            self.emit(C.TypeDef(d) if scope.kind == "component" else C.TypeDecl(d))
            scope.register("type", g, self.src, u.pos)
            u.v = Ref("type", g, u.pos)

    def expand_deftype(self, t: list[Any]) -> None:
        kind = t[0]
        if kind == "record":
            for _, u in t[1]:
                self.expand_val(u)
        elif kind == "variant":
            for _, u in t[1]:
                if u is not None:
                    self.expand_val(u)
        elif kind in ("list", "option"):
            self.expand_val(t[1])
        elif kind == "tuple":
            for u in t[1]:
                self.expand_val(u)
        elif kind == "result":
            for u in t[1:]:
                if u is not None:
                    self.expand_val(u)
        elif kind in ("stream", "future"):
            if t[1] is not None:
                self.expand_val(t[1])
        elif kind == "map":
            self.expand_val(t[1])
            self.expand_val(t[2])
        elif kind == "func":
            for _, u in t[1]:
                self.expand_val(u)
            if t[2] is not None:
                self.expand_val(t[2])

    def expand_use(self, u: Use, kind: str) -> None:
        """An inline type in a type use becomes a type definition placed first."""
        if isinstance(u.v, list):
            t = u.v
            g = Gensym()
            if t[0] == "module":
                decls = self.module_type(Cursor(Node(t[1], t[2], t[2]), self.src, 0), None)
                self.emit_core_type(C.ModuleTypeDef(decls))
                self.cur_scope.register("core type", g, self.src, u.pos)
                u.v = Ref("core type", g, u.pos)
                return
            self.lower_typedef(g, t, u.pos)
            u.v = Ref("type", g, u.pos)

    def expand_sig(self, sig: ItemSig) -> None:
        if sig.kind in ("func", "component", "instance", "core module"):
            self.expand_use(sig.use, sig.kind)
        elif sig.kind == "value":
            self.expand_val(sig.use)

    # ------------------------------------------------------------ resolution
    def resolve(self, ref: Ref) -> int:
        """The index ``ref`` denotes in the current scope, emitting aliases as needed."""
        scope = self.cur_scope
        if ref.names:
            if ref.sort.startswith("core ") and ref.sort not in ("core module",):
                inst = self.resolve(Ref("core instance", ref.idx, ref.pos))
                if ref.sort in ("core type", "core instance"):
                    raise self.err("core instances cannot export this kind of item, so an export "
                                   "name cannot be used to resolve this reference", ref.pos)  # fmt: skip
                self.emit_alias(C.CoreExportAlias(ref.sort, inst, ref.names[0]))
                return scope.register(ref.sort, None, self.src, ref.pos)
            idx = self.resolve(Ref("instance", ref.idx, ref.pos))
            for k, name in enumerate(ref.names):
                sort = ref.sort if k == len(ref.names) - 1 else "instance"
                self.emit_alias(C.ExportAlias(sort, idx, name))
                idx = scope.register(sort, None, self.src, ref.pos)
            return idx
        if isinstance(ref.idx, int):
            return ref.idx
        found = scope.lookup(ref.sort, ref.idx)
        if found is not None:
            return found
        depth = 1
        s = scope.parent
        while s is not None:
            found = s.lookup(ref.sort, ref.idx)
            if found is not None:
                if ref.sort not in _ALIASABLE_OUTER:
                    raise self.err(f"outer item `{ref.idx}` is not a module, type, or component",
                                   ref.pos)  # fmt: skip
                self.emit_alias(C.OuterAlias(ref.sort, depth, found))
                return scope.register(ref.sort, ref.idx, self.src, ref.pos, named=False)
            s = s.parent
            depth += 1
        name = ref.idx if isinstance(ref.idx, str) else "<generated>"
        raise self.err(f"unknown {ref.sort} ${name}", ref.pos)

    def emit_alias(self, alias: Any) -> None:
        if self.cur_scope.kind == "component":
            self.emit(alias)
        else:
            self.emit(C.AliasDecl(alias))

    def resolve_val(self, u: Use) -> C.ValType:
        v = u.v
        if isinstance(v, str):
            return v
        if isinstance(v, Ref):
            return self.resolve(v)
        raise AssertionError("unexpanded inline type")

    def resolve_use(self, u: Use) -> int:
        assert isinstance(u.v, Ref)
        return self.resolve(u.v)

    def resolve_sig(self, sig: ItemSig) -> C.ExternDesc:
        if sig.kind == "type":
            if sig.use[0] == "eq":
                return C.ExternDesc("type", self.resolve(sig.use[1]), "eq")
            return C.ExternDesc("type", 0, "sub")
        if sig.kind == "value":
            return C.ExternDesc("value", 0, "type", self.resolve_val(sig.use))
        return C.ExternDesc(sig.kind, self.resolve_use(sig.use))

    def resolve_deftype(self, t: list[Any]) -> C.DefType:
        kind = t[0]
        rv = self.resolve_val
        if kind == "prim":
            return C.PrimType(t[1])
        if kind == "record":
            return C.RecordType(tuple((n, rv(u)) for n, u in t[1]))
        if kind == "variant":
            return C.VariantType(tuple((n, None if u is None else rv(u)) for n, u in t[1]))
        if kind == "list":
            return C.ListType(rv(t[1]), t[2])
        if kind == "tuple":
            return C.TupleType(tuple(rv(u) for u in t[1]))
        if kind == "flags":
            return C.FlagsType(tuple(t[1]))
        if kind == "enum":
            return C.EnumType(tuple(t[1]))
        if kind == "option":
            return C.OptionType(rv(t[1]))
        if kind == "result":
            return C.ResultType(None if t[1] is None else rv(t[1]),
                                None if t[2] is None else rv(t[2]))  # fmt: skip
        if kind == "own":
            return C.OwnType(self.resolve(t[1]))
        if kind == "borrow":
            return C.BorrowType(self.resolve(t[1]))
        if kind == "stream":
            return C.StreamType(None if t[1] is None else rv(t[1]))
        if kind == "future":
            return C.FutureType(None if t[1] is None else rv(t[1]))
        if kind == "map":
            return C.MapType(rv(t[1]), rv(t[2]))
        if kind == "func":
            return C.FuncType(tuple((n, rv(u)) for n, u in t[1]),
                              None if t[2] is None else rv(t[2]), t[3])  # fmt: skip
        if kind == "resource":
            dtor = None if t[2] is None else self.resolve(t[2])
            return C.ResourceType(t[1], dtor)
        if kind in ("component", "instance"):
            return self.type_scope(kind, t[1], t[2])
        raise AssertionError(kind)

    def type_scope(self, kind: str, items: list[Any], pos: int) -> C.DefType:
        """The declarations of a ``(component ...)``/``(instance ...)`` type."""
        scope = _Scope(kind + " type", None, self.cur_scope)
        saved = self.scope
        self.scope = scope
        try:
            for item in items:
                if not isinstance(item, Node):
                    raise self.err("expected a declaration", item.pos)
                self.decl(item, kind == "component")
        finally:
            self.scope = saved
        decls = tuple(scope.out)
        return C.ComponentTypeDef(decls) if kind == "component" else C.InstanceTypeDef(decls)

    def decl(self, node: Node, component: bool) -> None:
        cur = Cursor(node, self.src, 1)
        head = node.head()
        if head == "core":
            kw = cur.keyword().text
            if kw == "type":
                self.f_core_type(cur, node)
                return
            if kw == "rec":
                self.f_core_rec(cur, node)
                return
            raise cur.unexpected(node.items[1])
        if head == "type":
            ident = cur.take_id()
            t = self.deftype(cur)
            cur.expect_end()
            self.lower_typedef(ident, t, node.pos)
            return
        if head == "alias":
            alias, sort, ident = self.parse_alias(cur)
            self.emit(C.AliasDecl(alias))
            self.cur_scope.register(sort, ident, self.src, node.pos)
            return
        if head == "import" and component:
            name = self.extern_name(cur)
            sig = self.item_sig(cur)
            cur.expect_end()
            self.expand_sig(sig)
            desc = self.resolve_sig(sig)
            self.emit(C.ImportDecl(name, desc))
            self.cur_scope.register(desc.kind, sig.ident, self.src, sig.pos)
            return
        if head == "export":
            name = self.extern_name(cur)
            sig = self.item_sig(cur)
            cur.expect_end()
            self.expand_sig(sig)
            desc = self.resolve_sig(sig)
            self.emit(C.ExportDecl(name, desc))
            self.cur_scope.register(desc.kind, sig.ident, self.src, sig.pos)
            return
        raise cur.unexpected(node.items[0] if node.items else None)


def _is_inline_extern(item: Tok | Node | None, head: str) -> bool:
    """``(export "name" <attrs>)`` / ``(import "name" <attrs>)`` sugar."""
    if not (isinstance(item, Node) and item.head() == head and len(item.items) >= 2):
        return False
    name = item.items[1]
    if not (isinstance(name, Tok) and name.kind == STRING):
        return False
    return all(isinstance(a, Node) and a.head() in ("implements", "versionsuffix", "external-id")
               for a in item.items[2:])  # fmt: skip


def _is_type_ref(item: Tok | Node | None) -> bool:
    """``(type idx "name"*)`` (a reference), not ``(type $id <definition>)``."""
    if not (isinstance(item, Node) and item.head() == "type" and len(item.items) >= 2):
        return False
    idx = item.items[1]
    if not (isinstance(idx, Tok) and (idx.kind == ID or (idx.kind == ATOM and idx.text[:1].isdigit()))):
        return False
    return all(isinstance(t, Tok) and t.kind == STRING for t in item.items[2:])


def cur_u32(tok: Tok, src: Source) -> int:
    from .cursor import uint_of

    return uint_of(tok, 32, src)


class _CoreTypes(ModuleContext):
    """Core type syntax inside a component: ``$id`` type names resolve in the
    component's (or component type's) core type space."""

    def __init__(self, src: Source, scope: _Scope) -> None:
        super().__init__(src, Module())
        self.scope = scope

    def resolve(self, space: str, item: Tok | Node, cur: Cursor) -> int:
        if space == "type" and isinstance(item, Tok) and item.kind == ID:
            idx = self.scope.lookup("core type", item.value)
            if idx is None:
                raise self.src.error(f"unknown type {item.text}", item.pos)
            return idx
        return super().resolve(space, item, cur)


class _ModuleTypes(ModuleContext):
    """A core module type's own type space (ids bound in its scope); function type
    uses without ``(type x)`` reuse or append plain function types."""

    def __init__(self, src: Source, scope: _Scope, module: Module) -> None:
        super().__init__(src, module)
        self.scope = scope

    def resolve(self, space: str, item: Tok | Node, cur: Cursor) -> int:
        if space == "type" and isinstance(item, Tok) and item.kind == ID:
            idx = self.scope.lookup("core type", item.value)
            if idx is None:
                raise self.src.error(f"unknown type {item.text}", item.pos)
            return idx
        return super().resolve(space, item, cur)

    def functype_index(self, ft: FuncType) -> int:
        """Inline signatures reuse only explicitly declared types (as the wast crate
        does); each other one gets a type of its own."""
        idx = self.functypes.get(ft)
        if idx is None:
            idx = len(self.module.deftypes)
            self.module.types.append(RecType((SubType(ft, True, ()),)))
            self.module.invalidate_types()
        return idx

    def reserve_type(self) -> None:
        """An outer alias takes a type index whose definition is not known here."""
        self.module.types.append(RecType((SubType(_ALIAS_PLACEHOLDER, True, ()),), explicit=True))
        self.module.invalidate_types()


_ALIAS_PLACEHOLDER = StructType(())
"""Stands for an outer-aliased type in a module type's index space: never a function
type, so inline signatures never reuse it (the wast crate does not either)."""


_FIELDS = {
    "import": _Parser.f_import,
    "export": _Parser.f_export,
    "alias": _Parser.f_alias,
    "type": _Parser.f_type,
    "component": _Parser.f_component,
    "instance": _Parser.f_instance,
    "func": _Parser.f_func,
    "canon": _Parser.f_canon,
    "start": _Parser.f_start,
    "value": _Parser.f_value,
}
_CORE_FIELDS = {
    "module": _Parser.f_core_module,
    "instance": _Parser.f_core_instance,
    "type": _Parser.f_core_type,
    "rec": _Parser.f_core_rec,
    "func": _Parser.f_core_func,
}


def is_component_text(text: str) -> bool:
    """Whether module-or-component text starts with ``(component``."""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif text.startswith(";;", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("(;", i):
            depth = 0
            while i < n:
                if text.startswith("(;", i):
                    depth += 1
                    i += 2
                elif text.startswith(";)", i):
                    depth -= 1
                    i += 2
                    if depth == 0:
                        break
                else:
                    i += 1
        else:
            break
    rest = text[i:]
    return rest.startswith("(component") and (len(rest) == 10 or not rest[10].isalnum())


__all__ = ["is_component_text", "parse_component", "parse_component_text"]
