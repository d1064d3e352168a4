"""Exact WebAssembly numeric semantics on nanoproc's value representation.

Values follow :mod:`.values`: i32/i64 are unsigned Python ints, f32 is a float holding
an f32 value (NaN payloads widened), f64 is a float. The functions here cover what
plain Python operators get wrong: trapping and signed integer division, IEEE special
cases Python raises on (division by zero, ``math.sqrt`` of negatives), f32 rounding
(``struct.pack('<f')`` raises OverflowError where Wasm gives infinity), the Wasm
definitions of min/max/nearest, and float-to-integer conversions.

Generated code in the interp tier calls these directly (they are bound into every
instance's globals), and other code (constant evaluation, tests) may share them.
NaN results are produced by hardware arithmetic on the inputs (``x + 0.0`` style),
which yields a quiet NaN that keeps the payload of a NaN input and is the canonical
NaN when the inputs are canonical, as the spec requires.
"""

from __future__ import annotations

import math
import struct

from .trap import Trap, TrapCode
from .values import (
    MASK32,
    MASK64,
    f32_from_bits,
    f32_to_bits,
    f64_from_bits,
    f64_to_bits,
)

INF = math.inf
NAN = math.nan
_copysign = math.copysign
_floor = math.floor
_ceil = math.ceil
_trunc = math.trunc
_sqrt = math.sqrt

_S_f = struct.Struct("<f")
_pack_f = _S_f.pack
_unpack_f = _S_f.unpack


# ---------------------------------------------------------------- traps
def trap_div_zero() -> Trap:
    return Trap.of(TrapCode.INTEGER_DIVISION_BY_ZERO)


def trap_overflow() -> Trap:
    return Trap.of(TrapCode.INTEGER_OVERFLOW)


def trap_invalid_conversion() -> Trap:
    return Trap.of(TrapCode.BAD_CONVERSION_TO_INTEGER)


# ---------------------------------------------------------------- integers
def i32_signed(v: int) -> int:
    return v - ((v & 0x8000_0000) << 1)


def i64_signed(v: int) -> int:
    return v - ((v & 0x8000_0000_0000_0000) << 1)


def i32_div_s(a: int, b: int) -> int:
    if not b:
        raise trap_div_zero()
    a = a - ((a & 0x8000_0000) << 1)
    b = b - ((b & 0x8000_0000) << 1)
    if b == -1 and a == -0x8000_0000:
        raise trap_overflow()
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & MASK32


def i64_div_s(a: int, b: int) -> int:
    if not b:
        raise trap_div_zero()
    a = a - ((a & 0x8000_0000_0000_0000) << 1)
    b = b - ((b & 0x8000_0000_0000_0000) << 1)
    if b == -1 and a == -0x8000_0000_0000_0000:
        raise trap_overflow()
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & MASK64


def i32_rem_s(a: int, b: int) -> int:
    if not b:
        raise trap_div_zero()
    a = a - ((a & 0x8000_0000) << 1)
    b = b - ((b & 0x8000_0000) << 1)
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & MASK32


def i64_rem_s(a: int, b: int) -> int:
    if not b:
        raise trap_div_zero()
    a = a - ((a & 0x8000_0000_0000_0000) << 1)
    b = b - ((b & 0x8000_0000_0000_0000) << 1)
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & MASK64


def i32_div_u(a: int, b: int) -> int:
    if not b:
        raise trap_div_zero()
    return a // b


def i32_rem_u(a: int, b: int) -> int:
    if not b:
        raise trap_div_zero()
    return a % b


i64_div_u = i32_div_u
i64_rem_u = i32_rem_u


def i32_rotl(a: int, k: int) -> int:
    k &= 31
    return ((a << k) | (a >> (32 - k))) & MASK32


def i32_rotr(a: int, k: int) -> int:
    k &= 31
    return ((a >> k) | (a << (32 - k))) & MASK32


def i64_rotl(a: int, k: int) -> int:
    k &= 63
    return ((a << k) | (a >> (64 - k))) & MASK64


def i64_rotr(a: int, k: int) -> int:
    k &= 63
    return ((a >> k) | (a << (64 - k))) & MASK64


def i32_ctz(a: int) -> int:
    return (a & -a).bit_length() - 1 if a else 32


def i64_ctz(a: int) -> int:
    return (a & -a).bit_length() - 1 if a else 64


# ---------------------------------------------------------------- f32 rounding
def f32_round(x: float) -> float:
    """The f32 nearest to ``x`` (ties to even; infinity beyond the f32 range).

    ``struct`` packs with a C cast (round to nearest even, NaNs stay NaNs), but raises
    OverflowError where the cast gives infinity: that case is Wasm's infinity.
    """
    try:
        return _unpack_f(_pack_f(x))[0]
    except OverflowError:
        return INF if x > 0.0 else -INF


def f32_from_int(v: int) -> float:
    """Correctly rounded conversion of an integer to f32 (no double rounding)."""
    m = -v if v < 0 else v
    n = m.bit_length()
    if n <= 24:
        return float(v)
    shift = n - 24
    q = m >> shift
    rest = m & ((1 << shift) - 1)
    half = 1 << (shift - 1)
    if rest > half or (rest == half and q & 1):
        q += 1
    r = float(q << shift)
    return -r if v < 0 else r


# ---------------------------------------------------------------- floats
def fdiv(a: float, b: float) -> float:
    """IEEE division, including division by (signed) zero."""
    if b:  # a NaN divisor is truthy too
        return a / b
    if a != a:
        return a + 0.0
    if not a:
        return NAN
    neg = (_copysign(1.0, a) < 0) != (_copysign(1.0, b) < 0)
    return -INF if neg else INF


def f32_div(a: float, b: float) -> float:
    return f32_round(fdiv(a, b))


def fmin(a: float, b: float) -> float:
    if a < b:
        return a
    if b < a:
        return b
    if a == b:
        # Equal, or +0 and -0: the one with the sign bit set is smaller.
        return a if _copysign(1.0, a) < 0 else b
    return a + b  # a NaN operand: propagate it, quieted


def fmax(a: float, b: float) -> float:
    if a > b:
        return a
    if b > a:
        return b
    if a == b:
        return b if _copysign(1.0, a) < 0 else a
    return a + b


def fsqrt(x: float) -> float:
    if x >= 0.0:
        return _sqrt(x)
    if x != x:
        return x + 0.0
    return NAN


def f32_sqrt(x: float) -> float:
    return f32_round(fsqrt(x))


def fceil(x: float) -> float:
    if x != x:
        return x + 0.0
    if x in (INF, -INF) or not x:
        return x
    r = float(_ceil(x))
    return r if r else _copysign(0.0, x)


def ffloor(x: float) -> float:
    if x != x:
        return x + 0.0
    if x in (INF, -INF) or not x:
        return x
    r = float(_floor(x))
    return r if r else _copysign(0.0, x)


def ftrunc(x: float) -> float:
    if x != x:
        return x + 0.0
    if x in (INF, -INF) or not x:
        return x
    r = float(_trunc(x))
    return r if r else _copysign(0.0, x)


def fnearest(x: float) -> float:
    if x != x:
        return x + 0.0
    if x in (INF, -INF) or not x or abs(x) >= 4503599627370496.0:
        return x
    r = float(round(x))  # round() on a float is exact, ties to even
    return r if r else _copysign(0.0, x)


def fcopysign(a: float, b: float) -> float:
    """copysign that keeps NaN payloads (math.copysign is a bit operation in C)."""
    return _copysign(a, b)


def f64_promote(x: float) -> float:
    """f32 -> f64: exact, except that a signalling NaN becomes quiet."""
    return x * 1.0


def f32_demote(x: float) -> float:
    return f32_round(x)


# ---------------------------------------------------------------- float -> int
def i32_trunc_s(x: float) -> int:
    if x != x:
        raise trap_invalid_conversion()
    if -2147483649.0 < x < 2147483648.0:
        return int(x) & MASK32
    raise trap_overflow()


def i32_trunc_u(x: float) -> int:
    if x != x:
        raise trap_invalid_conversion()
    if -1.0 < x < 4294967296.0:
        return int(x)
    raise trap_overflow()


def i64_trunc_s(x: float) -> int:
    if x != x:
        raise trap_invalid_conversion()
    if -9223372036854775808.0 <= x < 9223372036854775808.0:
        return int(x) & MASK64
    raise trap_overflow()


def i64_trunc_u(x: float) -> int:
    if x != x:
        raise trap_invalid_conversion()
    if -1.0 < x < 18446744073709551616.0:
        return int(x)
    raise trap_overflow()


def i32_trunc_sat_s(x: float) -> int:
    if x != x:
        return 0
    if x <= -2147483648.0:
        return 0x8000_0000
    if x >= 2147483647.0:
        return 0x7FFF_FFFF
    return int(x) & MASK32


def i32_trunc_sat_u(x: float) -> int:
    if x != x or x <= 0.0:
        return 0
    if x >= 4294967295.0:
        return MASK32
    return int(x)


def i64_trunc_sat_s(x: float) -> int:
    if x != x:
        return 0
    if x <= -9223372036854775808.0:
        return 0x8000_0000_0000_0000
    if x >= 9223372036854775807.0:
        return 0x7FFF_FFFF_FFFF_FFFF
    return int(x) & MASK64


def i64_trunc_sat_u(x: float) -> int:
    if x != x or x <= 0.0:
        return 0
    if x >= 18446744073709551615.0:
        return MASK64
    return int(x)


# ---------------------------------------------------------------- int -> float
def f32_convert_i32_s(v: int) -> float:
    return f32_round(float(v - ((v & 0x8000_0000) << 1)))


def f32_convert_i32_u(v: int) -> float:
    return f32_round(float(v))


def f32_convert_i64_s(v: int) -> float:
    return f32_from_int(v - ((v & 0x8000_0000_0000_0000) << 1))


def f32_convert_i64_u(v: int) -> float:
    return f32_from_int(v)


def f64_convert_i64_s(v: int) -> float:
    return float(v - ((v & 0x8000_0000_0000_0000) << 1))


# ---------------------------------------------------------------- reinterpret
i32_reinterpret_f32 = f32_to_bits
f32_reinterpret_i32 = f32_from_bits
i64_reinterpret_f64 = f64_to_bits
f64_reinterpret_i64 = f64_from_bits


def f32_load_bits(bits: int) -> float:
    """f32 value of a loaded bit pattern (keeps signalling NaNs, unlike '<f' unpack)."""
    return f32_from_bits(bits)
