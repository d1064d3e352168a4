"""The component binary encoder (Binary.md): :class:`Component` -> bytes.

Sections are written as the tree holds them, so a decoded component re-encodes to
the same bytes (embedded core modules keep their original bytes when they have
them). Canonical definitions are written by walking their row of
``component_ops.CANON``. Names from the text format go into a ``component-name``
custom section, laid out as ``wasm-tools parse`` lays it out.
"""

from __future__ import annotations

from ..syntax import component as C
from ..syntax import component_ops as O
from ..syntax.module import Import
from ..syntax.types import NUM_TYPES, MemType, RecType, TableType, TagType
from .encode import (
    _write_comptype,
    _write_globaltype,
    _write_limits,
    _write_rectype,
    _write_tabletype,
    encode_module,
)
from .writer import write_bytes, write_name, write_section, write_u

PREAMBLE = b"\x00asm\x0d\x00\x01\x00"
_NUM_BYTE = {"i32": 0x7F, "i64": 0x7E, "f32": 0x7D, "f64": 0x7C, "v128": 0x7B}


def encode_component(comp: C.Component) -> bytes:
    """Encode ``comp`` in the binary format."""
    out = bytearray(PREAMBLE)
    has_names = False
    for sec in comp.sections:
        if sec.id == C.SECTION_CUSTOM:
            for item in sec.items:
                assert isinstance(item, C.CustomSection)
                has_names |= item.name == "component-name"
                payload = bytearray()
                write_name(payload, item.name)
                payload += item.data
                write_section(out, 0, payload)
            continue
        payload = bytearray()
        if sec.id in C.SINGLE_ITEM_SECTIONS:
            for item in sec.items:
                one = bytearray()
                _SINGLE[sec.id](one, item)
                write_section(out, sec.id, one)
            continue
        write_u(payload, len(sec.items))
        writer = _VEC[sec.id]
        for item in sec.items:
            writer(payload, item)
        write_section(out, sec.id, payload)
    if comp.names is not None and not has_names:
        data = encode_names(comp.names)
        if data:
            payload = bytearray()
            write_name(payload, "component-name")
            payload += data
            write_section(out, 0, payload)
    return bytes(out)


# ---------------------------------------------------------------- pieces
def _sort(out: bytearray, sort: str) -> None:
    code = O.CORE_SORT_CODE.get(sort)
    if code is not None:
        out.append(0x00)
        out.append(code)
    else:
        out.append(O.SORT_CODE[sort])


def _extern_name(out: bytearray, n: C.ExternName) -> None:
    form = n.form if n.form in (0, 1) and not n.attrs else 2
    out.append(form)
    write_name(out, n.name)
    if form == 2:
        write_u(out, len(n.attrs))
        for kind, value in n.attrs:
            out.append(O.NAME_ATTRS[kind])
            write_name(out, value)


def _valtype(out: bytearray, t: C.ValType) -> None:
    if isinstance(t, str):
        out.append(O.PRIM_CODE[t])
    else:
        write_u(out, t)


def _opt_valtype(out: bytearray, t: C.ValType | None) -> None:
    if t is None:
        out.append(0x00)
    else:
        out.append(0x01)
        _valtype(out, t)


def _labels(out: bytearray, labels: tuple[str, ...]) -> None:
    write_u(out, len(labels))
    for label in labels:
        write_name(out, label)


def _resultlist(out: bytearray, t: C.ValType | None) -> None:
    if t is None:
        out += b"\x01\x00"
    else:
        out.append(0x00)
        _valtype(out, t)


def write_deftype(out: bytearray, t: C.DefType) -> None:
    """One type definition (``type`` in Binary.md)."""
    if isinstance(t, C.PrimType):
        out.append(O.PRIM_CODE[t.name])
    elif isinstance(t, C.RecordType):
        out.append(O.OP_RECORD)
        write_u(out, len(t.fields))
        for name, ft in t.fields:
            write_name(out, name)
            _valtype(out, ft)
    elif isinstance(t, C.VariantType):
        out.append(O.OP_VARIANT)
        write_u(out, len(t.cases))
        for name, ct in t.cases:
            write_name(out, name)
            _opt_valtype(out, ct)
            out.append(0x00)
    elif isinstance(t, C.ListType):
        if t.length is None:
            out.append(O.OP_LIST)
            _valtype(out, t.elem)
        else:
            out.append(O.OP_FIXED_LIST)
            _valtype(out, t.elem)
            write_u(out, t.length)
    elif isinstance(t, C.TupleType):
        out.append(O.OP_TUPLE)
        write_u(out, len(t.types))
        for x in t.types:
            _valtype(out, x)
    elif isinstance(t, C.FlagsType):
        out.append(O.OP_FLAGS)
        _labels(out, t.labels)
    elif isinstance(t, C.EnumType):
        out.append(O.OP_ENUM)
        _labels(out, t.labels)
    elif isinstance(t, C.OptionType):
        out.append(O.OP_OPTION)
        _valtype(out, t.type)
    elif isinstance(t, C.ResultType):
        out.append(O.OP_RESULT)
        _opt_valtype(out, t.ok)
        _opt_valtype(out, t.err)
    elif isinstance(t, C.OwnType):
        out.append(O.OP_OWN)
        write_u(out, t.type)
    elif isinstance(t, C.BorrowType):
        out.append(O.OP_BORROW)
        write_u(out, t.type)
    elif isinstance(t, C.StreamType):
        out.append(O.OP_STREAM)
        _opt_valtype(out, t.type)
    elif isinstance(t, C.FutureType):
        out.append(O.OP_FUTURE)
        _opt_valtype(out, t.type)
    elif isinstance(t, C.MapType):
        out.append(O.OP_MAP)
        _valtype(out, t.key)
        _valtype(out, t.value)
    elif isinstance(t, C.FuncType):
        out.append(O.OP_FUNC_ASYNC if t.is_async else O.OP_FUNC)
        write_u(out, len(t.params))
        for name, pt in t.params:
            write_name(out, name)
            _valtype(out, pt)
        _resultlist(out, t.result)
    elif isinstance(t, C.ComponentTypeDef):
        out.append(O.OP_COMPONENT)
        write_u(out, len(t.decls))
        for d in t.decls:
            _decl(out, d)
    elif isinstance(t, C.InstanceTypeDef):
        out.append(O.OP_INSTANCE)
        write_u(out, len(t.decls))
        for d in t.decls:
            _decl(out, d)
    elif isinstance(t, C.ResourceType):
        out.append(O.OP_RESOURCE)
        out.append(_NUM_BYTE[t.rep])
        if t.dtor is None:
            out.append(0x00)
        else:
            out.append(0x01)
            write_u(out, t.dtor)
    else:
        raise TypeError(f"not a type definition: {t!r}")


def _decl(out: bytearray, d: C.Decl) -> None:
    if isinstance(d, C.ImportDecl):
        out.append(0x03)
        _extern_name(out, d.name)
        _externdesc(out, d.desc)
    elif isinstance(d, C.CoreTypeDecl):
        out.append(0x00)
        write_core_type(out, d.type)
    elif isinstance(d, C.TypeDecl):
        out.append(0x01)
        write_deftype(out, d.type)
    elif isinstance(d, C.AliasDecl):
        out.append(0x02)
        _alias(out, d.alias)
    else:
        out.append(0x04)
        _extern_name(out, d.name)
        _externdesc(out, d.desc)


def _externdesc(out: bytearray, d: C.ExternDesc) -> None:
    if d.kind == "core module":
        out += b"\x00\x11"
        write_u(out, d.index)
        return
    out.append(O.EXTERN_KIND_CODE[d.kind])
    if d.kind == "type":
        if d.bound == "sub":
            out.append(0x01)
        else:
            out.append(0x00)
            write_u(out, d.index)
    elif d.kind == "value":
        if d.bound == "eq":
            out.append(0x00)
            write_u(out, d.index)
        else:
            out.append(0x01)
            assert d.valtype is not None
            _valtype(out, d.valtype)
    else:
        write_u(out, d.index)


# ---------------------------------------------------------------- core types
def write_core_type(out: bytearray, t: C.CoreType) -> None:
    """A core type in a component (Binary.md ``core:type``)."""
    if isinstance(t, C.ModuleTypeDef):
        out.append(0x50)
        write_u(out, len(t.decls))
        for d in t.decls:
            _module_decl(out, d)
        return
    assert isinstance(t, RecType)
    if not t.explicit and len(t.subtypes) == 1 and not t.subtypes[0].final:
        st = t.subtypes[0]
        out += b"\x00\x50"
        write_u(out, len(st.supers))
        for x in st.supers:
            write_u(out, x)
        _write_comptype(out, st.comp)
        return
    _write_rectype(out, t)


def _module_decl(out: bytearray, d: C.ModuleDecl) -> None:
    if isinstance(d, C.CoreImportDecl):
        out.append(0x00)
        _core_import(out, d.import_)
    elif isinstance(d, C.CoreTypeDeclM):
        out.append(0x01)
        _write_rectype(out, d.type)
    elif isinstance(d, C.CoreOuterAlias):
        out += b"\x02\x10\x01"
        write_u(out, d.count)
        write_u(out, d.index)
    else:
        out.append(0x03)
        write_name(out, d.name)
        _core_externtype(out, d.kind, d.desc)


def _core_import(out: bytearray, im: Import) -> None:
    write_name(out, im.module)
    write_name(out, im.name)
    _core_externtype(out, im.kind, im.desc)


def _core_externtype(out: bytearray, kind: str, desc: object) -> None:
    if kind == "func":
        out.append(0x00)
        write_u(out, desc)  # type: ignore[arg-type]
    elif kind == "table":
        out.append(0x01)
        assert isinstance(desc, TableType)
        _write_tabletype(out, desc)
    elif kind == "memory":
        out.append(0x02)
        assert isinstance(desc, MemType)
        _write_limits(out, desc.limits)
    elif kind == "global":
        out.append(0x03)
        _write_globaltype(out, desc)  # type: ignore[arg-type]
    else:
        assert isinstance(desc, TagType)
        out.append(0x04)
        out.append(0x00)
        write_u(out, desc.typeidx)


# ---------------------------------------------------------------- definitions
def _alias(out: bytearray, a: C.Alias) -> None:
    _sort(out, a.sort)
    if isinstance(a, C.ExportAlias):
        out.append(0x00)
        write_u(out, a.instance)
        write_name(out, a.name)
    elif isinstance(a, C.CoreExportAlias):
        out.append(0x01)
        write_u(out, a.instance)
        write_name(out, a.name)
    else:
        out.append(0x02)
        write_u(out, a.count)
        write_u(out, a.index)


def _core_instance(out: bytearray, d: C.Definition) -> None:
    if isinstance(d, C.CoreInstantiate):
        out.append(0x00)
        write_u(out, d.module)
        write_u(out, len(d.args))
        for name, idx in d.args:
            write_name(out, name)
            out.append(0x12)
            write_u(out, idx)
    else:
        assert isinstance(d, C.CoreInlineExports)
        out.append(0x01)
        write_u(out, len(d.exports))
        for name, sort, idx in d.exports:
            write_name(out, name)
            out.append(O.CORE_SORT_CODE[sort])
            write_u(out, idx)


def _instance(out: bytearray, d: C.Definition) -> None:
    if isinstance(d, C.Instantiate):
        out.append(0x00)
        write_u(out, d.component)
        write_u(out, len(d.args))
        for name, sort, idx in d.args:
            write_name(out, name)
            _sort(out, sort)
            write_u(out, idx)
    else:
        assert isinstance(d, C.InlineExports)
        out.append(0x01)
        write_u(out, len(d.exports))
        for ename, sort, idx in d.exports:
            _extern_name(out, ename)
            _sort(out, sort)
            write_u(out, idx)


def _canon(out: bytearray, d: C.Definition) -> None:
    assert isinstance(d, C.Canon)
    info = O.CANON_BY_NAME[d.op]
    out.append(info.code)
    for imm, value in zip(info.imms, d.args, strict=True):
        if imm in ("lift-func", "lower-func"):
            out.append(0x00)
            write_u(out, value)  # type: ignore[arg-type]
        elif imm == "opts":
            opts: tuple[C.CanonOpt, ...] = value  # type: ignore[assignment]
            write_u(out, len(opts))
            for o in opts:
                oi = O.CANON_OPT_BY_NAME[o.name]
                out.append(oi.code)
                if oi.index:
                    write_u(out, o.index)  # type: ignore[arg-type]
        elif imm == "resultlist":
            _resultlist(out, value)  # type: ignore[arg-type]
        elif imm in O.FLAG_IMMS:
            out.append(1 if value else 0)
        elif imm == "coreval":
            out.append(_NUM_BYTE[NUM_TYPES[value].name])  # type: ignore[index]
        else:
            write_u(out, value)  # type: ignore[arg-type]


def _import(out: bytearray, d: C.Definition) -> None:
    assert isinstance(d, C.ImportDef)
    _extern_name(out, d.name)
    _externdesc(out, d.desc)


def _export(out: bytearray, d: C.Definition) -> None:
    assert isinstance(d, C.ExportDef)
    _extern_name(out, d.name)
    _sort(out, d.sort)
    write_u(out, d.index)
    if d.desc is None:
        out.append(0x00)
    else:
        out.append(0x01)
        _externdesc(out, d.desc)


def _value(out: bytearray, d: C.Definition) -> None:
    assert isinstance(d, C.ValueDef)
    _valtype(out, d.type)
    write_bytes(out, d.data)


def _core_type_def(out: bytearray, d: C.Definition) -> None:
    assert isinstance(d, C.CoreTypeDef)
    write_core_type(out, d.type)


def _type_def(out: bytearray, d: C.Definition) -> None:
    assert isinstance(d, C.TypeDef)
    write_deftype(out, d.type)


def _alias_def(out: bytearray, d: C.Definition) -> None:
    _alias(out, d)  # type: ignore[arg-type]


def _core_module(out: bytearray, d: C.Definition) -> None:
    assert isinstance(d, C.CoreModuleDef)
    out += d.binary if d.binary is not None else encode_module(d.module)


def _component(out: bytearray, d: C.Definition) -> None:
    assert isinstance(d, C.ComponentDef)
    out += encode_component(d.component)


def _start(out: bytearray, d: C.Definition) -> None:
    assert isinstance(d, C.Start)
    write_u(out, d.func)
    write_u(out, len(d.args))
    for a in d.args:
        write_u(out, a)
    write_u(out, d.results)


_VEC = {
    C.SECTION_CORE_INSTANCE: _core_instance,
    C.SECTION_CORE_TYPE: _core_type_def,
    C.SECTION_INSTANCE: _instance,
    C.SECTION_ALIAS: _alias_def,
    C.SECTION_TYPE: _type_def,
    C.SECTION_CANON: _canon,
    C.SECTION_IMPORT: _import,
    C.SECTION_EXPORT: _export,
    C.SECTION_VALUE: _value,
}
_SINGLE = {
    C.SECTION_CORE_MODULE: _core_module,
    C.SECTION_COMPONENT: _component,
    C.SECTION_START: _start,
}


# ---------------------------------------------------------------- names
_NAME_SORT_ORDER = (
    "core func", "core table", "core memory", "core global", "core tag", "core type",
    "core module", "core instance", "func", "value", "type", "component", "instance",
)  # fmt: skip
"""Subsection order of the ``component-name`` section, as wasm-encoder writes it."""


def encode_names(names: C.ComponentNames) -> bytes:
    out = bytearray()
    if names.component is not None:
        sub = bytearray()
        write_name(sub, names.component)
        out.append(0)
        write_bytes(out, sub)
    for sort in _NAME_SORT_ORDER:
        m = names.sorts.get(sort)
        if not m:
            continue
        sub = bytearray()
        _sort(sub, sort)
        write_u(sub, len(m))
        for idx in sorted(m):
            write_u(sub, idx)
            write_name(sub, m[idx])
        out.append(1)
        write_bytes(out, sub)
    return bytes(out)
