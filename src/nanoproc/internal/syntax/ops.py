"""The operator table: the single source of truth for every WebAssembly 3.0 instruction.

Every part of nanoproc that touches instructions is driven by this table: the binary
decoder and encoder (opcode bytes, immediate kinds in binary order), the validator
(fixed signature or the name of a typing rule), the text parser and the printer
(mnemonic, immediate kinds). Adding an instruction is one entry here plus its
semantics in each execution tier.

An instruction in a decoded or parsed function body is a tuple ``(op, *immediates)``
where ``op`` is an :class:`Op` from this table and the immediates follow
``op.imms`` one for one, in binary order. Immediate kinds and their Python values:

=============  ==============================================================
kind           value
=============  ==============================================================
``block``      block type: ``None``, a ValType, or a type index (``int``)
``label``      label index (``int``)
``labels``     ``tuple[int, ...]``: br_table targets (the default is a ``label``)
``func``       function index; likewise ``type``, ``table``, ``memory``,
``global``     ``global``, ``local``, ``data``, ``elem``, ``tag``, ``field``
``u32``        plain count (``array.new_fixed``)
``memarg``     ``(align_log2, offset, memidx)``
``i32 i64``    the constant as a signed Python int
``f32 f64``    the constant's IEEE bit pattern as an unsigned int (keeps NaN payloads)
``v128``       ``bytes`` of length 16, little-endian
``lane``       lane index (``int``)
``shuffle``    ``bytes`` of length 16, lane indices
``heap``       a heap type (``str`` abstract name or ``int`` type index)
``valtypes``   ``tuple[ValType, ...]`` (typed ``select``)
``reftype``    a RefType (``ref.test``/``ref.cast``; nullability picks the opcode)
``brcast``     ``(label, RefType, RefType)`` for br_on_cast(_fail)
``catches``    ``tuple[Catch, ...]`` for try_table
=============  ==============================================================

Text order differs from binary order for a few instructions (``call_indirect``,
``memory.init``, ``table.init``); the text parser and printer handle those by name.
"""

from __future__ import annotations

from typing import Any

from ..records import Frozen
from .types import (
    ARRAYREF,
    EQREF,
    EXTERNREF,
    F32,
    F64,
    I32,
    I64,
    V128,
    RefType,
    ValType,
)

_set = object.__setattr__


class Op(Frozen):
    """One instruction: encoding, text name, immediates and typing.

    A frozen record (see ..records) compared and hashed by identity: one object per
    instruction, so hot code compares operators with ``is``.
    """

    __slots__ = __match_args__ = ("idx", "name", "prefix", "code", "imms", "params",
                                  "results", "rule", "feature", "width", "lanes")  # fmt: skip
    idx: int
    """Dense index, usable for dispatch tables."""
    name: str
    """Text mnemonic, e.g. ``i32.add``."""
    prefix: int | None
    """Prefix byte (0xFB, 0xFC, 0xFD) or None for single-byte opcodes."""
    code: int
    """Opcode byte, or the u32 sub-opcode after the prefix."""
    imms: tuple[str, ...]
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]
    rule: str | None
    """None: the fixed signature ``params -> results`` is the whole typing rule.
    Otherwise the name of the validator's rule for this instruction; ``params`` and
    ``results`` still give the value operands where the rule uses them (for
    ``memarg`` rules: operands besides the address)."""
    feature: str
    width: int
    """Bytes accessed, for memarg instructions (the natural alignment)."""
    lanes: int
    """Lane count, for instructions with a ``lane`` immediate."""

    def __init__(self, idx: int, name: str, prefix: int | None, code: int,
                 imms: tuple[str, ...], params: tuple[ValType, ...],
                 results: tuple[ValType, ...], rule: str | None, feature: str,
                 width: int = 0, lanes: int = 0) -> None:  # fmt: skip
        _set(self, "idx", idx)
        _set(self, "name", name)
        _set(self, "prefix", prefix)
        _set(self, "code", code)
        _set(self, "imms", imms)
        _set(self, "params", params)
        _set(self, "results", results)
        _set(self, "rule", rule)
        _set(self, "feature", feature)
        _set(self, "width", width)
        _set(self, "lanes", lanes)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    @property
    def opcode_bytes(self) -> bytes:
        """The encoded opcode (prefix and LEB128 sub-opcode)."""
        if self.prefix is None:
            return bytes([self.code])
        out = bytearray([self.prefix])
        v = self.code
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)


class Catch(Frozen):
    """A try_table catch clause. ``kind``: catch, catch_ref, catch_all, catch_all_ref."""

    __slots__ = __match_args__ = ("kind", "tag", "label")
    kind: str
    tag: int | None
    label: int

    def __init__(self, kind: str, tag: int | None, label: int) -> None:
        _set(self, "kind", kind)
        _set(self, "tag", tag)
        _set(self, "label", label)

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is self.__class__:
            return (self.kind, self.tag, self.label) == (other.kind, other.tag, other.label)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.kind, self.tag, self.label))


CATCH_KINDS = ("catch", "catch_ref", "catch_all", "catch_all_ref")

OPS: list[Op] = []
"""Every instruction, in table order."""
BY_NAME: dict[str, Op] = {}
"""Text mnemonic -> Op. The nullable ref.test/ref.cast variants are under 'NAME null'."""
BY_CODE: dict[int, Op] = {}
"""Single-byte opcode -> Op."""
BY_PREFIX: dict[int, dict[int, Op]] = {0xFB: {}, 0xFC: {}, 0xFD: {}}
"""Prefix byte -> sub-opcode -> Op."""

_TYPES: dict[str, ValType] = {
    "i32": I32,
    "i64": I64,
    "f32": F32,
    "f64": F64,
    "v128": V128,
    "externref": EXTERNREF,
    "eqref": EQREF,
    "arrayref": ARRAYREF,
    "(ref i31)": RefType(False, "i31"),
    "(ref null i31)": RefType(True, "i31"),
    "(ref any)": RefType(False, "any"),
    "(ref null any)": RefType(True, "any"),
    "(ref extern)": RefType(False, "extern"),
    "(ref null extern)": RefType(True, "extern"),
}


def _sig(text: str) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
    """Parse ``'i32 i32 -> i32'`` (types separated by ', ' when they contain spaces)."""
    left, right = text.split("->")

    def parse(side: str) -> tuple[ValType, ...]:
        side = side.strip()
        if not side:
            return ()
        parts = side.split(", ") if "(" in side else side.split()
        return tuple(_TYPES[p.strip()] for p in parts)

    return parse(left), parse(right)


def _op(
    name: str,
    prefix: int | None,
    code: int,
    imms: tuple[str, ...] = (),
    sig: str | None = None,
    rule: str | None = None,
    feature: str = "core",
    width: int = 0,
    lanes: int = 0,
    key: str | None = None,
) -> Op:
    params, results = _sig(sig) if sig else ((), ())
    if sig is None and rule is None:
        rule = name
    op = Op(len(OPS), name, prefix, code, imms, params, results, rule, feature, width, lanes)
    OPS.append(op)
    k = key or name
    assert k not in BY_NAME, k
    BY_NAME[k] = op
    if prefix is None:
        assert code not in BY_CODE, hex(code)
        BY_CODE[code] = op
    else:
        table = BY_PREFIX[prefix]
        assert code not in table, (hex(prefix), code)
        table[code] = op
    return op


def _special(name: str, code: int, *imms: str, feature: str = "core", prefix: int | None = None) -> Op:
    """An instruction whose typing is a named validator rule (rule == name)."""
    return _op(name, prefix, code, tuple(imms), rule=name, feature=feature)


# ---------------------------------------------------------------- control
_special("unreachable", 0x00)
_op("nop", None, 0x01, sig="->")
_special("block", 0x02, "block")
_special("loop", 0x03, "block")
_special("if", 0x04, "block")
_special("else", 0x05)
_special("throw", 0x08, "tag", feature="exceptions")
_special("throw_ref", 0x0A, feature="exceptions")
_special("end", 0x0B)
_special("br", 0x0C, "label")
_special("br_if", 0x0D, "label")
_special("br_table", 0x0E, "labels", "label")
_special("return", 0x0F)
_special("call", 0x10, "func")
_special("call_indirect", 0x11, "type", "table")
_special("return_call", 0x12, "func", feature="tail_call")
_special("return_call_indirect", 0x13, "type", "table", feature="tail_call")
_special("call_ref", 0x14, "type", feature="function_references")
_special("return_call_ref", 0x15, "type", feature="tail_call")
_special("drop", 0x1A)
_special("select", 0x1B)
_op("select", None, 0x1C, ("valtypes",), rule="select_t", key="select_t", feature="reference_types")
_special("try_table", 0x1F, "block", "catches", feature="exceptions")

# ---------------------------------------------------------------- variables
_special("local.get", 0x20, "local")
_special("local.set", 0x21, "local")
_special("local.tee", 0x22, "local")
_special("global.get", 0x23, "global")
_special("global.set", 0x24, "global")
_special("table.get", 0x25, "table", feature="reference_types")
_special("table.set", 0x26, "table", feature="reference_types")

# ---------------------------------------------------------------- memory
_LOADS = [
    ("i32.load", 0x28, "i32", 4), ("i64.load", 0x29, "i64", 8),
    ("f32.load", 0x2A, "f32", 4), ("f64.load", 0x2B, "f64", 8),
    ("i32.load8_s", 0x2C, "i32", 1), ("i32.load8_u", 0x2D, "i32", 1),
    ("i32.load16_s", 0x2E, "i32", 2), ("i32.load16_u", 0x2F, "i32", 2),
    ("i64.load8_s", 0x30, "i64", 1), ("i64.load8_u", 0x31, "i64", 1),
    ("i64.load16_s", 0x32, "i64", 2), ("i64.load16_u", 0x33, "i64", 2),
    ("i64.load32_s", 0x34, "i64", 4), ("i64.load32_u", 0x35, "i64", 4),
]  # fmt: skip
for _n, _c, _t, _w in _LOADS:
    _op(_n, None, _c, ("memarg",), sig=f"-> {_t}", rule="memarg", width=_w)
_STORES = [
    ("i32.store", 0x36, "i32", 4), ("i64.store", 0x37, "i64", 8),
    ("f32.store", 0x38, "f32", 4), ("f64.store", 0x39, "f64", 8),
    ("i32.store8", 0x3A, "i32", 1), ("i32.store16", 0x3B, "i32", 2),
    ("i64.store8", 0x3C, "i64", 1), ("i64.store16", 0x3D, "i64", 2),
    ("i64.store32", 0x3E, "i64", 4),
]  # fmt: skip
for _n, _c, _t, _w in _STORES:
    _op(_n, None, _c, ("memarg",), sig=f"{_t} ->", rule="memarg", width=_w)
_special("memory.size", 0x3F, "memory")
_special("memory.grow", 0x40, "memory")

# ---------------------------------------------------------------- numeric
_op("i32.const", None, 0x41, ("i32",), sig="-> i32")
_op("i64.const", None, 0x42, ("i64",), sig="-> i64")
_op("f32.const", None, 0x43, ("f32",), sig="-> f32")
_op("f64.const", None, 0x44, ("f64",), sig="-> f64")


def _family(start: int, prefix: str, names: str, sig: str, feature: str = "core") -> None:
    """Consecutive single-byte opcodes sharing one signature."""
    for i, n in enumerate(names.split()):
        _op(f"{prefix}.{n}", None, start + i, sig=sig, feature=feature)


_family(0x45, "i32", "eqz", "i32 -> i32")
_family(0x46, "i32", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u", "i32 i32 -> i32")
_family(0x50, "i64", "eqz", "i64 -> i32")
_family(0x51, "i64", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u", "i64 i64 -> i32")
_family(0x5B, "f32", "eq ne lt gt le ge", "f32 f32 -> i32")
_family(0x61, "f64", "eq ne lt gt le ge", "f64 f64 -> i32")
_family(0x67, "i32", "clz ctz popcnt", "i32 -> i32")
_family(0x6A, "i32", "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr",
        "i32 i32 -> i32")  # fmt: skip
_family(0x79, "i64", "clz ctz popcnt", "i64 -> i64")
_family(0x7C, "i64", "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr",
        "i64 i64 -> i64")  # fmt: skip
_family(0x8B, "f32", "abs neg ceil floor trunc nearest sqrt", "f32 -> f32")
_family(0x92, "f32", "add sub mul div min max copysign", "f32 f32 -> f32")
_family(0x99, "f64", "abs neg ceil floor trunc nearest sqrt", "f64 -> f64")
_family(0xA0, "f64", "add sub mul div min max copysign", "f64 f64 -> f64")

_CONVERSIONS = [
    ("i32.wrap_i64", "i64 -> i32"),
    ("i32.trunc_f32_s", "f32 -> i32"), ("i32.trunc_f32_u", "f32 -> i32"),
    ("i32.trunc_f64_s", "f64 -> i32"), ("i32.trunc_f64_u", "f64 -> i32"),
    ("i64.extend_i32_s", "i32 -> i64"), ("i64.extend_i32_u", "i32 -> i64"),
    ("i64.trunc_f32_s", "f32 -> i64"), ("i64.trunc_f32_u", "f32 -> i64"),
    ("i64.trunc_f64_s", "f64 -> i64"), ("i64.trunc_f64_u", "f64 -> i64"),
    ("f32.convert_i32_s", "i32 -> f32"), ("f32.convert_i32_u", "i32 -> f32"),
    ("f32.convert_i64_s", "i64 -> f32"), ("f32.convert_i64_u", "i64 -> f32"),
    ("f32.demote_f64", "f64 -> f32"),
    ("f64.convert_i32_s", "i32 -> f64"), ("f64.convert_i32_u", "i32 -> f64"),
    ("f64.convert_i64_s", "i64 -> f64"), ("f64.convert_i64_u", "i64 -> f64"),
    ("f64.promote_f32", "f32 -> f64"),
    ("i32.reinterpret_f32", "f32 -> i32"), ("i64.reinterpret_f64", "f64 -> i64"),
    ("f32.reinterpret_i32", "i32 -> f32"), ("f64.reinterpret_i64", "i64 -> f64"),
    ("i32.extend8_s", "i32 -> i32"), ("i32.extend16_s", "i32 -> i32"),
    ("i64.extend8_s", "i64 -> i64"), ("i64.extend16_s", "i64 -> i64"),
    ("i64.extend32_s", "i64 -> i64"),
]  # fmt: skip
for _i, (_n, _s) in enumerate(_CONVERSIONS):
    _op(_n, None, 0xA7 + _i, sig=_s, feature="sign_extension" if _i >= 25 else "core")

# ---------------------------------------------------------------- references
_special("ref.null", 0xD0, "heap", feature="reference_types")
_special("ref.is_null", 0xD1, feature="reference_types")
_special("ref.func", 0xD2, "func", feature="reference_types")
_op("ref.eq", None, 0xD3, sig="eqref eqref -> i32", feature="gc")
_special("ref.as_non_null", 0xD4, feature="function_references")
_special("br_on_null", 0xD5, "label", feature="function_references")
_special("br_on_non_null", 0xD6, "label", feature="function_references")

# ---------------------------------------------------------------- 0xFC: saturating, bulk, tables
_SAT = [
    ("i32.trunc_sat_f32_s", "f32 -> i32"), ("i32.trunc_sat_f32_u", "f32 -> i32"),
    ("i32.trunc_sat_f64_s", "f64 -> i32"), ("i32.trunc_sat_f64_u", "f64 -> i32"),
    ("i64.trunc_sat_f32_s", "f32 -> i64"), ("i64.trunc_sat_f32_u", "f32 -> i64"),
    ("i64.trunc_sat_f64_s", "f64 -> i64"), ("i64.trunc_sat_f64_u", "f64 -> i64"),
]  # fmt: skip
for _i, (_n, _s) in enumerate(_SAT):
    _op(_n, 0xFC, _i, sig=_s, feature="saturating_float_to_int")
_special("memory.init", 8, "data", "memory", feature="bulk_memory", prefix=0xFC)
_special("data.drop", 9, "data", feature="bulk_memory", prefix=0xFC)
_special("memory.copy", 10, "memory", "memory", feature="bulk_memory", prefix=0xFC)
_special("memory.fill", 11, "memory", feature="bulk_memory", prefix=0xFC)
_special("table.init", 12, "elem", "table", feature="bulk_memory", prefix=0xFC)
_special("elem.drop", 13, "elem", feature="bulk_memory", prefix=0xFC)
_special("table.copy", 14, "table", "table", feature="bulk_memory", prefix=0xFC)
_special("table.grow", 15, "table", feature="reference_types", prefix=0xFC)
_special("table.size", 16, "table", feature="reference_types", prefix=0xFC)
_special("table.fill", 17, "table", feature="reference_types", prefix=0xFC)

# ---------------------------------------------------------------- 0xFB: GC
_GC: list[tuple[int, str, tuple[str, ...], str | None]] = [
    (0, "struct.new", ("type",), None),
    (1, "struct.new_default", ("type",), None),
    (2, "struct.get", ("type", "field"), None),
    (3, "struct.get_s", ("type", "field"), None),
    (4, "struct.get_u", ("type", "field"), None),
    (5, "struct.set", ("type", "field"), None),
    (6, "array.new", ("type",), None),
    (7, "array.new_default", ("type",), None),
    (8, "array.new_fixed", ("type", "u32"), None),
    (9, "array.new_data", ("type", "data"), None),
    (10, "array.new_elem", ("type", "elem"), None),
    (11, "array.get", ("type",), None),
    (12, "array.get_s", ("type",), None),
    (13, "array.get_u", ("type",), None),
    (14, "array.set", ("type",), None),
    (15, "array.len", (), "arrayref -> i32"),
    (16, "array.fill", ("type",), None),
    (17, "array.copy", ("type", "type"), None),
    (18, "array.init_data", ("type", "data"), None),
    (19, "array.init_elem", ("type", "elem"), None),
    (26, "any.convert_extern", (), None),
    (27, "extern.convert_any", (), None),
    (28, "ref.i31", (), "i32 -> (ref i31)"),
    (29, "i31.get_s", (), "(ref null i31) -> i32"),
    (30, "i31.get_u", (), "(ref null i31) -> i32"),
]
for _c, _n, _im, _s in _GC:
    _op(_n, 0xFB, _c, _im, sig=_s, feature="gc")
_op("ref.test", 0xFB, 20, ("reftype",), rule="ref.test", feature="gc")
_op("ref.test", 0xFB, 21, ("reftype",), rule="ref.test", feature="gc", key="ref.test null")
_op("ref.cast", 0xFB, 22, ("reftype",), rule="ref.cast", feature="gc")
_op("ref.cast", 0xFB, 23, ("reftype",), rule="ref.cast", feature="gc", key="ref.cast null")
_special("br_on_cast", 24, "brcast", feature="gc", prefix=0xFB)
_special("br_on_cast_fail", 25, "brcast", feature="gc", prefix=0xFB)

# ---------------------------------------------------------------- 0xFD: SIMD
_SIMD_MEM = [
    (0, "v128.load", 16, "-> v128"),
    (1, "v128.load8x8_s", 8, "-> v128"), (2, "v128.load8x8_u", 8, "-> v128"),
    (3, "v128.load16x4_s", 8, "-> v128"), (4, "v128.load16x4_u", 8, "-> v128"),
    (5, "v128.load32x2_s", 8, "-> v128"), (6, "v128.load32x2_u", 8, "-> v128"),
    (7, "v128.load8_splat", 1, "-> v128"), (8, "v128.load16_splat", 2, "-> v128"),
    (9, "v128.load32_splat", 4, "-> v128"), (10, "v128.load64_splat", 8, "-> v128"),
    (11, "v128.store", 16, "v128 ->"),
    (92, "v128.load32_zero", 4, "-> v128"), (93, "v128.load64_zero", 8, "-> v128"),
]  # fmt: skip
for _c, _n, _w, _s in _SIMD_MEM:
    _op(_n, 0xFD, _c, ("memarg",), sig=_s, rule="memarg", feature="simd", width=_w)
for _i, _bits in enumerate((8, 16, 32, 64)):
    _op(f"v128.load{_bits}_lane", 0xFD, 84 + _i, ("memarg", "lane"), sig="v128 -> v128",
        rule="memarg", feature="simd", width=_bits // 8, lanes=128 // _bits)  # fmt: skip
    _op(f"v128.store{_bits}_lane", 0xFD, 88 + _i, ("memarg", "lane"), sig="v128 ->",
        rule="memarg", feature="simd", width=_bits // 8, lanes=128 // _bits)  # fmt: skip

_op("v128.const", 0xFD, 12, ("v128",), sig="-> v128", feature="simd")
_op("i8x16.shuffle", 0xFD, 13, ("shuffle",), sig="v128 v128 -> v128", feature="simd", lanes=32)

_LANE_OPS = [
    (21, "i8x16.extract_lane_s", 16, "v128 -> i32"), (22, "i8x16.extract_lane_u", 16, "v128 -> i32"),
    (23, "i8x16.replace_lane", 16, "v128 i32 -> v128"),
    (24, "i16x8.extract_lane_s", 8, "v128 -> i32"), (25, "i16x8.extract_lane_u", 8, "v128 -> i32"),
    (26, "i16x8.replace_lane", 8, "v128 i32 -> v128"),
    (27, "i32x4.extract_lane", 4, "v128 -> i32"), (28, "i32x4.replace_lane", 4, "v128 i32 -> v128"),
    (29, "i64x2.extract_lane", 2, "v128 -> i64"), (30, "i64x2.replace_lane", 2, "v128 i64 -> v128"),
    (31, "f32x4.extract_lane", 4, "v128 -> f32"), (32, "f32x4.replace_lane", 4, "v128 f32 -> v128"),
    (33, "f64x2.extract_lane", 2, "v128 -> f64"), (34, "f64x2.replace_lane", 2, "v128 f64 -> v128"),
]  # fmt: skip
for _c, _n, _l, _s in _LANE_OPS:
    _op(_n, 0xFD, _c, ("lane",), sig=_s, feature="simd", lanes=_l)

_V_UN = "v128 -> v128"
_V_BIN = "v128 v128 -> v128"
_V_TEST = "v128 -> i32"
_V_SHIFT = "v128 i32 -> v128"
_V_TERN = "v128 v128 v128 -> v128"

# (code, name, signature) for every remaining SIMD instruction, in opcode order.
_SIMD: list[tuple[int, str, str]] = [
    (14, "i8x16.swizzle", _V_BIN),
    (15, "i8x16.splat", "i32 -> v128"), (16, "i16x8.splat", "i32 -> v128"),
    (17, "i32x4.splat", "i32 -> v128"), (18, "i64x2.splat", "i64 -> v128"),
    (19, "f32x4.splat", "f32 -> v128"), (20, "f64x2.splat", "f64 -> v128"),
]  # fmt: skip
for _base, _shape, _names in (
    (35, "i8x16", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u"),
    (45, "i16x8", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u"),
    (55, "i32x4", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u"),
    (65, "f32x4", "eq ne lt gt le ge"),
    (71, "f64x2", "eq ne lt gt le ge"),
):
    for _i, _n in enumerate(_names.split()):
        _SIMD.append((_base + _i, f"{_shape}.{_n}", _V_BIN))
_SIMD += [
    (77, "v128.not", _V_UN), (78, "v128.and", _V_BIN), (79, "v128.andnot", _V_BIN),
    (80, "v128.or", _V_BIN), (81, "v128.xor", _V_BIN), (82, "v128.bitselect", _V_TERN),
    (83, "v128.any_true", _V_TEST),
    (94, "f32x4.demote_f64x2_zero", _V_UN), (95, "f64x2.promote_low_f32x4", _V_UN),
    (96, "i8x16.abs", _V_UN), (97, "i8x16.neg", _V_UN), (98, "i8x16.popcnt", _V_UN),
    (99, "i8x16.all_true", _V_TEST), (100, "i8x16.bitmask", _V_TEST),
    (101, "i8x16.narrow_i16x8_s", _V_BIN), (102, "i8x16.narrow_i16x8_u", _V_BIN),
    (103, "f32x4.ceil", _V_UN), (104, "f32x4.floor", _V_UN), (105, "f32x4.trunc", _V_UN),
    (106, "f32x4.nearest", _V_UN),
    (107, "i8x16.shl", _V_SHIFT), (108, "i8x16.shr_s", _V_SHIFT), (109, "i8x16.shr_u", _V_SHIFT),
    (110, "i8x16.add", _V_BIN), (111, "i8x16.add_sat_s", _V_BIN), (112, "i8x16.add_sat_u", _V_BIN),
    (113, "i8x16.sub", _V_BIN), (114, "i8x16.sub_sat_s", _V_BIN), (115, "i8x16.sub_sat_u", _V_BIN),
    (116, "f64x2.ceil", _V_UN), (117, "f64x2.floor", _V_UN),
    (118, "i8x16.min_s", _V_BIN), (119, "i8x16.min_u", _V_BIN),
    (120, "i8x16.max_s", _V_BIN), (121, "i8x16.max_u", _V_BIN),
    (122, "f64x2.trunc", _V_UN), (123, "i8x16.avgr_u", _V_BIN),
    (124, "i16x8.extadd_pairwise_i8x16_s", _V_UN), (125, "i16x8.extadd_pairwise_i8x16_u", _V_UN),
    (126, "i32x4.extadd_pairwise_i16x8_s", _V_UN), (127, "i32x4.extadd_pairwise_i16x8_u", _V_UN),
    (128, "i16x8.abs", _V_UN), (129, "i16x8.neg", _V_UN), (130, "i16x8.q15mulr_sat_s", _V_BIN),
    (131, "i16x8.all_true", _V_TEST), (132, "i16x8.bitmask", _V_TEST),
    (133, "i16x8.narrow_i32x4_s", _V_BIN), (134, "i16x8.narrow_i32x4_u", _V_BIN),
    (135, "i16x8.extend_low_i8x16_s", _V_UN), (136, "i16x8.extend_high_i8x16_s", _V_UN),
    (137, "i16x8.extend_low_i8x16_u", _V_UN), (138, "i16x8.extend_high_i8x16_u", _V_UN),
    (139, "i16x8.shl", _V_SHIFT), (140, "i16x8.shr_s", _V_SHIFT), (141, "i16x8.shr_u", _V_SHIFT),
    (142, "i16x8.add", _V_BIN), (143, "i16x8.add_sat_s", _V_BIN), (144, "i16x8.add_sat_u", _V_BIN),
    (145, "i16x8.sub", _V_BIN), (146, "i16x8.sub_sat_s", _V_BIN), (147, "i16x8.sub_sat_u", _V_BIN),
    (148, "f64x2.nearest", _V_UN), (149, "i16x8.mul", _V_BIN),
    (150, "i16x8.min_s", _V_BIN), (151, "i16x8.min_u", _V_BIN),
    (152, "i16x8.max_s", _V_BIN), (153, "i16x8.max_u", _V_BIN),
    (155, "i16x8.avgr_u", _V_BIN),
    (156, "i16x8.extmul_low_i8x16_s", _V_BIN), (157, "i16x8.extmul_high_i8x16_s", _V_BIN),
    (158, "i16x8.extmul_low_i8x16_u", _V_BIN), (159, "i16x8.extmul_high_i8x16_u", _V_BIN),
    (160, "i32x4.abs", _V_UN), (161, "i32x4.neg", _V_UN),
    (163, "i32x4.all_true", _V_TEST), (164, "i32x4.bitmask", _V_TEST),
    (167, "i32x4.extend_low_i16x8_s", _V_UN), (168, "i32x4.extend_high_i16x8_s", _V_UN),
    (169, "i32x4.extend_low_i16x8_u", _V_UN), (170, "i32x4.extend_high_i16x8_u", _V_UN),
    (171, "i32x4.shl", _V_SHIFT), (172, "i32x4.shr_s", _V_SHIFT), (173, "i32x4.shr_u", _V_SHIFT),
    (174, "i32x4.add", _V_BIN), (177, "i32x4.sub", _V_BIN), (181, "i32x4.mul", _V_BIN),
    (182, "i32x4.min_s", _V_BIN), (183, "i32x4.min_u", _V_BIN),
    (184, "i32x4.max_s", _V_BIN), (185, "i32x4.max_u", _V_BIN),
    (186, "i32x4.dot_i16x8_s", _V_BIN),
    (188, "i32x4.extmul_low_i16x8_s", _V_BIN), (189, "i32x4.extmul_high_i16x8_s", _V_BIN),
    (190, "i32x4.extmul_low_i16x8_u", _V_BIN), (191, "i32x4.extmul_high_i16x8_u", _V_BIN),
    (192, "i64x2.abs", _V_UN), (193, "i64x2.neg", _V_UN),
    (195, "i64x2.all_true", _V_TEST), (196, "i64x2.bitmask", _V_TEST),
    (199, "i64x2.extend_low_i32x4_s", _V_UN), (200, "i64x2.extend_high_i32x4_s", _V_UN),
    (201, "i64x2.extend_low_i32x4_u", _V_UN), (202, "i64x2.extend_high_i32x4_u", _V_UN),
    (203, "i64x2.shl", _V_SHIFT), (204, "i64x2.shr_s", _V_SHIFT), (205, "i64x2.shr_u", _V_SHIFT),
    (206, "i64x2.add", _V_BIN), (209, "i64x2.sub", _V_BIN), (213, "i64x2.mul", _V_BIN),
    (214, "i64x2.eq", _V_BIN), (215, "i64x2.ne", _V_BIN), (216, "i64x2.lt_s", _V_BIN),
    (217, "i64x2.gt_s", _V_BIN), (218, "i64x2.le_s", _V_BIN), (219, "i64x2.ge_s", _V_BIN),
    (220, "i64x2.extmul_low_i32x4_s", _V_BIN), (221, "i64x2.extmul_high_i32x4_s", _V_BIN),
    (222, "i64x2.extmul_low_i32x4_u", _V_BIN), (223, "i64x2.extmul_high_i32x4_u", _V_BIN),
    (224, "f32x4.abs", _V_UN), (225, "f32x4.neg", _V_UN), (227, "f32x4.sqrt", _V_UN),
    (228, "f32x4.add", _V_BIN), (229, "f32x4.sub", _V_BIN), (230, "f32x4.mul", _V_BIN),
    (231, "f32x4.div", _V_BIN), (232, "f32x4.min", _V_BIN), (233, "f32x4.max", _V_BIN),
    (234, "f32x4.pmin", _V_BIN), (235, "f32x4.pmax", _V_BIN),
    (236, "f64x2.abs", _V_UN), (237, "f64x2.neg", _V_UN), (239, "f64x2.sqrt", _V_UN),
    (240, "f64x2.add", _V_BIN), (241, "f64x2.sub", _V_BIN), (242, "f64x2.mul", _V_BIN),
    (243, "f64x2.div", _V_BIN), (244, "f64x2.min", _V_BIN), (245, "f64x2.max", _V_BIN),
    (246, "f64x2.pmin", _V_BIN), (247, "f64x2.pmax", _V_BIN),
    (248, "i32x4.trunc_sat_f32x4_s", _V_UN), (249, "i32x4.trunc_sat_f32x4_u", _V_UN),
    (250, "f32x4.convert_i32x4_s", _V_UN), (251, "f32x4.convert_i32x4_u", _V_UN),
    (252, "i32x4.trunc_sat_f64x2_s_zero", _V_UN), (253, "i32x4.trunc_sat_f64x2_u_zero", _V_UN),
    (254, "f64x2.convert_low_i32x4_s", _V_UN), (255, "f64x2.convert_low_i32x4_u", _V_UN),
]  # fmt: skip
for _c, _n, _s in _SIMD:
    _op(_n, 0xFD, _c, sig=_s, feature="simd")

_RELAXED = [
    (0x100, "i8x16.relaxed_swizzle", _V_BIN),
    (0x101, "i32x4.relaxed_trunc_f32x4_s", _V_UN), (0x102, "i32x4.relaxed_trunc_f32x4_u", _V_UN),
    (0x103, "i32x4.relaxed_trunc_f64x2_s_zero", _V_UN),
    (0x104, "i32x4.relaxed_trunc_f64x2_u_zero", _V_UN),
    (0x105, "f32x4.relaxed_madd", _V_TERN), (0x106, "f32x4.relaxed_nmadd", _V_TERN),
    (0x107, "f64x2.relaxed_madd", _V_TERN), (0x108, "f64x2.relaxed_nmadd", _V_TERN),
    (0x109, "i8x16.relaxed_laneselect", _V_TERN), (0x10A, "i16x8.relaxed_laneselect", _V_TERN),
    (0x10B, "i32x4.relaxed_laneselect", _V_TERN), (0x10C, "i64x2.relaxed_laneselect", _V_TERN),
    (0x10D, "f32x4.relaxed_min", _V_BIN), (0x10E, "f32x4.relaxed_max", _V_BIN),
    (0x10F, "f64x2.relaxed_min", _V_BIN), (0x110, "f64x2.relaxed_max", _V_BIN),
    (0x111, "i16x8.relaxed_q15mulr_s", _V_BIN),
    (0x112, "i16x8.relaxed_dot_i8x16_i7x16_s", _V_BIN),
    (0x113, "i32x4.relaxed_dot_i8x16_i7x16_add_s", _V_TERN),
]  # fmt: skip
for _c, _n, _s in _RELAXED:
    _op(_n, 0xFD, _c, sig=_s, feature="relaxed_simd")


def lookup(name: str) -> Op:
    """The Op for a text mnemonic; KeyError if unknown."""
    return BY_NAME[name]

# ---------------------------------------------------------------- legacy exceptions
# The legacy exception instructions (spec suite's legacy/): ``try`` opens a block
# closed by ``end`` or ``delegate``; ``catch``/``catch_all`` separate its handlers.
_special("try", 0x06, "block", feature="exceptions")
_special("catch", 0x07, "tag", feature="exceptions")
_special("rethrow", 0x09, "label", feature="exceptions")
_special("delegate", 0x18, "label", feature="exceptions")
_special("catch_all", 0x19, feature="exceptions")

# Frequently used ops, named for readable code elsewhere.
UNREACHABLE = BY_NAME["unreachable"]
NOP = BY_NAME["nop"]
BLOCK = BY_NAME["block"]
LOOP = BY_NAME["loop"]
IF = BY_NAME["if"]
ELSE = BY_NAME["else"]
END = BY_NAME["end"]
TRY_TABLE = BY_NAME["try_table"]
TRY = BY_NAME["try"]
CATCH = BY_NAME["catch"]
CATCH_ALL = BY_NAME["catch_all"]
DELEGATE = BY_NAME["delegate"]
BR = BY_NAME["br"]
CALL = BY_NAME["call"]
I32_CONST = BY_NAME["i32.const"]
I64_CONST = BY_NAME["i64.const"]
F32_CONST = BY_NAME["f32.const"]
F64_CONST = BY_NAME["f64.const"]
V128_CONST = BY_NAME["v128.const"]
REF_NULL = BY_NAME["ref.null"]
REF_FUNC = BY_NAME["ref.func"]
GLOBAL_GET = BY_NAME["global.get"]

BLOCK_STARTS = frozenset({BLOCK, LOOP, IF, TRY_TABLE, TRY})
"""Instructions that open a structured block (closed by ``end``, or ``delegate``)."""
LEGACY_EXCEPTIONS = frozenset({TRY, CATCH, CATCH_ALL, DELEGATE, BY_NAME["rethrow"]})
