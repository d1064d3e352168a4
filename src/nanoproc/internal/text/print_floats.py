"""Exact text for f32/f64 constants, given as IEEE bit patterns.

Finite values print as the shortest decimal that reads back (with the correct
rounding the text format requires) to the very same bits; NaNs keep sign and
payload (``nan``, ``-nan:0x1``), zeros keep their sign. f32 needs care: Python
floats are doubles, so a decimal is checked against f32 rounding, not f64.
"""

from __future__ import annotations

import struct
from fractions import Fraction

_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_U64 = struct.Struct("<Q")

F32_CANONICAL_NAN = 0x400000
F64_CANONICAL_NAN = 0x8000000000000


def f32_value(bits: int) -> float:
    """The f32 with these bits, as a (exactly equal) double."""
    return float(_F32.unpack(_U32.pack(bits & 0xFFFFFFFF))[0])


def f32_bits(value: float) -> int:
    """Bits of the f32 nearest to the double ``value`` (OverflowError beyond f32 range)."""
    return int(_U32.unpack(_F32.pack(value))[0])


def _nan_or_inf(sign: str, frac: int, canonical: int) -> str:
    if frac == 0:
        return sign + "inf"
    if frac == canonical:
        return sign + "nan"
    return f"{sign}nan:0x{frac:x}"


def format_f64(bits: int) -> str:
    """Text for the f64 with IEEE bits ``bits``."""
    bits &= 0xFFFFFFFFFFFFFFFF
    sign = "-" if bits >> 63 else ""
    if (bits >> 52) & 0x7FF == 0x7FF:
        return _nan_or_inf(sign, bits & 0xFFFFFFFFFFFFF, F64_CANONICAL_NAN)
    value = abs(_F64.unpack(_U64.pack(bits))[0])
    if value == 0.0:
        return sign + "0"
    # repr is the shortest decimal that rounds back to this double; its forms
    # ('0.1', '1e+16', '5e-324') are all valid text-format floats.
    text = repr(value)
    return sign + (text[:-2] if text.endswith(".0") else text)


def format_f32(bits: int) -> str:
    """Text for the f32 with IEEE bits ``bits``."""
    bits &= 0xFFFFFFFF
    sign = "-" if bits >> 31 else ""
    if (bits >> 23) & 0xFF == 0xFF:
        return _nan_or_inf(sign, bits & 0x7FFFFF, F32_CANONICAL_NAN)
    magnitude = bits & 0x7FFFFFFF
    if magnitude == 0:
        return sign + "0"
    value = f32_value(magnitude)
    # 9 significant digits always identify an f32; usually far fewer suffice.
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if _reads_back_f32(text, magnitude):
            return sign + text
    raise AssertionError(f"no decimal form found for f32 bits 0x{bits:08x}")


def _reads_back_f32(text: str, bits: int) -> bool:
    """Does the decimal ``text``, rounded to nearest f32 (ties to even), give ``bits``?

    Going through a double is exact unless the double lands precisely on the
    midpoint between two f32 values (double rounding); only then use fractions.
    """
    d = float(text)
    try:
        got = f32_bits(d)
    except OverflowError:
        return round_to_f32(Fraction(text)) == bits
    here = f32_value(got)
    if d != here:
        for neighbour in (got - 1, got + 1):
            if 0 <= neighbour <= 0x7F800000 and d == (here + f32_value(neighbour)) / 2:
                return round_to_f32(Fraction(text)) == bits
    return got == bits


def round_to_f32(q: Fraction) -> int:
    """Bits of the f32 nearest to the non-negative rational ``q`` (ties to even)."""
    if q == 0:
        return 0
    # Scale so that the significand is an integer with 24 bits (fewer if subnormal).
    exp = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** exp > q:
        exp -= 1
    exp = max(exp, -126)
    scaled = q / Fraction(2) ** (exp - 23)
    mant = scaled.numerator // scaled.denominator
    rest = scaled - mant
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and mant & 1):
        mant += 1
    if mant >= 1 << 24:
        mant >>= 1
        exp += 1
    if mant < 1 << 23:  # subnormal
        return mant
    biased = exp + 127
    if biased >= 0xFF:
        return 0x7F800000
    return (biased << 23) | (mant & 0x7FFFFF)
