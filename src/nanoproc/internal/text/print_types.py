"""Printing context (identifiers of every index space) and type syntax."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..syntax.module import Module, Names
from ..syntax.types import (
    SHORTHAND_NAMES,
    ArrayType,
    CompType,
    FieldType,
    FuncType,
    HeapType,
    Limits,
    PackedType,
    RecType,
    RefType,
    StorageType,
    StructType,
    SubType,
    ValType,
)
from .print_names import EMPTY_SPACE as _EMPTY
from .print_names import IdSpace, index_comment


@dataclass(slots=True)
class Context:
    """How to refer to each entity of a module: an identifier or an index.

    The default context (no module) refers to everything by index, which is what
    :func:`print_instr` uses.
    """

    module: Module | None = None
    types: IdSpace = _EMPTY
    funcs: IdSpace = _EMPTY
    tables: IdSpace = _EMPTY
    memories: IdSpace = _EMPTY
    globals: IdSpace = _EMPTY
    tags: IdSpace = _EMPTY
    elems: IdSpace = _EMPTY
    datas: IdSpace = _EMPTY
    fields: dict[int, IdSpace] = field(default_factory=dict)
    names: Names | None = None
    func_typeidxs: list[int] = field(default_factory=list)
    """Type index of each function (imports first), for folding."""
    tag_typeidxs: list[int] = field(default_factory=list)

    @classmethod
    def for_module(cls, module: Module) -> Context:
        ctx = cls._named(module)
        ctx.func_typeidxs = module.func_typeidxs()
        ctx.tag_typeidxs = [t.typeidx for t in module.tag_types()]
        return ctx

    @classmethod
    def _named(cls, module: Module) -> Context:
        names = module.names
        if names is None:
            return cls(module)
        return cls(
            module,
            types=IdSpace(names.types, len(module.deftypes)),
            funcs=IdSpace(names.funcs, len(module.func_typeidxs())),
            tables=IdSpace(names.tables, len(module.table_types())),
            memories=IdSpace(names.memories, len(module.memory_types())),
            globals=IdSpace(names.globals, len(module.global_types())),
            tags=IdSpace(names.tags, len(module.tag_types())),
            elems=IdSpace(names.elems, len(module.elems)),
            datas=IdSpace(names.datas, len(module.datas)),
            fields={t: IdSpace(f) for t, f in names.fields.items()},
            names=names,
        )

    def field_ids(self, typeidx: int) -> IdSpace:
        return self.fields.get(typeidx, _EMPTY)

    def local_ids(self, funcidx: int, count: int) -> IdSpace:
        if self.names is None or funcidx not in self.names.locals:
            return _EMPTY
        return IdSpace(self.names.locals[funcidx], count)


def heap_type(ctx: Context, ht: HeapType) -> str:
    return ht if isinstance(ht, str) else ctx.types.ref(ht)


def ref_type(ctx: Context, rt: RefType, full: bool = False) -> str:
    """``funcref`` style where the text format has a shorthand (unless ``full``)."""
    if rt.nullable and isinstance(rt.heap, str) and not full:
        short = SHORTHAND_NAMES.get(rt.heap)
        if short:
            return short
    return f"(ref {'null ' if rt.nullable else ''}{heap_type(ctx, rt.heap)})"


def val_type(ctx: Context, t: ValType | StorageType) -> str:
    if isinstance(t, RefType):
        return ref_type(ctx, t)
    return t.name if isinstance(t, PackedType) else str(t)


def val_types(ctx: Context, ts: tuple[ValType, ...] | list[ValType]) -> str:
    return " ".join(val_type(ctx, t) for t in ts)


def field_type(ctx: Context, ft: FieldType) -> str:
    t = val_type(ctx, ft.storage)
    return f"(mut {t})" if ft.mutable else t


def func_sig(ctx: Context, ft: FuncType) -> str:
    """`` (param ...) (result ...)`` for a function type, with a leading space."""
    out = ""
    if ft.params:
        out += f" (param {val_types(ctx, ft.params)})"
    if ft.results:
        out += f" (result {val_types(ctx, ft.results)})"
    return out


def comp_type(ctx: Context, ct: CompType, typeidx: int) -> str:
    if isinstance(ct, FuncType):
        return f"(func{func_sig(ctx, ct)})"
    if isinstance(ct, StructType):
        ids = ctx.field_ids(typeidx)
        fields = "".join(
            f" (field {ids.decl(i)}{field_type(ctx, f)})" for i, f in enumerate(ct.fields)
        )
        return f"(struct{fields})"
    if isinstance(ct, ArrayType):
        return f"(array {field_type(ctx, ct.field)})"
    raise TypeError(f"not a composite type: {ct!r}")


def sub_type(ctx: Context, st: SubType, typeidx: int) -> str:
    comp = comp_type(ctx, st.comp, typeidx)
    if st.final and not st.supers:
        return comp
    head = "sub final" if st.final else "sub"
    supers = "".join(" " + ctx.types.ref(s) for s in st.supers)
    return f"({head}{supers} {comp})"


def type_def(ctx: Context, st: SubType, typeidx: int) -> str:
    return f"(type {ctx.types.decl(typeidx)}{index_comment(typeidx)} {sub_type(ctx, st, typeidx)})"


def rec_type_lines(ctx: Context, rec: RecType, first: int, indent: str) -> list[str]:
    """Lines for one recursion group whose first type has index ``first``."""
    if len(rec.subtypes) == 1 and not rec.explicit:
        return [indent + type_def(ctx, rec.subtypes[0], first)]
    if not rec.subtypes:
        return [indent + "(rec)"]
    lines = [indent + "(rec"]
    for i, st in enumerate(rec.subtypes):
        lines.append(f"{indent}  {type_def(ctx, st, first + i)}")
    lines.append(indent + ")")
    return lines


def limits(lim: Limits) -> str:
    """``i64? min max? shared?`` (the page size is the caller's, memories only)."""
    out = "i64 " if lim.addr64 else ""
    out += str(lim.min)
    if lim.max is not None:
        out += f" {lim.max}"
    if lim.shared:
        out += " shared"
    return out
