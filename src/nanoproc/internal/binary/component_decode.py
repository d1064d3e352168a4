"""The component binary decoder (Binary.md): bytes -> :class:`Component`.

A file starting with the Wasm magic is a core module (layer 0, version 1) or a
component (layer 1, version 0x0d); :func:`decode_any` tells them apart. Embedded
core modules go through the core decoder (and keep their exact bytes); nested
components recurse. Canonical definitions are read by walking their row of the
``component_ops.CANON`` table.

Errors are :class:`DecodeError` with an absolute byte offset, worded as wasmparser
words them ("invalid leading byte (0x6) for component external kind", "unexpected
end-of-file"), since those are the messages the component spec tests quote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..errors import DecodeError
from ..syntax import component as C
from ..syntax import component_ops as O
from ..syntax.module import Import, Module
from ..syntax.types import MemType, NumType, RecType, SubType, TableType, TagType
from .decode import decode_module
from .reader import Buffer, Malformed, read_name, read_u32, take
from .typecodes import (
    NUM_BY_BYTE,
    read_comptype,
    read_globaltype,
    read_limits,
    read_rectype,
    read_reftype,
)

MAGIC = b"\x00asm"
COMPONENT_VERSION = b"\x0d\x00"
COMPONENT_LAYER = b"\x01\x00"
CORE_VERSION = b"\x01\x00\x00\x00"
EOF = "unexpected end-of-file"
V = TypeVar("V")


def is_component(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data`` starts with a component preamble (layer 1)."""
    b = bytes(data[:8])
    return len(b) == 8 and b[:4] == MAGIC and b[6:8] == COMPONENT_LAYER


def decode_any(data: bytes | bytearray | memoryview) -> Module | C.Component:
    """Decode a core module or a component, as the layer field says."""
    if is_component(data):
        return decode_component(data)
    return decode_module(bytes(data))


def decode_component(data: bytes | bytearray | memoryview) -> C.Component:
    """Decode a binary component. Raises DecodeError (and nothing else) if malformed."""
    raw = bytes(data)
    try:
        return _component(raw, 0)
    except Malformed as e:
        raise DecodeError(e.message, e.pos) from None
    except IndexError:
        raise DecodeError(EOF, len(raw)) from None
    except RecursionError:
        raise DecodeError("component nesting too deep", 0) from None


# ---------------------------------------------------------------- structure
def _preamble(data: Buffer, base: int) -> None:
    if len(data) < 4 or data[:4] != MAGIC:
        if len(data) < 4:
            raise Malformed(EOF, base + len(data))
        raise Malformed("magic header not detected", base)
    if len(data) < 8:
        raise Malformed(EOF, base + len(data))
    version, layer = data[4:6], data[6:8]
    if layer == COMPONENT_LAYER:
        if version != COMPONENT_VERSION:
            raise Malformed("unknown binary version", base + 4)
        return
    if data[4:8] == CORE_VERSION:
        raise Malformed("expected a version header for a component", base + 4)
    raise Malformed("unknown binary version", base + 4)


def _component(data: Buffer, base: int) -> C.Component:
    """Decode the component that is all of ``data`` (at absolute offset ``base``)."""
    _preamble(data, base)
    comp = C.Component()
    pos = 8
    n = len(data)
    while pos < n:
        sid = data[pos]
        if sid > C.SECTION_VALUE:
            raise Malformed("malformed section id", base + pos)
        if pos + 1 >= n:
            raise Malformed(EOF, base + n)
        try:
            size, p = read_u32(data, pos + 1)
        except IndexError:
            raise Malformed(EOF, base + n) from None
        except Malformed as e:
            raise Malformed(e.message, base + e.pos) from None
        end = p + size
        if end > n:
            raise Malformed(EOF, base + n)
        r = _Reader(data[p:end], base + p)
        try:
            _SECTIONS[sid](r, comp, sid)
        except IndexError:
            raise Malformed(EOF, base + end) from None
        except Malformed as e:
            if e.pos < base + p:  # a position relative to the section
                raise Malformed(e.message, base + p + e.pos) from None
            raise
        if r.pos != len(r.data):
            raise Malformed("unexpected content in the section", r.base + r.pos)
        pos = end
    return comp


class _Reader:
    """A cursor over one section's payload; ``base`` is its absolute offset."""

    __slots__ = ("data", "pos", "base")

    def __init__(self, data: Buffer, base: int) -> None:
        self.data = data
        self.pos = 0
        self.base = base

    def fail(self, message: str, at: int | None = None) -> Malformed:
        return Malformed(message, self.base + (self.pos if at is None else at))

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def peek(self) -> int:
        return self.data[self.pos]

    def u32(self) -> int:
        try:
            v, self.pos = read_u32(self.data, self.pos)
        except Malformed as e:
            raise self.fail(e.message, e.pos) from None
        return v

    def count(self) -> int:
        """A vector length; running past the payload is end-of-file."""
        start = self.pos
        n = self.u32()
        if n > len(self.data) - start:
            raise self.fail(EOF, len(self.data))
        return n

    def name(self) -> str:
        try:
            s, self.pos = read_name(self.data, self.pos)
        except Malformed as e:
            msg = EOF if e.message == "length out of bounds" else e.message
            raise self.fail(msg, e.pos if msg != EOF else len(self.data)) from None
        return s

    def bytes_(self, n: int) -> bytes:
        b, self.pos = take(self.data, self.pos, n)
        return b

    def leading(self, b: int, what: str, at: int | None = None) -> Malformed:
        return self.fail(f"invalid leading byte (0x{b:x}) for {what}",
                         self.pos - 1 if at is None else at)  # fmt: skip

    def flag(self) -> bool:
        b = self.byte()
        if b > 1:
            raise self.fail("invalid boolean value", self.pos - 1)
        return b == 1

    def sub(self, fn: Callable[[Buffer, int], tuple[V, int]]) -> V:
        """Run a core reader ``fn(data, pos) -> (value, pos)`` at the cursor."""
        try:
            value, self.pos = fn(self.data, self.pos)
        except Malformed as e:
            raise self.fail(e.message, e.pos) from None
        return value


# ---------------------------------------------------------------- sections
def _custom(r: _Reader, comp: C.Component, sid: int) -> None:
    name = r.name()
    data = r.bytes_(len(r.data) - r.pos)
    comp.add(sid, C.CustomSection(name, data))
    if name == "component-name" and comp.names is None:
        comp.names = _decode_names(data)


def _core_module(r: _Reader, comp: C.Component, sid: int) -> None:
    data = r.bytes_(len(r.data))
    if len(data) >= 8 and data[:4] == MAGIC and data[6:8] == COMPONENT_LAYER:
        raise r.fail("expected a version header for a module", 4)
    try:
        module = decode_module(data, shared_memory=True)
    except DecodeError as e:
        raise r.fail(e.reason, e.offset) from None
    comp.add(sid, C.CoreModuleDef(module, data))


def _component_section(r: _Reader, comp: C.Component, sid: int) -> None:
    data = r.bytes_(len(r.data))
    if len(data) >= 8 and data[:4] == MAGIC and data[4:8] == CORE_VERSION:
        raise r.fail("expected a version header for a component", 4)
    comp.add(sid, C.ComponentDef(_component(data, r.base)))


def _vec(fn):  # type: ignore[no-untyped-def]
    def section(r: _Reader, comp: C.Component, sid: int) -> None:
        n = r.count()
        sec = C.Section(sid, [])
        for _ in range(n):
            sec.items.append(fn(r))
        comp.sections.append(sec)

    return section


def _core_instance(r: _Reader) -> C.Definition:
    b = r.byte()
    if b == 0x00:
        module = r.u32()
        cargs: list[tuple[str, int]] = []
        for _ in range(r.count()):
            name = r.name()
            kind = r.byte()
            if kind != 0x12:
                raise r.leading(kind, "instantiation arg kind")
            cargs.append((name, r.u32()))
        return C.CoreInstantiate(module, tuple(cargs))
    if b == 0x01:
        exports = []
        for _ in range(r.count()):
            name = r.name()
            sort = _core_sort(r, "core external kind")
            exports.append((name, sort, r.u32()))
        return C.CoreInlineExports(tuple(exports))
    raise r.leading(b, "core instance")


def _core_sort(r: _Reader, what: str) -> str:
    b = r.byte()
    sort = O.CORE_SORT_BY_CODE.get(b)
    if sort is None:
        raise r.leading(b, what)
    return sort


def _sort(r: _Reader, what: str = "component external kind") -> str:
    b = r.byte()
    if b == 0x00:
        b2 = r.byte()
        sort = O.CORE_SORT_BY_CODE.get(b2)
        if sort is None:
            raise r.leading(b2, what)
        return sort
    sort = O.SORT_BY_CODE.get(b)
    if sort is None:
        raise r.leading(b, what)
    return sort


def _instance(r: _Reader) -> C.Definition:
    b = r.byte()
    if b == 0x00:
        component = r.u32()
        args: list[tuple[str, str, int]] = []
        for _ in range(r.count()):
            name = r.name()
            sort = _sort(r)
            args.append((name, sort, r.u32()))
        return C.Instantiate(component, tuple(args))
    if b == 0x01:
        exports: list[tuple[C.ExternName, str, int]] = []
        for _ in range(r.count()):
            ename = _extern_name(r)
            sort = _sort(r)
            exports.append((ename, sort, r.u32()))
        return C.InlineExports(tuple(exports))
    raise r.leading(b, "instance")


def _alias(r: _Reader) -> C.Definition:
    start = r.pos
    b1 = r.byte()
    b2 = r.byte() if b1 == 0x00 else None
    target = r.byte()
    if target == 0x00:
        r.pos = start
        sort = _sort(r)
        r.pos += 1
        return C.ExportAlias(sort, r.u32(), r.name())
    if target == 0x01:
        if b1 != 0x00 or b2 not in (0, 1, 2, 3, 4):
            raise r.leading(b2 if b1 == 0 and b2 is not None else b1,
                            "core instance export kind", start + (1 if b1 == 0 else 0))
        return C.CoreExportAlias(O.CORE_SORT_BY_CODE[b2], r.u32(), r.name())  # type: ignore[index]
    if target == 0x02:
        found: str | None
        if b1 == 0x00:
            assert b2 is not None
            found = O.CORE_SORT_BY_CODE.get(b2)
            bad, at = b2, start + 1
        else:
            found = O.SORT_BY_CODE.get(b1)
            bad, at = b1, start
        if found is None or found not in O.OUTER_ALIAS_SORTS:
            raise r.leading(bad, "component outer alias kind", at)
        count = r.u32()
        return C.OuterAlias(found, count, r.u32())
    raise r.leading(target, "alias")


# ---------------------------------------------------------------- names
def _extern_name(r: _Reader) -> C.ExternName:
    form = r.byte()
    if form in (0x00, 0x01):
        return C.ExternName(r.name(), (), form)
    if form != 0x02:
        raise r.leading(form, "component name")
    name = r.name()
    attrs: list[tuple[str, str]] = []
    for _ in range(r.count()):
        b = r.byte()
        kind = O.NAME_ATTR_BY_CODE.get(b)
        if kind is None:
            raise r.leading(b, "name option")
        if any(k == kind for k, _ in attrs):
            label = "implements" if kind == "implements" else kind
            raise r.fail(f"duplicate '{label}' option in name", r.pos - 1)
        attrs.append((kind, r.name()))
    return C.ExternName(name, tuple(attrs), form)


# ---------------------------------------------------------------- types
def _valtype(r: _Reader) -> C.ValType:
    b = r.peek()
    prim = O.PRIM_BY_CODE.get(b)
    if prim is not None:
        r.pos += 1
        return prim
    if 0x40 <= b < 0x80:
        r.pos += 1
        raise r.leading(b, "component value type")
    return r.u32()


def _opt_valtype(r: _Reader, what: str = "optional component value type") -> C.ValType | None:
    b = r.byte()
    if b == 0x00:
        return None
    if b == 0x01:
        return _valtype(r)
    raise r.leading(b, what)


def _labels(r: _Reader) -> tuple[str, ...]:
    return tuple(r.name() for _ in range(r.count()))


def _defvaltype(r: _Reader, b: int) -> C.DefValType:
    prim = O.PRIM_BY_CODE.get(b)
    if prim is not None:
        return C.PrimType(prim)
    if b == O.OP_RECORD:
        fields = []
        for _ in range(r.count()):
            name = r.name()
            fields.append((name, _valtype(r)))
        return C.RecordType(tuple(fields))
    if b == O.OP_VARIANT:
        cases = []
        for _ in range(r.count()):
            name = r.name()
            t = _opt_valtype(r)
            z = r.byte()
            if z != 0:
                raise r.leading(z, "zero byte required")
            cases.append((name, t))
        return C.VariantType(tuple(cases))
    if b == O.OP_LIST:
        return C.ListType(_valtype(r))
    if b == O.OP_FIXED_LIST:
        t = _valtype(r)
        return C.ListType(t, r.u32())
    if b == O.OP_TUPLE:
        return C.TupleType(tuple(_valtype(r) for _ in range(r.count())))
    if b == O.OP_FLAGS:
        return C.FlagsType(_labels(r))
    if b == O.OP_ENUM:
        return C.EnumType(_labels(r))
    if b == O.OP_OPTION:
        return C.OptionType(_valtype(r))
    if b == O.OP_RESULT:
        ok = _opt_valtype(r)
        return C.ResultType(ok, _opt_valtype(r))
    if b == O.OP_OWN:
        return C.OwnType(r.u32())
    if b == O.OP_BORROW:
        return C.BorrowType(r.u32())
    if b == O.OP_STREAM:
        return C.StreamType(_opt_valtype(r))
    if b == O.OP_FUTURE:
        return C.FutureType(_opt_valtype(r))
    if b == O.OP_MAP:
        k = _valtype(r)
        return C.MapType(k, _valtype(r))
    raise r.leading(b, "component defined type")


def _resultlist(r: _Reader) -> C.ValType | None:
    b = r.byte()
    if b == 0x00:
        return _valtype(r)
    if b == 0x01:
        z = r.byte()
        if z != 0:
            raise r.leading(z, "number of results")
        return None
    raise r.leading(b, "component function results")


def _deftype(r: _Reader) -> C.DefType:
    b = r.byte()
    if b in (O.OP_FUNC, O.OP_FUNC_ASYNC):
        params = []
        for _ in range(r.count()):
            name = r.name()
            params.append((name, _valtype(r)))
        return C.FuncType(tuple(params), _resultlist(r), b == O.OP_FUNC_ASYNC)
    if b == O.OP_COMPONENT:
        return C.ComponentTypeDef(tuple(_decl(r, True) for _ in range(r.count())))
    if b == O.OP_INSTANCE:
        return C.InstanceTypeDef(tuple(_decl(r, False) for _ in range(r.count())))
    if b == O.OP_RESOURCE:
        rep_b = r.byte()
        rep = NUM_BY_BYTE.get(rep_b)
        if not isinstance(rep, NumType):
            raise r.leading(rep_b, "resource representation")
        d = r.byte()
        if d == 0x00:
            dtor = None
        elif d == 0x01:
            dtor = r.u32()
        else:
            raise r.leading(d, "resource destructor")
        return C.ResourceType(rep.name, dtor)
    return _defvaltype(r, b)


def _decl(r: _Reader, component: bool) -> C.Decl:
    b = r.byte()
    if b == 0x03 and component:
        name = _extern_name(r)
        return C.ImportDecl(name, _externdesc(r))
    if b == 0x00:
        return C.CoreTypeDecl(_core_type(r))
    if b == 0x01:
        return C.TypeDecl(_deftype(r))
    if b == 0x02:
        return C.AliasDecl(_alias(r))  # type: ignore[arg-type]
    if b == 0x04:
        name = _extern_name(r)
        return C.ExportDecl(name, _externdesc(r))
    raise r.leading(b, "component or instance type declaration")


def _externdesc(r: _Reader) -> C.ExternDesc:
    start = r.pos
    b = r.byte()
    if b == 0x00:
        b2 = r.byte()
        if b2 != 0x11:
            raise r.leading(b2, "component external kind")
        return C.ExternDesc("core module", r.u32())
    kind = O.EXTERN_KIND_BY_CODE.get(b)
    if kind is None:
        raise r.leading(b, "component external kind", start)
    if kind == "type":
        bound = r.byte()
        if bound == 0x00:
            return C.ExternDesc("type", r.u32(), "eq")
        if bound == 0x01:
            return C.ExternDesc("type", 0, "sub")
        raise r.leading(bound, "type bound")
    if kind == "value":
        bound = r.byte()
        if bound == 0x00:
            return C.ExternDesc("value", r.u32(), "eq")
        if bound == 0x01:
            return C.ExternDesc("value", 0, "type", _valtype(r))
        raise r.leading(bound, "value bound")
    return C.ExternDesc(kind, r.u32())


# ---------------------------------------------------------------- core types
def _core_type(r: _Reader) -> C.CoreType:
    b = r.peek()
    if b == 0x50:
        r.pos += 1
        return C.ModuleTypeDef(tuple(_module_decl(r) for _ in range(r.count())))
    if b == 0x00:
        r.pos += 1
        b2 = r.byte()
        if b2 != 0x50:
            raise r.leading(b2, "non-final sub type")
        n = r.count()
        supers = tuple(r.u32() for _ in range(n))
        comp = r.sub(read_comptype)
        return RecType((SubType(comp, False, supers),))  # type: ignore[arg-type]
    return r.sub(read_rectype)  # type: ignore[return-value]


def _module_decl(r: _Reader) -> C.ModuleDecl:
    b = r.byte()
    if b == 0x00:
        return C.CoreImportDecl(_core_import(r))
    if b == 0x01:
        try:
            return C.CoreTypeDeclM(r.sub(read_rectype))  # type: ignore[arg-type]
        except Malformed as e:
            if e.message != "malformed definition type":
                raise
            bad = r.data[e.pos - r.base] if 0 <= e.pos - r.base < len(r.data) else 0
            raise r.fail(f"invalid leading byte (0x{bad:x}) for composite type",
                         e.pos - r.base) from None  # fmt: skip
    if b == 0x02:
        k = r.byte()
        if k != 0x10:
            raise r.leading(k, "outer alias kind")
        t = r.byte()
        if t != 0x01:
            raise r.leading(t, "outer alias target")
        count = r.u32()
        return C.CoreOuterAlias(count, r.u32())
    if b == 0x03:
        name = r.name()
        kind, desc = _core_externtype(r)
        return C.CoreExportDecl(name, kind, desc)
    raise r.leading(b, "type definition")


def _core_import(r: _Reader) -> Import:
    module = r.name()
    name = r.name()
    kind, desc = _core_externtype(r)
    return Import(module, name, kind, desc)  # type: ignore[arg-type]


def _core_externtype(r: _Reader) -> tuple[str, object]:
    b = r.byte()
    if b == 0x00:
        return "func", r.u32()
    if b == 0x01:
        rt = r.sub(read_reftype)
        lim = r.sub(read_limits)
        return "table", TableType(rt, lim)  # type: ignore[arg-type]
    if b == 0x02:
        return "memory", MemType(r.sub(lambda d, p: read_limits(d, p, memory=True)))
    if b == 0x03:
        return "global", r.sub(read_globaltype)
    if b == 0x04:
        z = r.byte()
        if z != 0:
            raise r.leading(z, "tag attribute")
        return "tag", TagType(r.u32())
    raise r.leading(b, "external kind")


# ---------------------------------------------------------------- canonical definitions
def _canon_opts(r: _Reader) -> tuple[C.CanonOpt, ...]:
    out = []
    for _ in range(r.count()):
        b = r.byte()
        info = O.CANON_OPT_BY_CODE.get(b)
        if info is None:
            raise r.leading(b, "canonical option")
        out.append(C.CanonOpt(info.text, r.u32() if info.index else None))
    return tuple(out)


def _canon(r: _Reader) -> C.Definition:
    b = r.byte()
    info = O.CANON_BY_CODE.get(b)
    if info is None:
        raise r.leading(b, "canonical function")
    args: list[object] = []
    for imm in info.imms:
        if imm in ("lift-func", "lower-func"):
            s = r.byte()
            if s != 0x00:
                what = "canonical function lift" if imm == "lift-func" else "canonical function lower"
                raise r.leading(s, what)
            args.append(r.u32())
        elif imm == "opts":
            args.append(_canon_opts(r))
        elif imm == "resultlist":
            args.append(_resultlist(r))
        elif imm in O.FLAG_IMMS:
            args.append(r.flag())
        elif imm == "coreval":
            vb = r.byte()
            t = NUM_BY_BYTE.get(vb)
            if not isinstance(t, NumType):
                raise r.leading(vb, "value type")
            args.append(t.name)
        else:  # type, u32, memory, coretype, table
            args.append(r.u32())
    return C.Canon(info.name, tuple(args))


def _start(r: _Reader, comp: C.Component, sid: int) -> None:
    func = r.u32()
    args = tuple(r.u32() for _ in range(r.count()))
    comp.add(sid, C.Start(func, args, r.u32()))


def _import(r: _Reader) -> C.Definition:
    name = _extern_name(r)
    return C.ImportDef(name, _externdesc(r))


def _export(r: _Reader) -> C.Definition:
    name = _extern_name(r)
    sort = _sort(r)
    index = r.u32()
    b = r.byte()
    if b == 0x00:
        desc = None
    elif b == 0x01:
        desc = _externdesc(r)
    else:
        raise r.leading(b, "optional component export type")
    return C.ExportDef(name, sort, index, desc)


def _value(r: _Reader) -> C.Definition:
    t = _valtype(r)
    n = r.u32()
    return C.ValueDef(t, r.bytes_(n))


_SECTIONS = {
    C.SECTION_CUSTOM: _custom,
    C.SECTION_CORE_MODULE: _core_module,
    C.SECTION_CORE_INSTANCE: _vec(_core_instance),
    C.SECTION_CORE_TYPE: _vec(lambda r: C.CoreTypeDef(_core_type(r))),
    C.SECTION_COMPONENT: _component_section,
    C.SECTION_INSTANCE: _vec(_instance),
    C.SECTION_ALIAS: _vec(_alias),
    C.SECTION_TYPE: _vec(lambda r: C.TypeDef(_deftype(r))),
    C.SECTION_CANON: _vec(_canon),
    C.SECTION_START: _start,
    C.SECTION_IMPORT: _vec(_import),
    C.SECTION_EXPORT: _vec(_export),
    C.SECTION_VALUE: _vec(_value),
}


# ---------------------------------------------------------------- the name section
def _decode_names(data: bytes) -> C.ComponentNames | None:
    """The ``component-name`` section; None if malformed (names are advisory)."""
    names = C.ComponentNames()
    r = _Reader(data, 0)
    try:
        while r.pos < len(data):
            sid = r.byte()
            size = r.u32()
            end = r.pos + size
            if end > len(data):
                return None
            if sid == 0:
                names.component = r.name()
            elif sid == 1:
                sort = _sort(r)
                m: dict[int, str] = {}
                for _ in range(r.count()):
                    idx = r.u32()
                    m[idx] = r.name()
                names.sorts[sort] = m
            r.pos = end
    except (Malformed, IndexError):
        return None
    return names
