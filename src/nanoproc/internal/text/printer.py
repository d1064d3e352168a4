"""The printer: a module as readable WebAssembly text (WAT), like wasmprinter.

The output reads back (with ``wasm-tools parse`` or our own parser) into the same
module. Fields come in binary section order, one per line, with ``(;N;)`` comments
giving each entity's index; functions have one instruction per line, indented by
block depth, with every block labelled. Names from the name section become ``$id``
identifiers; other custom sections become ``(@custom ...)`` annotations.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..syntax.module import Custom, Data, Elem, Expr, Func, Import, Instr, Module
from ..syntax.ops import BLOCK_STARTS, REF_FUNC
from ..syntax.types import (
    FuncType,
    GlobalType,
    MemType,
    TableType,
    TagType,
    ValType,
)
from .print_fold import folded_body_lines
from .print_instrs import Scope, body_lines, instr_text
from .print_names import IdSpace, format_id, index_comment, label_ids, name_literal, string_literal
from .print_types import Context, func_sig, limits, rec_type_lines, ref_type, val_type

__all__ = ["print_module", "print_instr"]

# Section ids, as ``Custom.after`` records them, and their names in annotations.
_SECTION_NAMES = {
    1: "type", 2: "import", 3: "func", 4: "table", 5: "memory", 6: "global", 7: "export",
    8: "start", 9: "elem", 10: "code", 11: "data", 13: "tag",
}  # fmt: skip
_DATACOUNT = 12
# Section ids in binary order, as the printer emits them.
_ORDER = (1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11)


def print_instr(instr: Instr) -> str:
    """One instruction as text, entities and labels by index (for messages)."""
    return instr_text(Scope(Context()), instr)


def print_module(module: Module, *, fold: bool = False) -> str:
    """The whole module as WAT text; ``fold`` prints bodies in folded S-expressions."""
    return _ModulePrinter(module, fold).run()


class _ModulePrinter:
    def __init__(self, module: Module, fold: bool) -> None:
        self.m = module
        self.fold = fold
        self.ctx = Context.for_module(module)
        self.scope = Scope(self.ctx)
        self.out: list[str] = []

    def run(self) -> str:
        m = self.m
        name = m.names.module if m.names and m.names.module else m.id
        self.out.append(f"(module {format_id(name)}" if name else "(module")
        # Custom sections by the section they follow (-1: unknown, put last). The
        # name section is not among them: its names are the identifiers.
        customs: dict[int, list[Custom]] = {}
        for c in m.customs:
            if c.name != "name":
                known = c.after in _SECTION_NAMES or c.after in (0, _DATACOUNT)
                customs.setdefault(c.after if known else -1, []).append(c)
        self._customs(customs.pop(0, []), "(before first)")
        sections = {
            1: self._types, 2: self._imports, 4: self._tables, 5: self._memories,
            13: self._tags, 6: self._globals, 7: self._exports, 8: self._start,
            9: self._elems, 10: self._funcs, 11: self._datas,
        }  # fmt: skip
        for sid in _ORDER:
            if sid in sections:
                sections[sid]()
            if sid == _DATACOUNT:
                self._customs(customs.pop(sid, []), "(before code)")
            else:
                self._customs(customs.pop(sid, []), f"(after {_SECTION_NAMES[sid]})")
        self._customs(customs.pop(-1, []), "(after last)")
        self.out.append(")")
        self.out.append("")
        return "\n".join(self.out)

    # ------------------------------------------------------------ helpers
    def _customs(self, customs: list[Custom], place: str) -> None:
        for c in customs:
            self.out.append(f"  (@custom {name_literal(c.name)} {place} {string_literal(c.data)})")

    def _const(self, expr: Expr) -> str:
        """A constant expression on one line: each instruction folded on its own."""
        scope = self.scope
        if any(instr[0] in BLOCK_STARTS for instr in expr):
            return " ".join(instr_text(scope, instr) for instr in expr)
        return " ".join(f"({instr_text(scope, instr)})" for instr in expr)

    def _wrapped(self, keyword: str, expr: Expr) -> str:
        """``(i32.const 0)`` for a one-instruction expression, else ``(offset ...)``."""
        if len(expr) == 1 and expr[0][0] not in BLOCK_STARTS:
            return self._const(expr)
        inner = self._const(expr)
        return f"({keyword} {inner})" if inner else f"({keyword})"

    def _type_use(self, typeidx: int) -> str:
        """``(type $t) (param i32) (result i32)``: the index, spelled out for readers."""
        text = f"(type {self.ctx.types.ref(typeidx)})"
        deftypes = self.m.deftypes
        comp = deftypes[typeidx].comp if 0 <= typeidx < len(deftypes) else None
        if isinstance(comp, FuncType):
            text += func_sig(self.ctx, comp)
        return text

    def _table_type(self, tt: TableType) -> str:
        return f"{limits(tt.limits)} {ref_type(self.ctx, tt.elem)}"

    def _mem_type(self, mt: MemType) -> str:
        text = limits(mt.limits)
        if mt.limits.page_size_log2 is not None:
            text += f" (pagesize {1 << mt.limits.page_size_log2})"
        return text

    def _global_type(self, gt: GlobalType) -> str:
        t = val_type(self.ctx, gt.type)
        return f"(mut {t})" if gt.mutable else t

    # ------------------------------------------------------------ sections
    def _types(self) -> None:
        first = 0
        for rec in self.m.types:
            self.out.extend(rec_type_lines(self.ctx, rec, first, "  "))
            first += len(rec.subtypes)

    def _imports(self) -> None:
        counts = dict.fromkeys(("func", "table", "memory", "global", "tag"), 0)
        for imp in self.m.imports:
            index = counts.get(imp.kind, 0)
            counts[imp.kind] = index + 1
            desc = self._import_desc(imp, index)
            self.out.append(
                f"  (import {name_literal(imp.module)} {name_literal(imp.name)} {desc})"
            )

    def _import_desc(self, imp: Import, index: int) -> str:
        ctx, d = self.ctx, imp.desc
        head = f"{imp.kind} {index_comment(index)}"
        if imp.kind == "func" and isinstance(d, int):
            return f"(func {ctx.funcs.decl(index)}{index_comment(index)} {self._type_use(d)})"
        if imp.kind == "table" and isinstance(d, TableType):
            return f"(table {ctx.tables.decl(index)}{index_comment(index)} {self._table_type(d)})"
        if imp.kind == "memory" and isinstance(d, MemType):
            return f"(memory {ctx.memories.decl(index)}{index_comment(index)} {self._mem_type(d)})"
        if imp.kind == "global" and isinstance(d, GlobalType):
            return (
                f"(global {ctx.globals.decl(index)}{index_comment(index)} {self._global_type(d)})"
            )
        if imp.kind == "tag" and isinstance(d, TagType):
            return f"(tag {ctx.tags.decl(index)}{index_comment(index)} {self._type_use(d.typeidx)})"
        raise ValueError(f"import {head}: unexpected description {d!r}")

    def _tables(self) -> None:
        base = len(self.m.imported("table"))
        for i, t in enumerate(self.m.tables, base):
            init = f" {self._const(t.init)}" if t.init is not None else ""
            self.out.append(
                f"  (table {self.ctx.tables.decl(i)}{index_comment(i)} "
                f"{self._table_type(t.type)}{init})"
            )

    def _memories(self) -> None:
        base = len(self.m.imported("memory"))
        for i, mem in enumerate(self.m.memories, base):
            self.out.append(
                f"  (memory {self.ctx.memories.decl(i)}{index_comment(i)} "
                f"{self._mem_type(mem.type)})"
            )

    def _tags(self) -> None:
        base = len(self.m.imported("tag"))
        for i, tag in enumerate(self.m.tags, base):
            self.out.append(
                f"  (tag {self.ctx.tags.decl(i)}{index_comment(i)} "
                f"{self._type_use(tag.type.typeidx)})"
            )

    def _globals(self) -> None:
        base = len(self.m.imported("global"))
        for i, g in enumerate(self.m.globals, base):
            init = self._const(g.init)
            self.out.append(
                f"  (global {self.ctx.globals.decl(i)}{index_comment(i)} "
                f"{self._global_type(g.type)}{' ' + init if init else ''})"
            )

    def _exports(self) -> None:
        spaces = {
            "func": self.ctx.funcs, "table": self.ctx.tables, "memory": self.ctx.memories,
            "global": self.ctx.globals, "tag": self.ctx.tags,
        }  # fmt: skip
        for e in self.m.exports:
            ref = spaces[e.kind].ref(e.index) if e.kind in spaces else str(e.index)
            self.out.append(f"  (export {name_literal(e.name)} ({e.kind} {ref}))")

    def _start(self) -> None:
        if self.m.start is not None:
            self.out.append(f"  (start {self.ctx.funcs.ref(self.m.start)})")

    def _elems(self) -> None:
        for i, e in enumerate(self.m.elems):
            parts = [f"  (elem {self.ctx.elems.decl(i)}{index_comment(i)}"]
            if e.mode == "declarative":
                parts.append("declare")
            elif e.mode == "active":
                if e.explicit_table or e.table:
                    parts.append(f"(table {self.ctx.tables.ref(e.table)})")
                parts.append(self._wrapped("offset", e.offset or []))
            parts.append(self._elem_list(e))
            self.out.append(" ".join(p for p in parts if p) + ")")

    def _elem_list(self, e: Elem) -> str:
        # The function-index form (elemkind 0x00) has type (ref func) in Wasm 3.0.
        if (
            e.funcidx_encoding
            and e.type.heap == "func"
            and all(len(item) == 1 and item[0][0] is REF_FUNC for item in e.init)
        ):
            funcs = self.ctx.funcs
            return " ".join(["func", *(funcs.ref(item[0][1]) for item in e.init)])
        items = [self._wrapped("item", item) for item in e.init]
        return " ".join([ref_type(self.ctx, e.type), *items])

    def _datas(self) -> None:
        for i, d in enumerate(self.m.datas):
            self.out.append(self._data(i, d))

    def _data(self, i: int, d: Data) -> str:
        parts = [f"  (data {self.ctx.datas.decl(i)}{index_comment(i)}"]
        if d.mode == "active":
            if d.explicit_memory or d.memory:
                parts.append(f"(memory {self.ctx.memories.ref(d.memory)})")
            parts.append(self._wrapped("offset", d.offset or []))
        parts.append(string_literal(d.init))
        return " ".join(parts) + ")"

    # ------------------------------------------------------------ code
    def _funcs(self) -> None:
        base = self.m.num_imported_funcs
        for i, f in enumerate(self.m.funcs, base):
            self._func(i, f)

    def _func(self, index: int, f: Func) -> None:
        ctx, m = self.ctx, self.m
        deftypes = m.deftypes
        ft = deftypes[f.typeidx].comp if 0 <= f.typeidx < len(deftypes) else None
        params = ft.params if isinstance(ft, FuncType) else ()
        local_types = f.local_types()
        locals_ = ctx.local_ids(index, len(params) + len(local_types))
        head = [
            f"  (func {ctx.funcs.decl(index)}{index_comment(index)} (type {ctx.types.ref(f.typeidx)})"
        ]
        head.extend(_decls(ctx, "param", params, 0, locals_))
        if isinstance(ft, FuncType) and ft.results:
            head.append(f"(result {' '.join(val_type(ctx, t) for t in ft.results)})")
        self.out.append(" ".join(head))
        if local_types:
            self.out.append(
                "    " + " ".join(_decls(ctx, "local", local_types, len(params), locals_))
            )
        body = f.instrs
        label_names = ctx.names.labels.get(index) if ctx.names else None
        labels = label_ids(label_names, sum(1 for instr in body if instr[0] in BLOCK_STARTS))
        scope = Scope(ctx, locals_, self.scope.cache)
        if self.fold:
            results = len(ft.results) if isinstance(ft, FuncType) else None
            self.out.extend(folded_body_lines(scope, m, body, labels, 2, results))
        else:
            self.out.extend(body_lines(scope, body, labels, 2))
        self.out.append("  )")


def _decls(
    ctx: Context, keyword: str, types: Sequence[ValType], first: int, ids: IdSpace
) -> list[str]:
    """``(param $a i32) (param i64 f32)``: named ones alone, unnamed ones grouped."""
    out: list[str] = []
    group: list[str] = []
    for i, t in enumerate(types, first):
        ident = ids.decl(i)
        if ident:
            if group:
                out.append(f"({keyword} {' '.join(group)})")
                group = []
            out.append(f"({keyword} {ident}{val_type(ctx, t)})")
        else:
            group.append(val_type(ctx, t))
    if group:
        out.append(f"({keyword} {' '.join(group)})")
    return out
