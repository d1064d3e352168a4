"""Instruction decoding (spec 5.3): function bodies and constant expressions.

This is the decoder's hot loop (a large module is mostly code), so it trades some
elegance for speed: every single-byte opcode is classified once, from the operator
table, into a small "shape" code; the loop dispatches on the shape with the common
cases inlined (no immediate, one index, memarg, i32.const, block starts), reads
one- and two-byte LEB128s without a call, and shares instruction tuples for the
commonest immediates. Everything else goes through per-op immediate reader lists
derived from ``op.imms``, so the table stays the single source of truth.
Offsets go into an ``array('I')`` (4 bytes per instruction instead of ~36).

Nesting is tracked with a stack so that the final ``end`` is found without a
second pass, and ``else`` outside an ``if`` (or twice in one) is rejected as the
reference interpreter does ("END opcode expected").
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

from ..syntax.ops import (
    BLOCK,
    BY_CODE,
    BY_PREFIX,
    CATCH,
    CATCH_ALL,
    DELEGATE,
    ELSE,
    END,
    IF,
    LOOP,
    TRY,
    TRY_TABLE,
    Catch,
    Op,
)
from ..syntax.types import RefType
from .reader import (
    Buffer,
    Malformed,
    read_len,
    read_s32,
    read_s64,
    read_u32,
    read_uleb,
    take,
)
from .typecodes import VALTYPE_BY_BYTE, _ref, read_blocktype, read_heaptype, read_valtypes

Reader = Callable[[Buffer, int], tuple[Any, int]]
assert array("I").itemsize >= 4, "offsets need 32-bit array items"

# Shapes of single-byte opcodes, roughly by frequency in real code. The loop in
# decode_instrs tests them as literal ints: keep the two in step.
S_INDEX, S_NONE, S_I32, S_MEMARG, S_END, S_BLOCK, S_INDEX2 = 0, 1, 2, 3, 4, 5, 6
S_ELSE, S_PREFIX, S_GENERIC, S_TRY, S_ILLEGAL = 7, 8, 9, 10, 11
S_CATCH, S_DELEGATE = 12, 13
assert (S_INDEX, S_NONE, S_I32, S_MEMARG, S_END, S_BLOCK, S_INDEX2, S_ELSE, S_PREFIX) == tuple(
    range(9)
)

_INDEX_KINDS = frozenset(
    "label func type table memory global local data elem tag field u32".split()
)


def read_memarg(data: Buffer, pos: int) -> tuple[tuple[int, int, int], int]:
    """``(align_log2, offset, memidx)``; flag bit 6 announces an explicit memory index."""
    flags = data[pos]
    if flags < 0x40:
        pos += 1
        mem = 0
    else:
        start = pos
        flags, pos = read_u32(data, pos)
        if flags >= 0x80:
            raise Malformed("malformed memop flags", start)
        if flags >= 0x40:
            mem, pos = read_u32(data, pos)
            flags -= 0x40
        else:
            mem = 0
    off = data[pos]
    if off < 0x80:
        pos += 1
    else:
        off, pos = read_uleb(data, pos, 64)
    return (flags, off, mem), pos


def _read_labels(data: Buffer, pos: int) -> tuple[tuple[int, ...], int]:
    n, pos = read_len(data, pos)
    out = []
    for _ in range(n):
        x = data[pos]
        if x < 0x80:
            pos += 1
        else:
            x, pos = read_uleb(data, pos, 32)
        out.append(x)
    return tuple(out), pos


def _read_f32(data: Buffer, pos: int) -> tuple[int, int]:
    raw, pos = take(data, pos, 4)
    return int.from_bytes(raw, "little"), pos


def _read_f64(data: Buffer, pos: int) -> tuple[int, int]:
    raw, pos = take(data, pos, 8)
    return int.from_bytes(raw, "little"), pos


def _read_16(data: Buffer, pos: int) -> tuple[bytes, int]:
    return take(data, pos, 16)


def _read_lane(data: Buffer, pos: int) -> tuple[int, int]:
    return data[pos], pos + 1


_CATCH_KINDS = ("catch", "catch_ref", "catch_all", "catch_all_ref")


def _read_catches(data: Buffer, pos: int) -> tuple[tuple[Catch, ...], int]:
    n, pos = read_len(data, pos)
    out = []
    for _ in range(n):
        k = data[pos]
        if k > 3:
            raise Malformed("malformed catch clause", pos)
        pos += 1
        tag = None
        if k < 2:
            tag, pos = read_u32(data, pos)
        label, pos = read_u32(data, pos)
        out.append(Catch(_CATCH_KINDS[k], tag, label))
    return tuple(out), pos


def _read_brcast(data: Buffer, pos: int) -> tuple[tuple[int, RefType, RefType], int]:
    flags = data[pos]
    if flags & 0xFC:
        raise Malformed("malformed br_on_cast flags", pos)
    label, pos = read_u32(data, pos + 1)
    h1, pos = read_heaptype(data, pos)
    h2, pos = read_heaptype(data, pos)
    return (label, _ref(bool(flags & 1), h1), _ref(bool(flags & 2), h2)), pos


_READERS: dict[str, Reader] = {
    "block": read_blocktype,
    "labels": _read_labels,
    "memarg": read_memarg,
    "i32": read_s32,
    "i64": read_s64,
    "f32": _read_f32,
    "f64": _read_f64,
    "v128": _read_16,
    "shuffle": _read_16,
    "lane": _read_lane,
    "heap": read_heaptype,
    "valtypes": read_valtypes,
    "catches": _read_catches,
    "brcast": _read_brcast,
}
for _k in _INDEX_KINDS:
    _READERS[_k] = read_u32


def _reftype_reader(nullable: bool) -> Reader:
    """ref.test/ref.cast: the opcode carries the nullability, the immediate the heap."""

    def read(data: Buffer, pos: int) -> tuple[RefType, int]:
        h, pos = read_heaptype(data, pos)
        return _ref(nullable, h), pos

    return read


def _imm_readers(op: Op) -> tuple[Reader, ...]:
    out = []
    for kind in op.imms:
        if kind == "reftype":
            out.append(_reftype_reader(op.code in (21, 23)))
        else:
            out.append(_READERS[kind])
    return tuple(out)


def _classify(op: Op) -> int:
    imms = op.imms
    if op is END:
        return S_END
    if op is ELSE:
        return S_ELSE
    if op is BLOCK or op is LOOP or op is IF or op is TRY:
        return S_BLOCK
    if op is CATCH or op is CATCH_ALL:
        return S_CATCH
    if op is DELEGATE:
        return S_DELEGATE
    if op is TRY_TABLE:
        return S_TRY
    if not imms:
        return S_NONE
    if imms == ("memarg",):
        return S_MEMARG
    if imms == ("i32",):
        return S_I32
    if len(imms) == 1 and imms[0] in _INDEX_KINDS:
        return S_INDEX
    if len(imms) == 2 and imms[0] in _INDEX_KINDS and imms[1] in _INDEX_KINDS:
        return S_INDEX2
    return S_GENERIC


SHAPE: list[int] = [S_ILLEGAL] * 256
OP: list[Op | None] = [None] * 256
SINGLE: list[tuple[Op] | None] = [None] * 256
"""Shared ``(op,)`` tuples for immediate-free opcodes (instructions are immutable)."""
IMM_READERS: list[tuple[Reader, ...]] = [()] * 256
for _code, _op in BY_CODE.items():
    SHAPE[_code] = _classify(_op)
    OP[_code] = _op
    SINGLE[_code] = (_op,)
    IMM_READERS[_code] = _imm_readers(_op)
for _prefix in BY_PREFIX:
    SHAPE[_prefix] = S_PREFIX

PREFIXED: dict[int, dict[int, tuple[Op, tuple[Op] | None, tuple[Reader, ...]]]] = {
    prefix: {code: (op, None if op.imms else (op,), _imm_readers(op)) for code, op in table.items()}
    for prefix, table in BY_PREFIX.items()
}
NEEDS_DATA_COUNT = frozenset(
    op for t in BY_PREFIX.values() for op in t.values() if "data" in op.imms
)
"""Instructions that name a data segment: the binary must then have a data count section."""


# Shared instruction tuples for the commonest small immediates. Instructions are
# immutable, so sharing is safe; it saves allocation and garbage-collector work.
IDX_CACHE: list[list[tuple[Op, int]] | None] = [None] * 256
"""opcode -> index (< 128) -> ``(op, index)`` for one-index instructions."""
for _code, _op in BY_CODE.items():
    if SHAPE[_code] == S_INDEX:
        IDX_CACHE[_code] = [(_op, i) for i in range(128)]
I32_CACHE = [(OP[0x41], v if v < 64 else v - 128) for v in range(128)]
"""one-byte s32 -> ``(i32.const, value)``"""
BLOCK_CACHE: dict[int, tuple[Any, ...]] = {}
"""``b << 8 | blocktype byte`` -> ``(op, blocktype)`` for empty and one-byte value types."""
for _b in (0x02, 0x03, 0x04):
    BLOCK_CACHE[_b << 8 | 0x40] = (OP[_b], None)
    for _t, _vt in VALTYPE_BY_BYTE.items():
        BLOCK_CACHE[_b << 8 | _t] = (OP[_b], _vt)
MEM_CACHE: dict[int, tuple[Any, ...]] = {}
"""``opcode << 13 | align << 7 | offset`` -> ``(op, memarg)``, filled as met (at most 4096)."""


def decode_instrs(
    data: Buffer, pos: int, base: int = 0, data_count: bool = True
) -> tuple[list[Any], array[int], int]:
    """Decode instructions up to and including the ``end`` that closes the sequence.

    Returns ``(instrs, offsets, pos_after_end)``; the closing ``end`` is not in
    ``instrs``. ``offsets[i]`` is ``base`` plus the position of ``instrs[i]``.
    ``data_count=False`` rejects instructions that need a data count section.
    Raises :class:`Malformed`, or ``IndexError`` at the end of ``data``.
    Instruction tuples may be shared between bodies: never rely on their identity.
    """
    body: list[Any] = []
    offsets = array("I")
    append = body.append
    oappend = offsets.append
    # 0: block/loop/try_table, 1: if before else, 2: if after else,
    # 3: legacy try before its handlers, 4: in a catch handler, 5: after catch_all
    blocks: list[int] = []
    push = blocks.append
    pop = blocks.pop
    shape_of = SHAPE
    op_of = OP
    single = SINGLE
    idx_cache = IDX_CACHE
    i32_cache = I32_CACHE
    mem_cache = MEM_CACHE
    block_cache = BLOCK_CACHE
    while True:
        b = data[pos]
        k = shape_of[b]
        oappend(pos)
        if not k:  # S_INDEX (literal ints: a global lookup per test costs ~5%)
            x = data[pos + 1]
            if x < 0x80:
                pos += 2
                append(idx_cache[b][x])  # type: ignore[index]
            else:
                y = data[pos + 2]
                if y < 0x80:  # two-byte index (call 1000): no call
                    x = (x & 0x7F) | y << 7
                    pos += 3
                else:
                    x, pos = read_u32(data, pos + 1)
                append((op_of[b], x))
        elif k == 2:  # S_I32
            x = data[pos + 1]
            if x < 0x80:
                pos += 2
                append(i32_cache[x])
            else:
                y = data[pos + 2]
                if y < 0x80:  # two-byte constant
                    x = (x & 0x7F) | y << 7
                    if y & 0x40:
                        x -= 0x4000
                    pos += 3
                else:
                    x, pos = read_s32(data, pos + 1)
                append((op_of[b], x))
        elif k == 1:  # S_NONE
            pos += 1
            append(single[b])
        elif k == 3:  # S_MEMARG
            flags = data[pos + 1]
            if flags < 0x40:
                off = data[pos + 2]
                if off < 0x80:
                    pos += 3
                    key = b << 13 | flags << 7 | off
                    t = mem_cache.get(key)
                    if t is None:
                        t = (op_of[b], (flags, off, 0))
                        if len(mem_cache) < 4096:
                            mem_cache[key] = t
                    append(t)
                    continue
                y = data[pos + 3]
                if y < 0x80:  # two-byte offset
                    pos += 4
                    append((op_of[b], (flags, (off & 0x7F) | y << 7, 0)))
                    continue
            m, pos = read_memarg(data, pos + 1)
            append((op_of[b], m))
        elif k == 4:  # S_END
            if not blocks:
                offsets.pop()
                if base:
                    offsets = array("I", [o + base for o in offsets])
                return body, offsets, pos + 1
            pop()
            pos += 1
            append(single[b])
        elif k == 5:  # S_BLOCK
            bt = block_cache.get(b << 8 | data[pos + 1])
            if bt is not None:
                pos += 2
                append(bt)
            else:
                blocktype, pos = read_blocktype(data, pos + 1)
                append((op_of[b], blocktype))
            push(1 if b == 0x04 else 3 if b == 0x06 else 0)
        elif k == 6:  # S_INDEX2
            x, pos = read_u32(data, pos + 1)
            y, pos = read_u32(data, pos)
            append((op_of[b], x, y))
        elif k == 7:  # S_ELSE
            if not blocks or blocks[-1] != 1:
                raise Malformed("END opcode expected", pos)
            blocks[-1] = 2
            pos += 1
            append(single[b])
        elif k == 8:  # S_PREFIX
            start = pos
            sub = data[pos + 1]
            if sub < 0x80:
                pos += 2
            else:
                sub, pos = read_uleb(data, pos + 1, 32)
            entry = PREFIXED[b].get(sub)
            if entry is None:
                raise Malformed(f"illegal opcode {b:02x} {sub:02x}", start)
            op, one, readers = entry
            if one is not None:
                append(one)
                continue
            if not data_count and op in NEEDS_DATA_COUNT:
                raise Malformed("data count section required", start)
            ins: list[Any] = [op]
            for r in readers:
                v, pos = r(data, pos)
                ins.append(v)
            append(tuple(ins))
        elif k == 9 or k == 10:  # S_GENERIC, S_TRY
            ins = [op_of[b]]
            pos += 1
            for r in IMM_READERS[b]:
                v, pos = r(data, pos)
                ins.append(v)
            append(tuple(ins))
            if k == 10:
                push(0)
        elif k == 12:  # S_CATCH: catch x / catch_all inside a legacy try
            if not blocks or blocks[-1] not in (3, 4):
                raise Malformed("END opcode expected", pos)
            blocks[-1] = 4 if b == 0x07 else 5
            ins = [op_of[b]]
            pos += 1
            for r in IMM_READERS[b]:
                v, pos = r(data, pos)
                ins.append(v)
            append(tuple(ins))
        elif k == 13:  # S_DELEGATE: closes a legacy try that has no handlers
            if not blocks or blocks[-1] != 3:
                raise Malformed("END opcode expected", pos)
            pop()
            x, pos = read_u32(data, pos + 1)
            append((op_of[b], x))
        else:
            raise Malformed(f"illegal opcode {b:02x}", pos)


def decode_const(data: Buffer, pos: int) -> tuple[list[Any], int]:
    """A constant expression (any instructions; constness is the validator's job)."""
    b = data[pos]
    # Fast path for the usual one-instruction forms: i32.const n / ref.func x, then end.
    if (b == 0x41 or b == 0xD2) and data[pos + 1] < 0x40 and data[pos + 2] == 0x0B:
        return [(OP[b], data[pos + 1])], pos + 3
    body, _, pos = decode_instrs(data, pos)
    return body, pos
