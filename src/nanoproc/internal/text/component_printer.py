"""The component printer: a component as text, like ``wasm-tools print``.

One definition per line (nested components, component and instance types and
embedded core modules indented), each with a ``(;N;)`` comment giving its index in
its index space. Names from the ``component-name`` section become ``$id``
identifiers on the definitions; references are written as indices, so the output
always reads back (with our parser or ``wasm-tools parse``) into the same component.
Canonical definitions are printed by walking their row of ``component_ops.CANON``.
"""

from __future__ import annotations

from typing import Any

from ..syntax import component as C
from ..syntax import component_ops as O
from ..syntax.types import MemType, RecType, TableType, TagType
from .print_names import IdSpace, index_comment, name_literal, string_literal
from .print_types import Context, limits, rec_type_lines, ref_type, val_type
from .printer import print_module

__all__ = ["print_component"]

_CORE_CTX = Context()


def print_component(comp: C.Component) -> str:
    """The whole component as text."""
    out: list[str] = []
    _Printer(comp, out, "").run()
    out.append("")
    return "\n".join(out)


class _Printer:
    def __init__(self, comp: C.Component, out: list[str], indent: str) -> None:
        self.comp = comp
        self.out = out
        self.ind = indent
        self.counts: dict[str, int] = {}
        names = comp.names
        self.ids: dict[str, IdSpace] = {}
        if names is not None:
            for sort, m in names.sorts.items():
                self.ids[sort] = IdSpace(m)

    def next_index(self, sort: str) -> int:
        i = self.counts.get(sort, 0)
        self.counts[sort] = i + 1
        return i

    def decl(self, sort: str) -> str:
        """``$id (;N;)`` for the next definition of ``sort``."""
        i = self.next_index(sort)
        space = self.ids.get(sort)
        ident = space.decl(i) if space is not None else ""
        return f"{ident}{index_comment(i)}"

    def line(self, text: str) -> None:
        self.out.append(self.ind + "  " + text)

    def run(self) -> None:
        names = self.comp.names
        head = "(component"
        name = names.component if names is not None and names.component else self.comp.id
        if name:
            head += " " + IdSpace({0: name}).decl(0).strip()
        self.out.append(self.ind + head)
        for item in self.comp.definitions():
            self.definition(item)
        self.out.append(self.ind + ")")

    # ------------------------------------------------------------ definitions
    def definition(self, item: Any) -> None:
        if isinstance(item, C.CustomSection):
            if item.name != "component-name":
                self.line(f"(@custom {name_literal(item.name)} {string_literal(item.data)})")
        elif isinstance(item, C.CoreModuleDef):
            i = self.next_index("core module")
            text = print_module(item.module).rstrip("\n").split("\n")
            first = "(core " + text[0][1:] + " " + index_comment(i)
            self.line(first)
            for t in text[1:]:
                self.line(t)
        elif isinstance(item, C.CoreInstantiate):
            args = "".join(f" (with {name_literal(n)} (instance {i}))" for n, i in item.args)
            self.line(f"(core instance {self.decl('core instance')} (instantiate {item.module}{args}))")
        elif isinstance(item, C.CoreInlineExports):
            exports = "".join(f" (export {name_literal(n)} ({s[5:]} {i}))" for n, s, i in item.exports)
            self.line(f"(core instance {self.decl('core instance')}{exports})")
        elif isinstance(item, C.CoreTypeDef):
            self.core_type(item.type, self.decl("core type"))
        elif isinstance(item, C.ComponentDef):
            self.next_index("component")
            _Printer(item.component, self.out, self.ind + "  ").run()
        elif isinstance(item, C.Instantiate):
            args = "".join(f" (with {name_literal(n)} ({s} {i}))" for n, s, i in item.args)
            self.line(f"(instance {self.decl('instance')} (instantiate {item.component}{args}))")
        elif isinstance(item, C.InlineExports):
            exports = "".join(f" (export {_name(n)} ({s} {i}))" for n, s, i in item.exports)
            self.line(f"(instance {self.decl('instance')}{exports})")
        elif isinstance(item, (C.ExportAlias, C.CoreExportAlias, C.OuterAlias)):
            self.line(self.alias(item, self.decl(item.sort)))
        elif isinstance(item, C.TypeDef):
            self.type_def(item.type, self.decl("type"))
        elif isinstance(item, C.Canon):
            self.line(self.canon(item))
        elif isinstance(item, C.Start):
            args = "".join(f" (value {a})" for a in item.args)
            results = "".join(f" (result (value {self.decl('value')}))" for _ in range(item.results))
            self.line(f"(start {item.func}{args}{results})")
        elif isinstance(item, C.ImportDef):
            d = self.decl(C.desc_sort(item.desc))
            self.line(f"(import {_name(item.name)} {_desc(item.desc, d)})")
        elif isinstance(item, C.ExportDef):
            d = self.decl(item.sort)
            ascribed = "" if item.desc is None else " " + _desc(item.desc, "")
            self.line(f"(export {d} {_name(item.name)} ({item.sort} {item.index}){ascribed})")
        elif isinstance(item, C.ValueDef):
            self.line(f"(value {self.decl('value')} {_vt(item.type)} (binary {string_literal(item.data)}))")
        else:
            raise TypeError(f"cannot print {item!r}")

    def alias(self, a: Any, d: str) -> str:
        if isinstance(a, C.ExportAlias):
            return f"(alias export {a.instance} {name_literal(a.name)} ({a.sort} {d}))"
        if isinstance(a, C.CoreExportAlias):
            return f"(alias core export {a.instance} {name_literal(a.name)} ({a.sort} {d}))"
        return f"(alias outer {a.count} {a.index} ({a.sort} {d}))"

    def canon(self, c: C.Canon) -> str:
        info = O.CANON_BY_NAME[c.op]
        parts = [f"canon {c.op}"]
        v: Any
        for imm, v in zip(info.imms, c.args, strict=True):
            if imm == "lift-func":
                parts.append(f"(core func {v})")
            elif imm == "lower-func":
                parts.append(f"(func {v})")
            elif imm == "opts":
                parts.extend(_opt(o) for o in v)
            elif imm == "type" and c.op == "lift":
                pass
            elif imm == "resultlist":
                if v is not None:
                    parts.append(f"(result {_vt(v)})")
            elif imm in O.FLAG_IMMS:
                if v:
                    parts.append(O.FLAG_IMMS[imm])
            elif imm == "memory":
                parts.append(f"(memory {v})")
            else:
                parts.append(str(v))
        if c.op == "lift":
            parts.append(f"(func {self.decl('func')} (type {c.args[2]}))")
        else:
            parts.append(f"(core func {self.decl('core func')})")
        return "(" + " ".join(parts) + ")"

    # ------------------------------------------------------------ types
    def type_def(self, t: Any, d: str) -> None:
        if isinstance(t, (C.ComponentTypeDef, C.InstanceTypeDef)):
            kind = "component" if isinstance(t, C.ComponentTypeDef) else "instance"
            self.line(f"(type {d}")
            self.line(f"  ({kind}")
            sub = _Printer(C.Component(), self.out, self.ind + "    ")
            for decl in t.decls:
                sub.type_decl(decl)
            self.line("  )")
            self.line(")")
            return
        self.line(f"(type {d} {_deftype(t)})")

    def type_decl(self, decl: Any) -> None:
        if isinstance(decl, C.CoreTypeDecl):
            self.core_type(decl.type, self.decl("core type"))
        elif isinstance(decl, C.TypeDecl):
            self.type_def(decl.type, self.decl("type"))
        elif isinstance(decl, C.AliasDecl):
            self.line(self.alias(decl.alias, self.decl(decl.alias.sort)))
        elif isinstance(decl, C.ImportDecl):
            d = self.decl(C.desc_sort(decl.desc))
            self.line(f"(import {_name(decl.name)} {_desc(decl.desc, d)})")
        else:
            d = self.decl(C.desc_sort(decl.desc))
            self.line(f"(export {_name(decl.name)} {_desc(decl.desc, d)})")

    def core_type(self, t: Any, d: str) -> None:
        if isinstance(t, C.ModuleTypeDef):
            self.line(f"(core type {d}")
            self.line("  (module")
            count = 0
            for decl in t.decls:
                if isinstance(decl, C.CoreTypeDeclM):
                    for ln in rec_type_lines(_CORE_CTX, decl.type, count, self.ind + "      "):
                        self.out.append(ln)
                    count += len(decl.type.subtypes)
                elif isinstance(decl, C.CoreOuterAlias):
                    self.line(f"    (alias outer {decl.count} {decl.index} (type {index_comment(count)}))")
                    count += 1
                elif isinstance(decl, C.CoreImportDecl):
                    imp = decl.import_
                    self.line(f"    (import {name_literal(imp.module)} {name_literal(imp.name)} "
                              f"{_core_desc(imp.kind, imp.desc)})")  # fmt: skip
                else:
                    self.line(f"    (export {name_literal(decl.name)} {_core_desc(decl.kind, decl.desc)})")
            self.line("  )")
            self.line(")")
            return
        assert isinstance(t, RecType)
        first = self.counts.get("core type", 1) - 1
        lines = rec_type_lines(_CORE_CTX, t, first, "")
        if len(t.subtypes) == 1 and not t.explicit:
            body = lines[0].split(" ", 2)[2] if lines[0].startswith("(type ") else lines[0]
            self.line(f"(core type {d} {_strip_type_head(body)}")
            return
        # a recursion group: the indices of its later types follow the first's
        self.counts["core type"] = first + len(t.subtypes)
        self.line("(core rec")
        for ln in lines[1:-1]:
            self.line(ln)
        self.line(")")


def _strip_type_head(body: str) -> str:
    """``(;0;) (func ...))`` -> ``(func ...))``."""
    if body.startswith("(;"):
        return body.split(" ", 1)[1]
    return body


def _name(n: C.ExternName) -> str:
    out = name_literal(n.name)
    for kind, value in n.attrs:
        out += f" ({kind} {name_literal(value)})"
    return out


def _vt(v: C.ValType) -> str:
    return v if isinstance(v, str) else str(v)


def _ovt(v: C.ValType | None) -> str:
    return "" if v is None else " " + _vt(v)


def _deftype(t: Any) -> str:
    if isinstance(t, C.PrimType):
        return t.name
    if isinstance(t, C.RecordType):
        return "(record" + "".join(f" (field {name_literal(n)} {_vt(v)})" for n, v in t.fields) + ")"
    if isinstance(t, C.VariantType):
        return "(variant" + "".join(f" (case {name_literal(n)}{_ovt(v)})" for n, v in t.cases) + ")"
    if isinstance(t, C.ListType):
        return f"(list {_vt(t.elem)}" + ("" if t.length is None else f" {t.length}") + ")"
    if isinstance(t, C.TupleType):
        return "(tuple" + "".join(" " + _vt(v) for v in t.types) + ")"
    if isinstance(t, C.FlagsType):
        return "(flags" + "".join(" " + name_literal(n) for n in t.labels) + ")"
    if isinstance(t, C.EnumType):
        return "(enum" + "".join(" " + name_literal(n) for n in t.labels) + ")"
    if isinstance(t, C.OptionType):
        return f"(option {_vt(t.type)})"
    if isinstance(t, C.ResultType):
        err = "" if t.err is None else f" (error {_vt(t.err)})"
        return f"(result{_ovt(t.ok)}{err})"
    if isinstance(t, C.OwnType):
        return f"(own {t.type})"
    if isinstance(t, C.BorrowType):
        return f"(borrow {t.type})"
    if isinstance(t, C.StreamType):
        return f"(stream{_ovt(t.type)})"
    if isinstance(t, C.FutureType):
        return f"(future{_ovt(t.type)})"
    if isinstance(t, C.MapType):
        return f"(map {_vt(t.key)} {_vt(t.value)})"
    if isinstance(t, C.FuncType):
        parts = ["func"]
        if t.is_async:
            parts.append("async")
        parts.extend(f"(param {name_literal(n)} {_vt(v)})" for n, v in t.params)
        if t.result is not None:
            parts.append(f"(result {_vt(t.result)})")
        return "(" + " ".join(parts) + ")"
    if isinstance(t, C.ResourceType):
        dtor = "" if t.dtor is None else f" (dtor (core func {t.dtor}))"
        return f"(resource (rep {t.rep}){dtor})"
    raise TypeError(f"cannot print type {t!r}")


def _desc(d: C.ExternDesc, decl: str) -> str:
    sp = f" {decl}" if decl else ""
    if d.kind == "core module":
        return f"(core module{sp} (type {d.index}))"
    if d.kind == "type":
        bound = f"(eq {d.index})" if d.bound == "eq" else "(sub resource)"
        return f"(type{sp} {bound})"
    if d.kind == "value":
        v = f"(eq {d.index})" if d.bound == "eq" else _vt(d.valtype)  # type: ignore[arg-type]
        return f"(value{sp} {v})"
    return f"({d.kind}{sp} (type {d.index}))"


def _opt(o: C.CanonOpt) -> str:
    if o.index is None:
        return o.name
    return f"({o.name} {o.index})"


def _core_desc(kind: str, desc: Any) -> str:
    if kind == "func":
        return f"(func (type {desc}))"
    if kind == "tag":
        assert isinstance(desc, TagType)
        return f"(tag (type {desc.typeidx}))"
    if kind == "table":
        assert isinstance(desc, TableType)
        return f"(table {limits(desc.limits)} {ref_type(_CORE_CTX, desc.elem)})"
    if kind == "memory":
        assert isinstance(desc, MemType)
        return f"(memory {limits(desc.limits)})"
    t = val_type(_CORE_CTX, desc.type)
    return f"(global (mut {t}))" if desc.mutable else f"(global {t})"



