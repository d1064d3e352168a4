"""Lane-wise semantics of the SIMD instructions the interp tier does not inline.

A v128 is one Python int in ``[0, 2**128)``, lane 0 in the low bits (the runtime's
representation, :mod:`..exec.values`). Bit operations, lane-wise add/sub/neg,
equality, shifts by a constant, splats and lane accesses are inlined by
:mod:`.ops_simd` as a few big-int operations on that int (SWAR). What needs the
lanes one by one comes here: the int goes to its 16 little-endian bytes
(``int.to_bytes``), ``struct`` or ``array`` split them into lanes, and the result goes
back the same way. Measured on CPython 3.11: a SWAR add is ~0.25 us, a round trip
through lanes ~1-2 us, a tuple-of-lanes representation would make every
reinterpretation between shapes pay that round trip.

Floats: f32 lanes are widened to doubles by ``array('f')`` (a C cast: exact, and a
signalling NaN comes out quiet, as x86 hardware does) and narrowed by the same cast
(correct rounding, overflow to infinity, NaN payload kept). Arithmetic on the
doubles is exactly rounded for add, sub, mul, div and sqrt. Operations that must
keep NaN bits (abs, neg, pmin/pmax, lane moves) work on the integer lanes.

The relaxed instructions give what wasmtime gives on x86-64 with FMA (docs/simd.md).
"""

from __future__ import annotations

import math
import struct
from array import array
from fractions import Fraction
from typing import Any

from ..exec import numerics as num
from ..syntax.ops import BY_NAME

M128 = (1 << 128) - 1
INF = math.inf
NAN = math.nan

_fr = int.from_bytes


def _st(fmt: str) -> struct.Struct:
    return struct.Struct("<" + fmt)


_s8, _u8 = _st("16b"), _st("16B")
_s16, _u16 = _st("8h"), _st("8H")
_s32, _u32 = _st("4i"), _st("4I")
_s64, _u64 = _st("2q"), _st("2Q")
_f64 = _st("2d")


# ---------------------------------------------------------------- lanes
def s8(v: int) -> tuple[int, ...]:
    return _s8.unpack(v.to_bytes(16, "little"))


def u8(v: int) -> bytes:
    return v.to_bytes(16, "little")


def s16(v: int) -> tuple[int, ...]:
    return _s16.unpack(v.to_bytes(16, "little"))


def u16(v: int) -> tuple[int, ...]:
    return _u16.unpack(v.to_bytes(16, "little"))


def s32(v: int) -> tuple[int, ...]:
    return _s32.unpack(v.to_bytes(16, "little"))


def u32(v: int) -> tuple[int, ...]:
    return _u32.unpack(v.to_bytes(16, "little"))


def s64(v: int) -> tuple[int, ...]:
    return _s64.unpack(v.to_bytes(16, "little"))


def u64(v: int) -> tuple[int, int]:
    return v & 0xFFFF_FFFF_FFFF_FFFF, v >> 64


def f32(v: int) -> list[float]:
    return array("f", v.to_bytes(16, "little")).tolist()


def f64(v: int) -> tuple[float, ...]:
    return _f64.unpack(v.to_bytes(16, "little"))


def of_u8(lanes: Any) -> int:
    """Lanes in 0..255 (or wrapped by the caller)."""
    return _fr(bytes(lanes), "little")


def of_s8(lanes: Any) -> int:
    return _fr(_s8.pack(*lanes), "little")


def of_u16(lanes: Any) -> int:
    return _fr(_u16.pack(*lanes), "little")


def of_s16(lanes: Any) -> int:
    return _fr(_s16.pack(*lanes), "little")


def of_u32(lanes: Any) -> int:
    return _fr(_u32.pack(*lanes), "little")


def of_s32(lanes: Any) -> int:
    return _fr(_s32.pack(*lanes), "little")


def of_u64(lanes: Any) -> int:
    lo, hi = lanes
    return lo | (hi << 64)


def of_f32(lanes: Any) -> int:
    return _fr(array("f", lanes).tobytes(), "little")


def of_f64(lanes: Any) -> int:
    return _fr(_f64.pack(*lanes), "little")


# ---------------------------------------------------------------- shapes
SHAPES = {
    # name: (lane bits, signed lanes, unsigned lanes, pack signed, pack unsigned)
    "i8x16": (8, s8, u8, of_s8, of_u8),
    "i16x8": (16, s16, u16, of_s16, of_u16),
    "i32x4": (32, s32, u32, of_s32, of_u32),
    "i64x2": (64, s64, u64, None, of_u64),
}


def _rep(w: int, lane: int) -> int:
    """``lane`` repeated in every ``w``-bit lane."""
    return lane * (M128 // ((1 << w) - 1))


def hi_bits(w: int) -> int:
    return _rep(w, 1 << (w - 1))


def lane_mask(w: int) -> int:
    return (1 << w) - 1


OPS: dict[str, Any] = {}
"""Instruction name -> the function implementing it on ints."""


def op(name: str) -> Any:
    def deco(fn: Any) -> Any:
        OPS[name] = fn
        return fn

    return deco


# ---------------------------------------------------------------- shifts
def _make_shifts(shape: str) -> None:
    w = SHAPES[shape][0]
    m = w - 1
    hib = hi_bits(w)
    shl_masks = tuple(_rep(w, (lane_mask(w) << k) & lane_mask(w)) for k in range(w))
    shr_masks = tuple(_rep(w, lane_mask(w) >> k) for k in range(w))
    fills = tuple(((lane_mask(w) >> (w - k)) << (w - k)) if k else 0 for k in range(w))

    def shl(a: int, k: int) -> int:
        k &= m
        return (a << k) & shl_masks[k]

    def shr_u(a: int, k: int) -> int:
        k &= m
        return (a >> k) & shr_masks[k]

    def shr_s(a: int, k: int) -> int:
        k &= m
        return ((a >> k) & shr_masks[k]) | (((a & hib) >> m) * fills[k])

    OPS[f"{shape}.shl"] = shl
    OPS[f"{shape}.shr_u"] = shr_u
    OPS[f"{shape}.shr_s"] = shr_s


for _shape in SHAPES:
    _make_shifts(_shape)


def shift_masks(w: int, k: int) -> tuple[int, int, int]:
    """(shl mask, shr mask, sign fill per lane) for a constant shift by ``k`` (0 < k < w)."""
    lm = lane_mask(w)
    return (_rep(w, (lm << k) & lm), _rep(w, lm >> k), (lm >> (w - k)) << (w - k))


# ---------------------------------------------------------------- generated helpers
# The lane-wise helpers are generated with their lanes unrolled: no per-lane
# function calls, no intermediate lists (a third of the cost of a map over lanes).
_FMT = {("i8x16", True): "b", ("i8x16", False): "B", ("i16x8", True): "h",
        ("i16x8", False): "H", ("i32x4", True): "i", ("i32x4", False): "I",
        ("i64x2", True): "q", ("i64x2", False): "Q", ("f32x4", True): "f",
        ("f64x2", True): "d"}
_NS: dict[str, Any] = {"_fr": _fr, "array": array, "num": num, "math": math}
for _f in "bBhHiIqQfd":
    for _count in (2, 4, 8, 16):
        _size = struct.calcsize("<" + _f)
        if _size * _count <= 16:
            _NS[f"_u{_count}{_f}"] = _st(f"{_count}{_f}").unpack
            _NS[f"_p{_count}{_f}"] = _st(f"{_count}{_f}").pack


BYTES: set[str] = set()
"""Instructions whose helper takes and returns v128s as 16 little-endian bytes rather
than ints: the translator converts at the edges, and passes the bytes straight from
one such helper to the next (no int in between)."""


def _gen(name: str, params: str, body: list[str]) -> Any:
    """Compile ``def h(params): body`` (lines) as the helper of instruction ``name``,
    which takes and returns bytes (see BYTES)."""
    src = f"def h({params}):\n" + "\n".join("    " + line for line in body) + "\n"
    ns = dict(_NS)
    exec(compile(src, f"<simd {name}>", "exec"), ns)
    OPS[name] = ns["h"]
    BYTES.add(name)
    return ns["h"]


def _split(var: str, shape: str, signed: bool, into: str) -> str:
    n = COUNT[shape]
    return f"{into} = _u{n}{_FMT[shape, signed]}({var})"


COUNT = {"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}


def _clamp(expr: str, lo: int, hi: int, t: str) -> str:
    """``expr`` clamped to [lo, hi], with ``t`` as a temporary (no calls)."""
    return f"({lo} if ({t} := {expr}) < {lo} else {hi} if {t} > {hi} else {t})"


def _int_binary(shape: str, name: str, signed: bool, lane: str, out_signed: bool) -> None:
    """A lane-wise binary operation: ``lane`` uses ``{x}`` and ``{y}`` (and ``{t}``, a
    temporary) and gives a value in the output lane format's range."""
    n = COUNT[shape]
    exprs = [lane.format(x=f"x[{i}]", y=f"y[{i}]", t=f"t{i}") for i in range(n)]
    _gen(f"{shape}.{name}", "a, b", [
        _split("a", shape, signed, "x"), _split("b", shape, signed, "y"),
        f"return _p{n}{_FMT[shape, out_signed]}({', '.join(exprs)})",
    ])


for _shape in ("i8x16", "i16x8", "i32x4", "i64x2"):
    _w = SHAPES[_shape][0]
    _lo, _hi, _um = -(1 << (_w - 1)), (1 << (_w - 1)) - 1, (1 << _w) - 1
    if _shape != "i64x2":
        _int_binary(_shape, "min_s", True, "({x} if {x} < {y} else {y})", True)
        _int_binary(_shape, "min_u", False, "({x} if {x} < {y} else {y})", False)
        _int_binary(_shape, "max_s", True, "({x} if {x} > {y} else {y})", True)
        _int_binary(_shape, "max_u", False, "({x} if {x} > {y} else {y})", False)
    if _shape in ("i16x8", "i32x4"):
        _int_binary(_shape, "mul", False, f"({{x}} * {{y}} & {_um})", False)
    if _shape in ("i8x16", "i16x8"):
        _int_binary(_shape, "avgr_u", False, "(({x} + {y} + 1) >> 1)", False)
        _int_binary(_shape, "add_sat_s", True, _clamp("{x} + {y}", _lo, _hi, "{t}"), True)
        _int_binary(_shape, "sub_sat_s", True, _clamp("{x} - {y}", _lo, _hi, "{t}"), True)
        _int_binary(_shape, "add_sat_u", False, f"({_um} if ({{t}} := {{x}} + {{y}}) > {_um} else {{t}})", False)
        _int_binary(_shape, "sub_sat_u", False, "(0 if ({t} := {x} - {y}) < 0 else {t})", False)
    for _n, _op in (("lt", "<"), ("gt", ">"), ("le", "<="), ("ge", ">=")):
        for _sg in ("s", "u"):
            if f"{_shape}.{_n}_{_sg}" in BY_NAME:
                _int_binary(_shape, f"{_n}_{_sg}", _sg == "s", f"-({{x}} {_op} {{y}})", True)


def _bitmask(shape: str) -> None:
    w = SHAPES[shape][0]
    n = 128 // w

    def h(a: int) -> int:
        r = 0
        s = w - 1
        for i in range(n):
            r |= ((a >> s) & 1) << i
            s += w
        return r

    OPS[f"{shape}.bitmask"] = h


for _shape in SHAPES:
    _bitmask(_shape)


@op("i8x16.bitmask")
def i8x16_bitmask(a: int) -> int:
    # Gather the 16 sign bits: each byte's bit 7, moved down by a multiply trick per
    # 64-bit half (the partial products land in distinct bits of the top byte).
    lo = ((a & 0x8080808080808080) >> 7) * 0x0102040810204080 >> 56 & 0xFF
    hi = ((a >> 64 & 0x8080808080808080) >> 7) * 0x0102040810204080 >> 56 & 0xFF
    return lo | (hi << 8)


_POPCNT = bytes(bin(i).count("1") for i in range(256))
_ABS8 = bytes((256 - i) & 0xFF if i & 0x80 else i for i in range(256))


@op("i8x16.popcnt")
def i8x16_popcnt(a: bytes) -> bytes:
    return a.translate(_POPCNT)


@op("i8x16.abs")
def i8x16_abs(a: bytes) -> bytes:
    return a.translate(_ABS8)


BYTES.update(("i8x16.popcnt", "i8x16.abs"))


# ---------------------------------------------------------------- narrow, extend, widen
def _narrow(shape: str, src: str, signed: bool) -> None:
    n = COUNT[src]
    w = SHAPES[shape][0]
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)
    lanes = [_clamp(f"{v}[{i}]", lo, hi, f"t{j}") for j, (v, i) in
             enumerate([("x", i) for i in range(n)] + [("y", i) for i in range(n)])]
    _gen(f"{shape}.narrow_{src}_{'s' if signed else 'u'}", "a, b", [
        _split("a", src, True, "x"), _split("b", src, True, "y"),
        f"return _p{2 * n}{_FMT[shape, signed]}({', '.join(lanes)})",
    ])


_WIDER = {"i16x8": "i8x16", "i32x4": "i16x8", "i64x2": "i32x4"}

for _shape, _src in (("i8x16", "i16x8"), ("i16x8", "i32x4")):
    _narrow(_shape, _src, True)
    _narrow(_shape, _src, False)


def _extends(shape: str) -> None:
    narrow = _WIDER[shape]
    n = COUNT[shape]
    for half, lo in (("low", 0), ("high", n)):
        for sg in ("s", "u"):
            signed = sg == "s"
            _gen(f"{shape}.extend_{half}_{narrow}_{sg}", "a", [
                _split("a", narrow, signed, "x"),
                f"return _p{n}{_FMT[shape, signed]}(*x[{lo}:{lo + n}])",
            ])
            prods = ", ".join(f"x[{lo + i}] * y[{lo + i}]" for i in range(n))
            _gen(f"{shape}.extmul_{half}_{narrow}_{sg}", "a, b", [
                _split("a", narrow, signed, "x"), _split("b", narrow, signed, "y"),
                f"return _p{n}{_FMT[shape, signed]}({prods})",
            ])
    if shape != "i64x2":
        for sg in ("s", "u"):
            signed = sg == "s"
            sums = ", ".join(f"x[{2 * i}] + x[{2 * i + 1}]" for i in range(n))
            _gen(f"{shape}.extadd_pairwise_{narrow}_{sg}", "a", [
                _split("a", narrow, signed, "x"),
                f"return _p{n}{_FMT[shape, signed]}({sums})",
            ])


for _shape in _WIDER:
    _extends(_shape)

_gen("i32x4.dot_i16x8_s", "a, b", [
    _split("a", "i16x8", True, "x"), _split("b", "i16x8", True, "y"),
    "return _p4I(" + ", ".join(f"(x[{2 * i}] * y[{2 * i}] + x[{2 * i + 1}] * y[{2 * i + 1}])"
                               " & 0xFFFFFFFF" for i in range(4)) + ")",
])
_gen("i16x8.q15mulr_sat_s", "a, b", [
    _split("a", "i16x8", True, "x"), _split("b", "i16x8", True, "y"),
    "return _p8h(" + ", ".join(f"(32767 if (t{i} := (x[{i}] * y[{i}] + 0x4000) >> 15) > 32767"
                               f" else t{i})" for i in range(8)) + ")",
])


@op("i64x2.mul")
def i64x2_mul(a: int, b: int) -> int:
    m = 0xFFFF_FFFF_FFFF_FFFF
    return ((a & m) * (b & m) & m) | ((((a >> 64) * (b >> 64)) & m) << 64)


# ---------------------------------------------------------------- swizzle and shuffle
@op("i8x16.swizzle")
def i8x16_swizzle(a: int, s: int) -> int:
    x = a.to_bytes(16, "little")
    return _fr(bytes([x[i] if i < 16 else 0 for i in s.to_bytes(16, "little")]), "little")


# ---------------------------------------------------------------- float lanes
def _fl(shape: str) -> tuple[Any, Any]:
    return (f32, of_f32) if shape == "f32x4" else (f64, of_f64)


def _float_binary(shape: str, name: str, lane: str, fallback: Any) -> None:
    """Lane-wise float arithmetic: ``lane`` uses ``{x}``, ``{y}``. f32 results are
    rounded by ``struct`` (correctly, NaN payloads kept); a result beyond the f32 range
    (OverflowError) or a division by zero takes the slower path (``fallback`` per lane
    and an ``array`` cast, which gives infinity)."""
    n = COUNT[shape]
    f = _FMT[shape, True]
    exprs = ", ".join(lane.format(x=f"x[{i}]", y=f"y[{i}]") for i in range(n))
    pack = "array('f', r).tobytes()" if f == "f" else f"_p{n}d(*r)"
    _NS[f"_fb_{shape}_{name}"] = fallback
    _gen(f"{shape}.{name}", "a, b", [
        _split("a", shape, True, "x"), _split("b", shape, True, "y"),
        "try:",
        f"    return _p{n}{f}({exprs})",
        "except (OverflowError, ZeroDivisionError):",
        f"    r = list(map(_fb_{shape}_{name}, x, y))",
        f"    return {pack}",
    ])


def _float_unary(shape: str, name: str, fn: Any) -> None:
    n = COUNT[shape]
    f = _FMT[shape, True]
    _NS[f"_fu_{shape}_{name}"] = fn
    lanes = ", ".join(f"_fu_{shape}_{name}(x[{i}])" for i in range(n))
    _gen(f"{shape}.{name}", "a", [
        _split("a", shape, True, "x"),
        f"return _p{n}{f}({lanes})",
    ])


def _fmin(x: float, y: float) -> float:
    if x < y:
        return x
    if y < x:
        return y
    if x == y:
        return x if math.copysign(1.0, x) < 0 else y
    return x + y  # a NaN operand: the first NaN, quieted (x86's rule)


def _fmax(x: float, y: float) -> float:
    if x > y:
        return x
    if y > x:
        return y
    if x == y:
        return y if math.copysign(1.0, x) < 0 else x
    return x + y


def _fsqrt(x: float) -> float:
    if x >= 0.0:
        return math.sqrt(x)
    if x != x:
        return x + 0.0
    return -NAN  # x86's default NaN (sign set), as sqrtps gives


_NS["_fmin"] = _fmin
_NS["_fmax"] = _fmax
for _shape in ("f32x4", "f64x2"):
    _float_binary(_shape, "add", "{x} + {y}", float.__add__)
    _float_binary(_shape, "sub", "{x} - {y}", float.__sub__)
    _float_binary(_shape, "mul", "{x} * {y}", float.__mul__)
    _float_binary(_shape, "div", "{x} / {y}", num.fdiv)
    _float_binary(_shape, "min", "({x} if {x} < {y} else _fmin({x}, {y}))", _fmin)
    _float_binary(_shape, "max", "({x} if {x} > {y} else _fmax({x}, {y}))", _fmax)
    _float_unary(_shape, "sqrt", _fsqrt)
    _float_unary(_shape, "ceil", num.fceil)
    _float_unary(_shape, "floor", num.ffloor)
    _float_unary(_shape, "trunc", num.ftrunc)
    _float_unary(_shape, "nearest", num.fnearest)


def _float_compare(shape: str, name: str, op: str) -> None:
    n = COUNT[shape]
    lanes = ", ".join(f"-(x[{i}] {op} y[{i}])" for i in range(n))
    _gen(f"{shape}.{name}", "a, b", [
        _split("a", shape, True, "x"), _split("b", shape, True, "y"),
        f"return _p{n}{'i' if n == 4 else 'q'}({lanes})",
    ])


for _shape in ("f32x4", "f64x2"):
    for _n, _o in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("gt", ">"), ("le", "<="),
                   ("ge", ">=")):  # fmt: skip
        _float_compare(_shape, _n, _o)


def _pminmax(shape: str) -> None:
    """pmin: ``b < a ? b : a``; pmax: ``a < b ? b : a``; lanes move bit for bit."""
    split, _ = _fl(shape)
    w = 32 if shape == "f32x4" else 64
    lm = lane_mask(w)
    n = 128 // w

    def pmin(a: int, b: int) -> int:
        r = 0
        for i, (x, y) in enumerate(zip(split(a), split(b))):
            src = b if y < x else a
            r |= src & (lm << (i * w))
        return r

    def pmax(a: int, b: int) -> int:
        r = 0
        for i, (x, y) in enumerate(zip(split(a), split(b))):
            src = b if x < y else a
            r |= src & (lm << (i * w))
        return r

    del n
    OPS[f"{shape}.pmin"] = pmin
    OPS[f"{shape}.pmax"] = pmax


_pminmax("f32x4")
_pminmax("f64x2")


# ---------------------------------------------------------------- conversions
@op("f32x4.convert_i32x4_s")
def f32x4_convert_s(a: int) -> int:
    return of_f32([float(x) for x in s32(a)])


@op("f32x4.convert_i32x4_u")
def f32x4_convert_u(a: int) -> int:
    return of_f32([float(x) for x in u32(a)])


@op("f64x2.convert_low_i32x4_s")
def f64x2_convert_s(a: int) -> int:
    x = s32(a)
    return of_f64((float(x[0]), float(x[1])))


@op("f64x2.convert_low_i32x4_u")
def f64x2_convert_u(a: int) -> int:
    x = u32(a)
    return of_f64((float(x[0]), float(x[1])))


@op("i32x4.trunc_sat_f32x4_s")
def i32x4_trunc_sat_s(a: int) -> int:
    return of_u32([num.i32_trunc_sat_s(x) for x in f32(a)])


@op("i32x4.trunc_sat_f32x4_u")
def i32x4_trunc_sat_u(a: int) -> int:
    return of_u32([num.i32_trunc_sat_u(x) for x in f32(a)])


@op("i32x4.trunc_sat_f64x2_s_zero")
def i32x4_trunc_sat_f64_s(a: int) -> int:
    x = f64(a)
    return num.i32_trunc_sat_s(x[0]) | (num.i32_trunc_sat_s(x[1]) << 32)


@op("i32x4.trunc_sat_f64x2_u_zero")
def i32x4_trunc_sat_f64_u(a: int) -> int:
    x = f64(a)
    return num.i32_trunc_sat_u(x[0]) | (num.i32_trunc_sat_u(x[1]) << 32)


@op("f32x4.demote_f64x2_zero")
def f32x4_demote(a: int) -> int:
    return _fr(array("f", f64(a)).tobytes(), "little")


@op("f64x2.promote_low_f32x4")
def f64x2_promote(a: int) -> int:
    x = array("f", (a & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little"))
    return of_f64((x[0], x[1]))


# ---------------------------------------------------------------- relaxed SIMD
# What wasmtime gives on x86-64 (SSE4.1 and FMA): see docs/simd.md.
@op("i8x16.relaxed_swizzle")
def relaxed_swizzle(a: int, s: int) -> int:
    """pshufb: an index with bit 7 set gives 0, any other selects lane ``index & 15``."""
    x = a.to_bytes(16, "little")
    return _fr(bytes([0 if i & 0x80 else x[i & 15] for i in s.to_bytes(16, "little")]),
               "little")


def _cvtt32(x: float) -> int:
    """cvttps2dq / cvttpd2dq: truncation, 0x80000000 for NaN and out of range."""
    if x != x or not -2147483649.0 < x < 2147483648.0:
        return 0x8000_0000
    return int(x) & 0xFFFF_FFFF


@op("i32x4.relaxed_trunc_f32x4_s")
def relaxed_trunc_s(a: int) -> int:
    return of_u32([_cvtt32(x) for x in f32(a)])


@op("i32x4.relaxed_trunc_f64x2_s_zero")
def relaxed_trunc_f64_s(a: int) -> int:
    x = f64(a)
    return _cvtt32(x[0]) | (_cvtt32(x[1]) << 32)


OPS["i32x4.relaxed_trunc_f32x4_u"] = OPS["i32x4.trunc_sat_f32x4_u"]
OPS["i32x4.relaxed_trunc_f64x2_u_zero"] = OPS["i32x4.trunc_sat_f64x2_u_zero"]


# -- fused multiply-add, exactly rounded (Python 3.11 has no math.fma)
def _round_f32(q: Fraction) -> float:
    """The f32 nearest to ``q`` (ties to even), as a double; +-inf on overflow."""
    if q == 0:
        return 0.0
    neg = q < 0
    n, d = abs(q.numerator), q.denominator
    # scale so that the integer part has 24 bits: n / d * 2**-e in [2**23, 2**24)
    e = n.bit_length() - d.bit_length() - 24
    while True:
        num_, den = (n, d << e) if e >= 0 else (n << -e, d)
        if num_ >= den << 24:
            e += 1
        elif num_ < den << 23:
            e -= 1
        else:
            break
    if e < -149:  # subnormal range: the quantum is 2**-149
        e = -149
        num_, den = n << 149, d
    m, r = divmod(num_, den)
    if 2 * r > den or (2 * r == den and m & 1):
        m += 1
    x = math.ldexp(float(m), e)
    if x > 3.4028234663852886e38:  # beyond FLT_MAX after rounding
        x = INF
    return -x if neg else x


def _fma_exact(a: float, b: float, c: float, f32: bool) -> float:
    if not (math.isfinite(a) and math.isfinite(b)):
        return a * b + c  # an infinite or NaN product: as the separate operations
    if not math.isfinite(c):
        return c + 0.0  # a finite product (never rounded to infinity) plus inf or NaN
    q = Fraction(a) * Fraction(b) + Fraction(c)
    if q == 0:
        # An exact zero: -0 only when both addends are -0 (round to nearest).
        p = a * b
        if p == 0 and c == 0:
            return p + c
        return 0.0
    if f32:
        return _round_f32(q)
    try:
        return float(q)  # correctly rounded (int / int true division)
    except OverflowError:
        return INF if q > 0 else -INF


def _madd(shape: str, negate: bool) -> Any:
    split, pack = _fl(shape)
    is32 = shape == "f32x4"

    def h(a: int, b: int, c: int) -> int:
        out = []
        for x, y, z in zip(split(a), split(b), split(c)):
            out.append(_fma_exact(-x if negate else x, y, z, is32))
        return pack(out)

    return h


OPS["f32x4.relaxed_madd"] = _madd("f32x4", False)
OPS["f32x4.relaxed_nmadd"] = _madd("f32x4", True)
OPS["f64x2.relaxed_madd"] = _madd("f64x2", False)
OPS["f64x2.relaxed_nmadd"] = _madd("f64x2", True)


def _laneselect(w: int) -> Any:
    """blendv: each lane from ``a`` where the mask lane's top bit is set, else ``b``."""
    hib = hi_bits(w)

    def h(a: int, b: int, m: int) -> int:
        sel = ((m & hib) >> (w - 1)) * lane_mask(w)
        return b ^ ((a ^ b) & sel)

    return h


OPS["i8x16.relaxed_laneselect"] = _laneselect(8)
OPS["i32x4.relaxed_laneselect"] = _laneselect(32)
OPS["i64x2.relaxed_laneselect"] = _laneselect(64)


@op("i16x8.relaxed_laneselect")
def relaxed_laneselect16(a: int, b: int, m: int) -> int:
    """x86 has no 16-bit blend: wasmtime uses bitselect (every bit follows its mask bit)."""
    return b ^ ((a ^ b) & m)


def _relaxed_minmax(shape: str, is_min: bool) -> Any:
    """minps/maxps with ``b`` as the destination: ``b < a ? b : a`` (min) and
    ``b > a ? b : a`` (max), bit for bit (pmin/pmax): ``a`` whenever either is NaN or
    both are zeros."""
    split, _ = _fl(shape)
    w = 32 if shape == "f32x4" else 64
    lm = lane_mask(w)

    def h(a: int, b: int) -> int:
        r = 0
        for i, (x, y) in enumerate(zip(split(a), split(b))):
            take_b = y < x if is_min else y > x
            r |= (b if take_b else a) & (lm << (i * w))
        return r

    return h


OPS["f32x4.relaxed_min"] = _relaxed_minmax("f32x4", True)
OPS["f32x4.relaxed_max"] = _relaxed_minmax("f32x4", False)
OPS["f64x2.relaxed_min"] = _relaxed_minmax("f64x2", True)
OPS["f64x2.relaxed_max"] = _relaxed_minmax("f64x2", False)


@op("i16x8.relaxed_q15mulr_s")
def relaxed_q15mulr(a: int, b: int) -> int:
    """pmulhrsw: no saturation, -32768 * -32768 wraps to -32768."""
    return of_u16([((x * y + 0x4000) >> 15) & 0xFFFF for x, y in zip(s16(a), s16(b))])


def _pmaddubsw(a: int, b: int) -> list[int]:
    """pmaddubsw(b, a): unsigned bytes of ``b`` times signed bytes of ``a``, adjacent
    pairs added with signed saturation to 16 bits."""
    x = s8(a)
    y = u8(b)
    out = []
    for i in range(0, 16, 2):
        v = y[i] * x[i] + y[i + 1] * x[i + 1]
        out.append(-32768 if v < -32768 else 32767 if v > 32767 else v)
    return out


@op("i16x8.relaxed_dot_i8x16_i7x16_s")
def relaxed_dot(a: int, b: int) -> int:
    return of_s16(_pmaddubsw(a, b))


@op("i32x4.relaxed_dot_i8x16_i7x16_add_s")
def relaxed_dot_add(a: int, b: int, c: int) -> int:
    p = _pmaddubsw(a, b)
    z = u32(c)
    return of_u32([(p[2 * i] + p[2 * i + 1] + z[i]) & 0xFFFF_FFFF for i in range(4)])


# ---------------------------------------------------------------- memory
_load8x8s, _load8x8u = _st("8b").unpack_from, _st("8B").unpack_from
_load16x4s, _load16x4u = _st("4h").unpack_from, _st("4H").unpack_from
_load32x2s, _load32x2u = _st("2i").unpack_from, _st("2I").unpack_from
_pack8h, _pack8H = _st("8h").pack, _st("8H").pack
_pack4i, _pack4I = _st("4i").pack, _st("4I").pack
_pack2q, _pack2Q = _st("2q").pack, _st("2Q").pack


def load8x8_s(m: memoryview, ea: int) -> bytes:
    return _pack8h(*_load8x8s(m, ea))


def load8x8_u(m: memoryview, ea: int) -> bytes:
    return _pack8H(*_load8x8u(m, ea))


def load16x4_s(m: memoryview, ea: int) -> bytes:
    return _pack4i(*_load16x4s(m, ea))


def load16x4_u(m: memoryview, ea: int) -> bytes:
    return _pack4I(*_load16x4u(m, ea))


def load32x2_s(m: memoryview, ea: int) -> bytes:
    return _pack2q(*_load32x2s(m, ea))


def load32x2_u(m: memoryview, ea: int) -> bytes:
    return _pack2Q(*_load32x2u(m, ea))


# (these return the 16 bytes of the vector, as the BYTES helpers do)
LOAD_EXTEND = {
    "v128.load8x8_s": load8x8_s, "v128.load8x8_u": load8x8_u,
    "v128.load16x4_s": load16x4_s, "v128.load16x4_u": load16x4_u,
    "v128.load32x2_s": load32x2_s, "v128.load32x2_u": load32x2_u,
}  # fmt: skip

STORE128 = _st("2Q").pack_into


def helper_name(name: str) -> str:
    """The global name generated code calls the function for ``name`` by."""
    return "V_" + name.replace(".", "_")


for _name in [n for n in OPS if n not in BY_NAME]:  # shapes without that operation
    del OPS[_name]

HELPERS: dict[str, Any] = {helper_name(n): f for n, f in OPS.items()}
HELPERS.update({helper_name(n): f for n, f in LOAD_EXTEND.items()})
HELPERS["SQQ"] = STORE128
HELPERS["LB16"] = _st("16s").unpack_from
HELPERS["SB16"] = _st("16s").pack_into
