"""Binary encoding of types (spec 5.2): byte tables shared by decoder and encoder,
and the decoder's readers for value, heap, reference, storage, composite, sub and
recursive types, limits and block types.

Where the reference interpreter tries alternatives (``either``), the readers
reproduce the error it would report, so messages match the spec test suite.
"""

from __future__ import annotations

from ..syntax.types import (
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    V128,
    ArrayType,
    BlockType,
    CompType,
    FieldType,
    FuncType,
    GlobalType,
    HeapType,
    Limits,
    RecType,
    RefType,
    StorageType,
    StructType,
    SubType,
    ValType,
)
from .reader import Buffer, Malformed, read_len, read_sleb, read_u32, read_u64

HEAP_BY_BYTE: dict[int, str] = {
    0x69: "exn",
    0x6A: "array",
    0x6B: "struct",
    0x6C: "i31",
    0x6D: "eq",
    0x6E: "any",
    0x6F: "extern",
    0x70: "func",
    0x71: "none",
    0x72: "noextern",
    0x73: "nofunc",
    0x74: "noexn",
}
BYTE_BY_HEAP: dict[str, int] = {v: k for k, v in HEAP_BY_BYTE.items()}

NUM_BY_BYTE: dict[int, ValType] = {0x7F: I32, 0x7E: I64, 0x7D: F32, 0x7C: F64, 0x7B: V128}

VALTYPE_BY_BYTE: dict[int, ValType] = dict(NUM_BY_BYTE)
"""Single-byte value types: numbers, v128 and the nullable abstract shorthands."""
VALTYPE_BY_BYTE.update({b: RefType(True, h) for b, h in HEAP_BY_BYTE.items()})

REF_NULL_PREFIX = 0x63
"""``(ref null ht)``"""
REF_PREFIX = 0x64
"""``(ref ht)``"""

PACKED_BY_BYTE = {0x78: I8, 0x77: I16}
BYTE_BY_PACKED = {I8: 0x78, I16: 0x77}

FUNC_TAG, STRUCT_TAG, ARRAY_TAG = 0x60, 0x5F, 0x5E
SUB_TAG, SUB_FINAL_TAG, REC_TAG = 0x50, 0x4F, 0x4E

_ref_cache: dict[tuple[bool, HeapType], RefType] = {}


def _ref(nullable: bool, heap: HeapType) -> RefType:
    key = (nullable, heap)
    rt = _ref_cache.get(key)
    if rt is None:
        rt = RefType(nullable, heap)
        if len(_ref_cache) < 4096:
            _ref_cache[key] = rt
    return rt


def _too_long_or(data: Buffer, pos: int, message: str) -> Malformed:
    """The reference reads these codes as s7: a continuation bit makes it too long."""
    if data[pos] & 0x80:
        return Malformed("integer representation too long", pos + 1)
    return Malformed(message, pos)


def read_heaptype(data: Buffer, pos: int) -> tuple[HeapType, int]:
    b = data[pos]
    h = HEAP_BY_BYTE.get(b)
    if h is not None:
        return h, pos + 1
    if b < 0x40:
        return b, pos + 1
    try:
        v, p = read_sleb(data, pos, 33)
    except Malformed:
        raise _too_long_or(data, pos, "malformed heap type") from None
    if v < 0:
        raise _too_long_or(data, pos, "malformed heap type")
    return v, p


def read_reftype(data: Buffer, pos: int) -> tuple[RefType, int]:
    b = data[pos]
    if b == REF_PREFIX or b == REF_NULL_PREFIX:
        h, p = read_heaptype(data, pos + 1)
        return _ref(b == REF_NULL_PREFIX, h), p
    h2 = HEAP_BY_BYTE.get(b)
    if h2 is None:
        raise _too_long_or(data, pos, "malformed reference type")
    return _ref(True, h2), pos + 1


def read_valtype(data: Buffer, pos: int) -> tuple[ValType, int]:
    t = VALTYPE_BY_BYTE.get(data[pos])
    if t is not None:
        return t, pos + 1
    return read_reftype(data, pos)


def read_valtypes(data: Buffer, pos: int) -> tuple[tuple[ValType, ...], int]:
    n, pos = read_len(data, pos)
    out = []
    get = VALTYPE_BY_BYTE.get
    for _ in range(n):
        t = get(data[pos])
        if t is not None:
            pos += 1
        else:
            t, pos = read_reftype(data, pos)
        out.append(t)
    return tuple(out), pos


def read_blocktype(data: Buffer, pos: int) -> tuple[BlockType, int]:
    b = data[pos]
    if b == 0x40:
        return None, pos + 1
    if b < 0x40:
        return b, pos + 1
    if b < 0x80:
        return read_valtype(data, pos)
    try:
        v, p = read_sleb(data, pos, 33)
    except Malformed:
        v = -1
    if v < 0:
        raise Malformed("integer representation too long", pos + 1)
    return v, p


def read_mut(data: Buffer, pos: int) -> bool:
    b = data[pos]
    if b > 1:
        raise Malformed("malformed mutability", pos)
    return b == 1


def read_fieldtype(data: Buffer, pos: int) -> tuple[FieldType, int]:
    b = data[pos]
    st: StorageType
    if b in PACKED_BY_BYTE:
        st = PACKED_BY_BYTE[b]
        pos += 1
    elif b in VALTYPE_BY_BYTE or b == REF_PREFIX or b == REF_NULL_PREFIX:
        st, pos = read_valtype(data, pos)
    else:
        raise _too_long_or(data, pos, "malformed storage type")
    return FieldType(st, read_mut(data, pos)), pos + 1


def read_comptype(data: Buffer, pos: int) -> tuple[CompType, int]:
    b = data[pos]
    if b == FUNC_TAG:
        params, pos = read_valtypes(data, pos + 1)
        results, pos = read_valtypes(data, pos)
        return FuncType(params, results), pos
    if b == STRUCT_TAG:
        n, pos = read_len(data, pos + 1)
        fields = []
        for _ in range(n):
            f, pos = read_fieldtype(data, pos)
            fields.append(f)
        return StructType(tuple(fields)), pos
    if b == ARRAY_TAG:
        f, pos = read_fieldtype(data, pos + 1)
        return ArrayType(f), pos
    raise _too_long_or(data, pos, "malformed definition type")


def read_subtype(data: Buffer, pos: int) -> tuple[SubType, int]:
    b = data[pos]
    if b == SUB_TAG or b == SUB_FINAL_TAG:
        n, pos = read_len(data, pos + 1)
        supers = []
        for _ in range(n):
            x, pos = read_u32(data, pos)
            supers.append(x)
        comp, pos = read_comptype(data, pos)
        return SubType(comp, b == SUB_FINAL_TAG, tuple(supers)), pos
    comp, pos = read_comptype(data, pos)
    return SubType(comp), pos


def read_rectype(data: Buffer, pos: int) -> tuple[RecType, int]:
    if data[pos] == REC_TAG:
        n, pos = read_len(data, pos + 1)
        subs = []
        for _ in range(n):
            st, pos = read_subtype(data, pos)
            subs.append(st)
        return RecType(tuple(subs), explicit=True), pos
    st, pos = read_subtype(data, pos)
    return RecType((st,)), pos


def read_limits(data: Buffer, pos: int, memory: bool = False) -> tuple[Limits, int]:
    """Flags 0x00/0x01 (i32 addresses) or 0x04/0x05 (i64); bit 0: a maximum follows.
    For a memory, bit 1 marks it shared (threads), as the encoder and text format
    write it; components' test suite has core modules with shared memories.

    Wasm 3.0 has no custom page sizes, so any other flag bit is malformed (the suite
    checks 0x08 and LEB-looking 0x81).
    """
    flags = data[pos]
    if flags & (0xF8 if memory else 0xFA):
        raise Malformed("malformed limits flags", pos)
    lo, pos = read_u64(data, pos + 1)
    hi = None
    if flags & 1:
        hi, pos = read_u64(data, pos)
    return Limits(lo, hi, addr64=bool(flags & 4), shared=bool(flags & 2)), pos


def read_globaltype(data: Buffer, pos: int) -> tuple[GlobalType, int]:
    t, pos = read_valtype(data, pos)
    return GlobalType(t, read_mut(data, pos)), pos + 1
