"""Numeric literals of the text format (spec 6.3.2, "Integers" and "Floating-Point").

Every function returns ``None`` when the text is not a literal of the requested
form (the caller then reports "unexpected token"), and raises :class:`OutOfRange`
when it is one but its value does not fit ("constant out of range").

Floats are rounded correctly from the exact rational value of the literal, with
integer arithmetic only, so a decimal f32 literal is never rounded twice through
f64. Results follow the ops.py conventions: integers signed, floats as bit patterns.
"""

from __future__ import annotations

import re
import struct
from functools import lru_cache

_INF = float("inf")
_unpack_q = struct.Struct("<Q").unpack
_pack_f32 = struct.Struct("<f").pack
_unpack_i = struct.Struct("<I").unpack


def _pack_d(x: float) -> int:  # type: ignore[no-redef]
    return _unpack_q(struct.pack("<d", x))[0]


def _pack_f(x: float) -> int:
    return _unpack_i(_pack_f32(x))[0]

_DEC = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_UNSIGNED = re.compile(rf"(?:0x({_HEX})|({_DEC}))\Z")
_SIGNED = re.compile(rf"([+-]?)(?:0x({_HEX})|({_DEC}))\Z")
_DEC_FLOAT = re.compile(rf"([+-]?)({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?\Z")
_HEX_FLOAT = re.compile(rf"([+-]?)0x({_HEX})(?:\.({_HEX})?)?(?:[pP]([+-]?{_DEC}))?\Z")
_SPECIAL = re.compile(rf"([+-]?)(inf|nan(?::0x({_HEX}))?)\Z")


class OutOfRange(ValueError):
    """A well-formed literal whose value does not fit its type."""


class FloatFormat:
    """An IEEE 754 binary format: ``mant`` stored fraction bits, ``exp`` exponent bits."""

    __slots__ = ("mant", "exp", "bias", "inf_bits", "sign_bit")

    def __init__(self, mant: int, exp: int) -> None:
        self.mant = mant
        self.exp = exp
        self.bias = (1 << (exp - 1)) - 1
        self.inf_bits = ((1 << exp) - 1) << mant
        self.sign_bit = 1 << (mant + exp)


F32 = FloatFormat(23, 8)
F64 = FloatFormat(52, 11)
FORMATS = {32: F32, 64: F64}


_MAX_DIGITS = 1000
"""Decimal digit strings longer than this (Python refuses to convert very long ones)
are out of range as integers or exponents; float mantissas keep a sticky digit."""


def _digits(text: str, base: int) -> int:
    text = text.replace("_", "")
    if base == 10:
        text = text.lstrip("0") or "0"
        if len(text) > _MAX_DIGITS:
            raise OutOfRange("too many digits")
    return int(text, base)


def _exponent(text: str | None) -> int:
    """A float exponent; absurdly long ones are clamped (the value is 0 or too big anyway)."""
    if not text:
        return 0
    digits = text.lstrip("+-").replace("_", "").lstrip("0") or "0"
    v = int(digits) if len(digits) <= 30 else 10**30
    return -v if text.startswith("-") else v


def parse_uint(text: str, bits: int) -> int | None:
    """An unsigned literal (``uN``): decimal or hex, no sign."""
    m = _UNSIGNED.match(text)
    if m is None:
        return None
    h, d = m.groups()
    v = _digits(h, 16) if h is not None else _digits(d, 10)
    if v >= 1 << bits:
        raise OutOfRange(text)
    return v


@lru_cache(maxsize=8192)
def parse_int(text: str, bits: int) -> int | None:
    """An ``iN`` literal: unsigned up to 2^N-1 or signed from -2^(N-1), as a signed int.

    With an explicit sign the value must fit ``sN`` (so ``+0xffffffff`` is out of
    range for i32 while ``0xffffffff`` is -1).
    """
    m = _SIGNED.match(text)
    if m is None:
        return None
    sign, h, d = m.groups()
    v = _digits(h, 16) if h is not None else _digits(d, 10)
    half = 1 << (bits - 1)
    if sign == "-":
        if v > half:
            raise OutOfRange(text)
        return -v
    if sign == "+":
        if v >= half:
            raise OutOfRange(text)
        return v
    if v >= 1 << bits:
        raise OutOfRange(text)
    return v - (1 << bits) if v >= half else v


def round_fraction(num: int, den: int, fmt: FloatFormat) -> int:
    """Bits of the positive rational ``num/den`` rounded to nearest-even in ``fmt``.

    Raises OutOfRange when it rounds to infinity.
    """
    if num == 0:
        return 0
    mant = fmt.mant
    # e = floor(log2(num/den))
    e = num.bit_length() - den.bit_length()
    if (num << max(0, -e)) < (den << max(0, e)):
        e -= 1
    emin = 1 - fmt.bias
    exp = max(e, emin)
    shift = mant - exp
    if shift >= 0:
        q, r = divmod(num << shift, den)
        den2 = den
    else:
        den2 = den << -shift
        q, r = divmod(num, den2)
    if 2 * r > den2 or (2 * r == den2 and q & 1):
        q += 1
    if q >> (mant + 1):
        q >>= 1
        exp += 1
    if q < (1 << mant):
        return q  # subnormal (or rounded into the smallest normal via q == 1 << mant)
    biased = exp + fmt.bias
    if biased >= (1 << fmt.exp) - 1:
        raise OutOfRange("float overflow")
    return (biased << mant) | (q - (1 << mant))


@lru_cache(maxsize=8192)
def parse_float(text: str, bits: int) -> int | None:
    """An ``fN`` literal (decimal, hex, ``inf``, ``nan``, ``nan:0x...``) as its bit pattern."""
    fmt = FORMATS[bits]
    if "0x" in text and not text.startswith(("nan", "+nan", "-nan")):
        m = _HEX_FLOAT.match(text)
        if m is None:
            return None
        sign, whole, frac, exp = m.groups()
        f = (frac or "").replace("_", "")
        e2 = _exponent(exp) - 4 * len(f)
        mag = _binary_bits(int(whole.replace("_", "") + f, 16), e2, fmt)
    else:
        m = _DEC_FLOAT.match(text)
        if m is not None:
            sign = m.group(1)
            mag = _decimal_bits(text[len(sign) :].replace("_", ""), fmt)
        else:
            m = _SPECIAL.match(text)
            if m is None:
                return None
            sign, word, payload = m.groups()
            if word == "inf":
                mag = fmt.inf_bits
            elif payload is None:
                mag = fmt.inf_bits | (1 << (fmt.mant - 1))
            else:
                p = _digits(payload, 16)
                if not 1 <= p < (1 << fmt.mant):
                    raise OutOfRange(text)
                mag = fmt.inf_bits | p
    return mag | fmt.sign_bit if sign == "-" else mag


_F32_MIDPOINT_BITS = (1 << 29) - 1  # the 29 f64 fraction bits below f32 precision


def _decimal_bits(text: str, fmt: FloatFormat) -> int:
    """Bits of an unsigned decimal literal (underscores removed), correctly rounded.

    Python's float() rounds decimal strings correctly to f64. For f32, rounding that
    f64 again is only wrong when it landed exactly on an f32 midpoint, or outside
    the normal range: those cases take the exact rational path.
    """
    x = float(text)
    if fmt is F64:
        if x == _INF:
            raise OutOfRange(text)
        return _pack_d(x)
    b64 = _pack_d(x)
    if 1.1754943508222875e-38 <= x < 3.4e38 and (b64 & _F32_MIDPOINT_BITS) != 1 << 28:
        return _pack_f(x)
    mant, _, exp = text.lower().partition("e")
    whole, _, frac = mant.partition(".")
    e10 = _exponent(exp) - len(frac)
    digits = (whole + frac).lstrip("0")
    if len(digits) > _MAX_DIGITS:
        # Beyond ~770 significant digits no f32/f64 rounding decision changes, as
        # long as dropped nonzero digits are remembered (a sticky 1).
        e10 += len(digits) - _MAX_DIGITS
        sticky = "1" if digits[_MAX_DIGITS:].strip("0") else "0"
        digits = digits[: _MAX_DIGITS - 1] + sticky
    d = int(digits or "0")
    if d == 0:
        return 0
    magnitude = len(str(d)) + e10  # value < 10^magnitude
    if magnitude > 400:
        raise OutOfRange(text)
    if magnitude < -400:
        return 0
    if e10 >= 0:
        return round_fraction(d * 10**e10, 1, fmt)
    return round_fraction(d, 10**-e10, fmt)


def _binary_bits(m: int, e2: int, fmt: FloatFormat) -> int:
    """Bits of m * 2^e2, correctly rounded with shifts only."""
    if m == 0:
        return 0
    mant = fmt.mant
    e = m.bit_length() - 1 + e2  # floor(log2(value))
    exp = max(e, 1 - fmt.bias)
    shift = mant - exp + e2  # q = m * 2^shift
    if shift >= 0:
        q = m << shift
    elif -shift > m.bit_length():
        return 0  # below half of the smallest subnormal
    else:
        q = m >> -shift
        rest = m & ((1 << -shift) - 1)
        half = 1 << (-shift - 1)
        if rest > half or (rest == half and q & 1):
            q += 1
    if q >> (mant + 1):
        q >>= 1
        exp += 1
    if q < (1 << mant):
        return q
    biased = exp + fmt.bias
    if biased >= (1 << fmt.exp) - 1:
        raise OutOfRange("float overflow")
    return (biased << mant) | (q - (1 << mant))


def is_number(text: str) -> bool:
    """Whether a keyword-like token is lexically a number (used to word error messages)."""
    c = text[0]
    return c.isdigit() or c in "+-" or text.startswith(("inf", "nan"))
