"""The binary encoder (spec chapter 5): :class:`Module` -> bytes.

The encoding is canonical (shortest LEB128s, sections only when non-empty), but
keeps every choice the module tree records so that decode -> encode reproduces
the input: custom sections at their recorded place (``Custom.after``), locals
run-length groups as stored, element and data segment forms (``funcidx_encoding``,
``explicit_table``, ``explicit_memory``), explicit one-type recursion groups
(``RecType.explicit``), table initialisers, and the data count section exactly
when ``module.data_count`` is set. A parsed ``module.names`` is written as a name
section after all others, unless a raw ``name`` custom section is present. An
empty section is written only when a custom section records it as its anchor.

Instructions are encoded from the operator table: ``op.opcode_bytes`` and one
writer per immediate kind, with the common shapes inlined in the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..syntax.module import (
    Custom,
    Data,
    Elem,
    Export,
    Expr,
    Func,
    FuncRefs,
    Global,
    Import,
    Memory,
    Module,
    Table,
    Tag,
)
from ..syntax.ops import OPS, REF_FUNC, Catch, Op
from ..syntax.types import (
    FUNCREF,
    ArrayType,
    BlockType,
    CompType,
    FieldType,
    FuncType,
    GlobalType,
    HeapType,
    Limits,
    NumType,
    PackedType,
    RecType,
    RefType,
    StructType,
    SubType,
    TableType,
    TagType,
    ValType,
)
from .decode import SECTION_ORDER
from .names import encode_names
from .typecodes import (
    ARRAY_TAG,
    BYTE_BY_HEAP,
    BYTE_BY_PACKED,
    FUNC_TAG,
    NUM_BY_BYTE,
    REC_TAG,
    REF_NULL_PREFIX,
    REF_PREFIX,
    STRUCT_TAG,
    SUB_FINAL_TAG,
    SUB_TAG,
)
from .writer import uleb, write_bytes, write_name, write_s, write_section, write_u

MAGIC_VERSION = b"\x00asm\x01\x00\x00\x00"
REF_FUNC_NONNULL = RefType(False, "func")
_BYTE_BY_NUM = {t: b for b, t in NUM_BY_BYTE.items()}
EXTERN_KIND_BYTE = {"func": 0, "table": 1, "memory": 2, "global": 3, "tag": 4}


# ---------------------------------------------------------------- types
def write_heaptype(out: bytearray, h: HeapType) -> None:
    if isinstance(h, str):
        out.append(BYTE_BY_HEAP[h])
    else:
        write_s(out, h)


def write_valtype(out: bytearray, t: ValType) -> None:
    if isinstance(t, NumType):
        out.append(_BYTE_BY_NUM[t])
        return
    h = t.heap
    if t.nullable and isinstance(h, str):
        out.append(BYTE_BY_HEAP[h])
        return
    out.append(REF_NULL_PREFIX if t.nullable else REF_PREFIX)
    write_heaptype(out, h)


def _write_valtypes(out: bytearray, ts: tuple[ValType, ...] | list[ValType]) -> None:
    write_u(out, len(ts))
    for t in ts:
        write_valtype(out, t)


def _write_fieldtype(out: bytearray, f: FieldType) -> None:
    st = f.storage
    if isinstance(st, PackedType):
        out.append(BYTE_BY_PACKED[st])
    else:
        write_valtype(out, st)
    out.append(1 if f.mutable else 0)


def _write_comptype(out: bytearray, c: CompType) -> None:
    if isinstance(c, FuncType):
        out.append(FUNC_TAG)
        _write_valtypes(out, c.params)
        _write_valtypes(out, c.results)
    elif isinstance(c, StructType):
        out.append(STRUCT_TAG)
        write_u(out, len(c.fields))
        for f in c.fields:
            _write_fieldtype(out, f)
    elif isinstance(c, ArrayType):
        out.append(ARRAY_TAG)
        _write_fieldtype(out, c.field)
    else:
        raise TypeError(f"not a composite type: {c!r}")


def _write_subtype(out: bytearray, st: SubType) -> None:
    if st.final and not st.supers:
        _write_comptype(out, st.comp)
        return
    out.append(SUB_FINAL_TAG if st.final else SUB_TAG)
    write_u(out, len(st.supers))
    for x in st.supers:
        write_u(out, x)
    _write_comptype(out, st.comp)


def _write_rectype(out: bytearray, rt: RecType) -> None:
    if rt.explicit or len(rt.subtypes) != 1:
        out.append(REC_TAG)
        write_u(out, len(rt.subtypes))
        for st in rt.subtypes:
            _write_subtype(out, st)
    else:
        _write_subtype(out, rt.subtypes[0])


def _write_limits(out: bytearray, lim: Limits) -> None:
    """Flags as in Wasm 3.0; ``shared`` (bit 1) and a custom page size (bit 3, then
    its log2) follow the threads and custom-page-sizes proposals."""
    flags = (lim.max is not None) | lim.shared << 1 | lim.addr64 << 2
    if lim.page_size_log2 is not None:
        flags |= 8
    out.append(flags)
    write_u(out, lim.min)
    if lim.max is not None:
        write_u(out, lim.max)
    if lim.page_size_log2 is not None:
        write_u(out, lim.page_size_log2)


def _write_tabletype(out: bytearray, tt: TableType) -> None:
    write_valtype(out, tt.elem)
    _write_limits(out, tt.limits)


def _write_globaltype(out: bytearray, gt: GlobalType) -> None:
    write_valtype(out, gt.type)
    out.append(1 if gt.mutable else 0)


def _write_blocktype(out: bytearray, bt: BlockType) -> None:
    if bt is None:
        out.append(0x40)
    elif isinstance(bt, int):
        write_s(out, bt)
    else:
        write_valtype(out, bt)


# ---------------------------------------------------------------- instructions
def _w_u32(out: bytearray, v: Any) -> None:
    write_u(out, v)


def _w_labels(out: bytearray, v: tuple[int, ...]) -> None:
    write_u(out, len(v))
    for x in v:
        write_u(out, x)


def _w_memarg(out: bytearray, m: tuple[int, int, int]) -> None:
    align, offset, mem = m
    if mem:
        write_u(out, align | 0x40)
        write_u(out, mem)
    else:
        write_u(out, align)
    write_u(out, offset)


def _w_f32(out: bytearray, bits: int) -> None:
    out += bits.to_bytes(4, "little")


def _w_f64(out: bytearray, bits: int) -> None:
    out += bits.to_bytes(8, "little")


def _w_16(out: bytearray, b: bytes) -> None:
    if len(b) != 16:
        raise ValueError("v128 and shuffle immediates are 16 bytes")
    out += b


def _w_lane(out: bytearray, x: int) -> None:
    out.append(x)


def _w_catches(out: bytearray, cs: tuple[Catch, ...]) -> None:
    write_u(out, len(cs))
    for c in cs:
        k = ("catch", "catch_ref", "catch_all", "catch_all_ref").index(c.kind)
        out.append(k)
        if k < 2:
            write_u(out, c.tag)  # type: ignore[arg-type]
        write_u(out, c.label)


def _w_brcast(out: bytearray, v: tuple[int, RefType, RefType]) -> None:
    label, rt1, rt2 = v
    out.append(rt1.nullable | rt2.nullable << 1)
    write_u(out, label)
    write_heaptype(out, rt1.heap)
    write_heaptype(out, rt2.heap)


def _w_reftype(out: bytearray, rt: RefType) -> None:
    write_heaptype(out, rt.heap)


Writer = Callable[[bytearray, Any], None]
_WRITERS: dict[str, Writer] = {
    "block": _write_blocktype,
    "labels": _w_labels,
    "memarg": _w_memarg,
    "i32": write_s,
    "i64": write_s,
    "f32": _w_f32,
    "f64": _w_f64,
    "v128": _w_16,
    "shuffle": _w_16,
    "lane": _w_lane,
    "heap": write_heaptype,
    "valtypes": _write_valtypes,
    "catches": _w_catches,
    "brcast": _w_brcast,
    "reftype": _w_reftype,
}
for _k in "label func type table memory global local data elem tag field u32".split():
    _WRITERS[_k] = _w_u32

# Per-op (by Op.idx) encoding: opcode bytes, shape, immediate writers.
# write_instrs tests "0" and "< 5" (cached one-immediate shapes) as literals.
E_NONE, E_INDEX, E_I32, E_MEMARG, E_BLOCK, E_GENERIC, E_REFTYPE = 0, 1, 2, 3, 4, 5, 6
OPCODE: list[bytes] = [op.opcode_bytes for op in OPS]
_ESHAPE: list[int] = []
_EWRITERS: list[tuple[Writer, ...]] = []
for _op in OPS:
    _im = _op.imms
    if not _im:
        _ESHAPE.append(E_NONE)
    elif _im == ("memarg",):
        _ESHAPE.append(E_MEMARG)
    elif _im == ("i32",) or _im == ("i64",):
        _ESHAPE.append(E_I32)
    elif len(_im) == 1 and _WRITERS[_im[0]] is _w_u32:
        _ESHAPE.append(E_INDEX)
    elif _im == ("reftype",):
        _ESHAPE.append(E_REFTYPE)
    elif _im == ("block",):
        _ESHAPE.append(E_BLOCK)
    else:
        _ESHAPE.append(E_GENERIC)
    _EWRITERS.append(tuple(_WRITERS[k] for k in _im))


def _reftype_opcode(op: Op, rt: RefType) -> bytes:
    """ref.test/ref.cast: the opcode, not the op variant, carries the nullability."""
    base = 20 if op.name == "ref.test" else 22
    return bytes([0xFB, base + rt.nullable])


_ENCODED: dict[tuple[Any, ...], bytes] = {}
"""Encodings of one-immediate instructions (index, integer, memarg, block type), as met.
Decoded bodies share these tuples and repeat them constantly; bounded in size."""


def _encode_simple(op: Op, k: int, imm: Any) -> bytes:
    out = bytearray(OPCODE[op.idx])
    if k == E_MEMARG:
        _w_memarg(out, imm)
    elif k == E_BLOCK:
        _write_blocktype(out, imm)
    elif k == E_I32:
        write_s(out, imm)
    else:
        write_u(out, imm)
    return bytes(out)


def write_instrs(out: bytearray, instrs: Expr) -> None:
    """Append instructions, then the ``end`` that closes the sequence."""
    opcode = OPCODE
    shape_of = _ESHAPE
    writers = _EWRITERS
    cache = _ENCODED
    get = cache.get
    for ins in instrs:
        op = ins[0]
        i = op.idx
        k = shape_of[i]
        if k == 0:  # E_NONE
            out += opcode[i]
        elif k < 5:  # E_INDEX, E_I32, E_MEMARG, E_BLOCK
            enc = get(ins)
            if enc is None:
                enc = _encode_simple(op, k, ins[1])
                if len(cache) < 65536:
                    cache[ins] = enc
            out += enc
        elif k == E_REFTYPE:
            out += _reftype_opcode(op, ins[1])
            write_heaptype(out, ins[1].heap)
        else:
            out += opcode[i]
            for w, v in zip(writers[i], ins[1:], strict=True):
                w(out, v)
    out.append(0x0B)


# ---------------------------------------------------------------- sections
def _import(out: bytearray, im: Import) -> None:
    write_name(out, im.module)
    write_name(out, im.name)
    kind = EXTERN_KIND_BYTE[im.kind]
    out.append(kind)
    d = im.desc
    if kind == 0:
        write_u(out, d)  # type: ignore[arg-type]
    elif kind == 1:
        _write_tabletype(out, d)  # type: ignore[arg-type]
    elif kind == 2:
        _write_limits(out, d.limits)  # type: ignore[union-attr]
    elif kind == 3:
        _write_globaltype(out, d)  # type: ignore[arg-type]
    else:
        out.append(0)
        write_u(out, d.typeidx)  # type: ignore[union-attr]


def _global(out: bytearray, g: Global) -> None:
    _write_globaltype(out, g.type)
    write_instrs(out, g.init)


def _table(out: bytearray, t: Table) -> None:
    if t.init is not None:
        out += b"\x40\x00"
        _write_tabletype(out, t.type)
        write_instrs(out, t.init)
    else:
        _write_tabletype(out, t.type)


def _is_funcidx(init: list[Expr] | FuncRefs) -> bool:
    return isinstance(init, FuncRefs) or all(len(e) == 1 and e[0][0] is REF_FUNC for e in init)


def _elem(out: bytearray, e: Elem) -> None:
    funcidx = e.funcidx_encoding and e.type == REF_FUNC_NONNULL and _is_funcidx(e.init)
    if e.mode == "active":
        implicit_type = REF_FUNC_NONNULL if funcidx else FUNCREF
        explicit = e.table != 0 or e.explicit_table or e.type != implicit_type
        flags = 2 if explicit else 0
    else:
        flags = 1 if e.mode == "passive" else 3
    if not funcidx:
        flags |= 4
    write_u(out, flags)
    if e.mode == "active":
        if flags & 2:
            write_u(out, e.table)
        write_instrs(out, e.offset or [])
    if flags & 3:
        if funcidx:
            out.append(0)  # elemkind: (ref func)
        else:
            write_valtype(out, e.type)
    write_u(out, len(e.init))
    if funcidx:
        for x in e.init.indices if isinstance(e.init, FuncRefs) else (ex[0][1] for ex in e.init):
            write_u(out, x)
    else:
        for expr in e.init:
            write_instrs(out, expr)


def _func(out: bytearray, f: Func) -> None:
    body = bytearray()
    write_u(body, len(f.locals))
    for count, t in f.locals:
        write_u(body, count)
        write_valtype(body, t)
    write_instrs(body, f.instrs)
    write_bytes(out, body)


def _data(out: bytearray, d: Data) -> None:
    if d.mode == "passive":
        out.append(1)
    elif d.memory or d.explicit_memory:
        out.append(2)
        write_u(out, d.memory)
        write_instrs(out, d.offset or [])
    else:
        out.append(0)
        write_instrs(out, d.offset or [])
    write_bytes(out, d.init)


def _vec_section(items: list[Any], item: Callable[[bytearray, Any], None]) -> bytearray | None:
    if not items:
        return None
    out = bytearray()
    write_u(out, len(items))
    for x in items:
        item(out, x)
    return out


def _export(out: bytearray, ex: Export) -> None:
    write_name(out, ex.name)
    out.append(EXTERN_KIND_BYTE[ex.kind])
    write_u(out, ex.index)


def _memory(out: bytearray, mem: Memory) -> None:
    _write_limits(out, mem.type.limits)


def _tag(out: bytearray, tag: Tag) -> None:
    _write_tagtype(out, tag.type)


def _typeidx(out: bytearray, f: Func) -> None:
    write_u(out, f.typeidx)


def _u32_section(v: int | None) -> bytearray | None:
    return None if v is None else bytearray(uleb(v))


def _sections(m: Module) -> list[tuple[int, Callable[[], bytearray | None]]]:
    """Section id and payload builder, in binary order (tags between memories and globals)."""
    return [
        (1, lambda: _vec_section(m.types, _write_rectype)),
        (2, lambda: _vec_section(m.imports, _import)),
        (3, lambda: _vec_section(m.funcs, _typeidx)),
        (4, lambda: _vec_section(m.tables, _table)),
        (5, lambda: _vec_section(m.memories, _memory)),
        (13, lambda: _vec_section(m.tags, _tag)),
        (6, lambda: _vec_section(m.globals, _global)),
        (7, lambda: _vec_section(m.exports, _export)),
        (8, lambda: _u32_section(m.start)),
        (9, lambda: _vec_section(m.elems, _elem)),
        (12, lambda: _u32_section(m.data_count)),
        (10, lambda: _vec_section(m.funcs, _func)),
        (11, lambda: _vec_section(m.datas, _data)),
    ]


def _write_tagtype(out: bytearray, t: TagType) -> None:
    out.append(0)
    write_u(out, t.typeidx)


_RANK = SECTION_ORDER


def _custom_rank(c: Custom) -> int:
    """Where a custom section goes: after the section it followed (0: before all)."""
    if not c.after:
        return 0
    return _RANK.get(c.after, len(_RANK) + 1)


def _custom(out: bytearray, c: Custom) -> None:
    payload = bytearray()
    write_name(payload, c.name)
    payload += c.data
    write_section(out, 0, payload)


def encode_module(module: Module) -> bytes:
    """Encode ``module`` in the binary format."""
    out = bytearray(MAGIC_VERSION)
    customs = sorted(module.customs, key=_custom_rank)
    anchors = {c.after for c in customs}
    ci = 0
    for sid, build in _sections(module):
        rank = _RANK[sid]
        while ci < len(customs) and _custom_rank(customs[ci]) < rank:
            _custom(out, customs[ci])
            ci += 1
        payload = build()
        if payload is None and sid in anchors and sid not in (8, 12):
            payload = bytearray(b"\x00")  # keep an empty section a custom section follows
        if payload is not None:
            write_section(out, sid, payload)
    for c in customs[ci:]:
        _custom(out, c)
    if module.names is not None and not any(c.name == "name" for c in module.customs):
        _custom(out, Custom("name", encode_names(module.names)))
    return bytes(out)


__all__ = ["encode_module", "write_heaptype", "write_instrs", "write_valtype"]
