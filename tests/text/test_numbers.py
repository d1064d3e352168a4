"""Numeric literals: integer ranges, and float rounding checked against exact rationals."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nanoproc.internal.text.numbers import OutOfRange, parse_float, parse_int, parse_uint


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def exact_f32(value: Fraction) -> int | None:
    """Reference: nearest-even f32 by brute force over the two bracketing floats.

    Independent of the implementation: it walks the f32 grid as exact rationals.
    Returns None on overflow.
    """
    sign = 0x80000000 if value < 0 else 0
    v = abs(value)
    if v == 0:
        return sign
    # Candidate bit patterns from a float estimate, then pick by exact comparison.
    approx = float(v)
    if approx > 3.5e38:
        return None
    b = f32_bits(min(approx, 3.4028234663852886e38)) if approx != 0 else 0
    best = None
    for cand in range(max(0, b - 2), min(0x7F800000, b + 3)):
        cv = f32_value(cand)
        d = abs(cv - v)
        if best is None or d < best[0] or (d == best[0] and cand % 2 == 0):
            best = (d, cand)
    assert best is not None
    top = f32_value(0x7F7FFFFF)
    if v >= top + (Fraction(2) ** 128 - top) / 2:
        return None  # rounds to infinity
    return sign | best[1]


def f32_value(bits: int) -> Fraction:
    exp = (bits >> 23) & 0xFF
    mant = bits & 0x7FFFFF
    if exp == 0:
        return Fraction(mant, 1 << 149)
    return Fraction((mant | 0x800000) << max(0, exp - 150), 1 << max(0, 150 - exp))


def test_integers() -> None:
    assert parse_int("0xffffffff", 32) == -1
    assert parse_int("-0x80000000", 32) == -(2**31)
    assert parse_int("4_294_967_295", 32) == -1
    assert parse_int("+0x7fffffff", 32) == 2**31 - 1
    assert parse_int("18446744073709551615", 64) == -1
    assert parse_uint("0x1_0", 32) == 16
    for bad in ("0x100000000", "-0x80000001", "+0x80000000", "4294967296"):
        with pytest.raises(OutOfRange):
            parse_int(bad, 32)
    for malformed in ("0x", "1x", "_1", "1_", "1__0", "0xg", "+-1", "", "1.0"):
        assert parse_int(malformed, 32) is None


@pytest.mark.parametrize(
    ("text", "bits"),
    [
        ("0", 0),
        ("-0", 0x80000000),
        ("1.5", 0x3FC00000),
        ("0x1p-149", 1),
        ("0x1p-150", 0),  # tie to even: zero
        ("0x1.8p-149", 2),  # tie to even: up
        ("0x1.fffffep127", 0x7F7FFFFF),
        ("3.4028235e38", 0x7F7FFFFF),
        ("1e-45", 1),
        ("0.1", 0x3DCCCCCD),
        ("inf", 0x7F800000),
        ("-inf", 0xFF800000),
        ("nan", 0x7FC00000),
        ("-nan:0x1", 0xFF800001),
        ("nan:0x7f_ffff", 0x7FFFFFFF),
        ("0x1.000001p0", 0x3F800000),  # below-half tie to even
        ("0x1.000003p0", 0x3F800002),
        # Decimal right at / around an f32 midpoint: a double rounding through f64
        # would get the "...501" and "...499" cases wrong.
        ("1.000000059604644775390625", 0x3F800000),
        ("1.00000005960464477539062501", 0x3F800001),
        ("1.00000005960464477539062499", 0x3F800000),
        ("16777217", 0x4B800000),
        ("1_6_777_219", 0x4B800002),
    ],
)
def test_f32_literals(text: str, bits: int) -> None:
    assert parse_float(text, 32) == bits


@pytest.mark.parametrize(
    "text",
    ["3.4028236e38", "0x1p128", "0x1.ffffffp127", "1e39", "nan:0x0", "nan:0x800000", "1e400000000"],
)
def test_f32_out_of_range(text: str) -> None:
    with pytest.raises(OutOfRange):
        parse_float(text, 32)


def test_f64_literals() -> None:
    assert parse_float("0x1p-1074", 64) == 1
    assert parse_float("0x1p-1075", 64) == 0
    assert parse_float("1.7976931348623157e308", 64) == 0x7FEFFFFFFFFFFFFF
    assert parse_float("nan:0xf_ffff_ffff_ffff", 64) == 0x7FFFFFFFFFFFFFFF
    assert parse_float("1e-400000000", 64) == 0
    for text in ("1.7976931348623159e308", "0x1p1024", "nan:0x10_0000_0000_0000"):
        with pytest.raises(OutOfRange):
            parse_float(text, 64)
    for malformed in (".5", "1e", "0x.8", "0x1p", "nan:canonical", "infinity", "1._5", "-_1"):
        assert parse_float(malformed, 64) is None


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_f64_matches_python_repr_and_hex(x: float) -> None:
    assert parse_float(repr(x), 64) == f64_bits(x)
    assert parse_float(x.hex(), 64) == f64_bits(x)


@settings(max_examples=400, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**30),
    st.integers(min_value=-80, max_value=40),
)
def test_decimal_f32_is_correctly_rounded(digits: int, exp: int) -> None:
    text = f"{digits}e{exp}"
    expected = exact_f32(Fraction(digits) * Fraction(10) ** exp)
    if expected is None:
        with pytest.raises(OutOfRange):
            parse_float(text, 32)
    else:
        assert parse_float(text, 32) == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=2**60), st.integers(min_value=-200, max_value=100))
def test_hex_f32_is_correctly_rounded(mant: int, exp: int) -> None:
    text = f"0x{mant:x}p{exp}"
    expected = exact_f32(Fraction(mant) * Fraction(2) ** exp)
    if expected is None:
        with pytest.raises(OutOfRange):
            parse_float(text, 32)
    else:
        assert parse_float(text, 32) == expected


def test_midpoints_between_all_f32_neighbours_round_to_even() -> None:
    # Exact midpoints, written in decimal, across normal and subnormal ranges.
    for bits in (1, 2, 0x7FFFFE, 0x800000, 0x3F800000, 0x3F800001, 0x7F7FFFFE):
        mid = (f32_value(bits) + f32_value(bits + 1)) / 2
        # A terminating decimal expansion exists: the denominator is a power of 2.
        k = int(math.log2(mid.denominator)) if mid.denominator > 1 else 0
        text = f"{mid.numerator * 5**k}e-{k}"
        even = bits if bits % 2 == 0 else bits + 1
        assert parse_float(text, 32) == even


def test_absurd_literals_stay_in_range_checks() -> None:
    # Python refuses to convert very long decimal strings; we must not leak that.
    with pytest.raises(OutOfRange):
        parse_int("9" * 5000, 64)
    assert parse_int("0" * 5000 + "7", 32) == 7
    assert parse_float("1e-" + "9" * 2000, 32) == 0
    assert parse_float("0x1p-" + "9" * 2000, 64) == 0
    with pytest.raises(OutOfRange):
        parse_float("0x1p" + "9" * 2000, 32)
    # many digits: the sticky digit keeps rounding exact
    assert parse_float("1." + "0" * 3000 + "1", 32) == 0x3F800000
    assert parse_float("1.000000059604644775390625" + "0" * 3000 + "1", 32) == 0x3F800001
