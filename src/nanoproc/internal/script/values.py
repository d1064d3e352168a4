"""Script constants to API values, and API results against expected results.

The runner talks to an engine only through its public, wasmtime-py-shaped API, so
values cross that boundary as the API represents them: Python ints for i32/i64,
Python floats for f32/f64, ``None`` for null references, ``Func`` objects for
function references and arbitrary host objects for externrefs. v128 and GC values
have no wasmtime-py representation; they are used when the API offers them
(``Val.v128``) and reported as API limitations otherwise.

Floats travel as Python floats, so f32 bit patterns are widened to doubles by hand:
``struct`` would quieten signalling NaNs on the way, and the suite checks payloads.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..syntax.types import F32, I32, I64
from ..text.wast import (
    NAN_ARITHMETIC,
    NAN_CANONICAL,
    EitherResult,
    NumResult,
    NumValue,
    RefExternValue,
    RefHostValue,
    RefNullValue,
    RefResult,
    Result,
    Value,
    VecResult,
    VecValue,
)


class ApiLimit(Exception):
    """The API under test cannot represent a value the script needs (e.g. v128 in wasmtime-py)."""


@dataclass(frozen=True, slots=True)
class HostRef:
    """The host object passed for ``(ref.extern N)`` / ``(ref.host N)``; equal by number."""

    n: int

    def __repr__(self) -> str:
        return f"ref.extern {self.n}"


# ---------------------------------------------------------------- float bits


def f32_from_bits(bits: int) -> float:
    """The double holding f32 ``bits`` exactly (NaN payload moved, not quietened)."""
    if (bits >> 23) & 0xFF == 0xFF and bits & 0x7FFFFF:
        d = ((bits >> 31) << 63) | (0x7FF << 52) | ((bits & 0x7FFFFF) << 29)
        return f64_from_bits(d)
    return struct.unpack("<f", (bits & 0xFFFFFFFF).to_bytes(4, "little"))[0]  # type: ignore[no-any-return]


def f32_to_bits(x: float) -> int:
    """Inverse of :func:`f32_from_bits` (payload bits below f32 precision are dropped)."""
    if math.isnan(x):
        d = f64_to_bits(x)
        return ((d >> 63) << 31) | (0xFF << 23) | ((d >> 29) & 0x7FFFFF)
    try:
        return int.from_bytes(struct.pack("<f", x), "little")
    except OverflowError:  # a double outside f32 range: not an f32 at all
        return -1


def f64_from_bits(bits: int) -> float:
    return struct.unpack("<d", (bits & (1 << 64) - 1).to_bytes(8, "little"))[0]  # type: ignore[no-any-return]


def f64_to_bits(x: float) -> int:
    return int.from_bytes(struct.pack("<d", x), "little")


# ---------------------------------------------------------------- arguments


def to_api(value: Value, api: ModuleType) -> Any:
    """The API value for a script constant (an ``api.Val`` or a plain Python value)."""
    if isinstance(value, NumValue):
        t = value.type
        if t is I32:
            return api.Val.i32(_signed(value.value, 32))
        if t is I64:
            return api.Val.i64(_signed(value.value, 64))
        if t is F32:
            return api.Val.f32(f32_from_bits(value.value))
        return api.Val.f64(f64_from_bits(value.value))
    if isinstance(value, VecValue):
        make = getattr(api.Val, "v128", None)
        if make is None:
            raise ApiLimit("the API has no v128 values (Val.v128)")
        return make(int.from_bytes(value.data, "little"))
    if isinstance(value, RefNullValue):
        return None
    if isinstance(value, (RefExternValue, RefHostValue)):
        # A bare object, as wasmtime-py users pass externrefs: the API converts it to
        # the parameter's type, which may be (ref extern), where a Val of the nullable
        # externref type would not fit.
        return HostRef(value.n)
    raise TypeError(f"unknown script value {value!r}")


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


# ---------------------------------------------------------------- results


def unwrap(actual: Any, api: ModuleType) -> Any:
    """A plain Python value from whatever the API returned (``Val`` or already plain)."""
    if isinstance(actual, api.Val):
        return actual.value
    return actual


def mismatch(actual: Any, expected: Result, api: ModuleType) -> str | None:
    """None if ``actual`` (one API result) matches ``expected``, else why not."""
    actual = unwrap(actual, api)
    if isinstance(expected, EitherResult):
        whys = [mismatch(actual, opt, api) for opt in expected.options]
        if any(w is None for w in whys):
            return None
        return f"matches no alternative of either ({'; '.join(w or '' for w in whys)})"
    if isinstance(expected, NumResult):
        return _num_mismatch(actual, expected)
    if isinstance(expected, VecResult):
        return _vec_mismatch(actual, expected)
    if isinstance(expected, RefResult):
        return _ref_mismatch(actual, expected, api)
    raise TypeError(f"unknown expected result {expected!r}")


def _num_mismatch(actual: Any, exp: NumResult) -> str | None:
    t = exp.type
    if t in (I32, I64):
        if not isinstance(actual, int) or isinstance(actual, bool):
            return f"expected {t} {exp.value}, got {actual!r}"
        bits = 32 if t is I32 else 64
        assert exp.value is not None
        if _signed(actual, bits) == _signed(exp.value, bits):
            return None
        return f"expected {t} {_signed(exp.value, bits)}, got {_signed(actual, bits)}"
    if not isinstance(actual, float):
        return f"expected {t}, got {actual!r}"
    width = 32 if t is F32 else 64
    got = f32_to_bits(actual) if width == 32 else f64_to_bits(actual)
    return _float_mismatch(got, width, exp.value, exp.nan)


def _float_mismatch(got: int, width: int, value: int | None, nan: str | None) -> str | None:
    """Compare float bit patterns; NaN classes per spec ("canonical", "arithmetic")."""
    mant = 23 if width == 32 else 52
    quiet = 1 << (mant - 1)
    exp_mask = ((1 << (width - 1 - mant)) - 1) << mant
    is_nan = got & exp_mask == exp_mask and got & ((1 << mant) - 1)
    show = f"f{width} bits 0x{got:0{width // 4}x}"
    if nan == NAN_CANONICAL:
        ok = got & ~(1 << (width - 1)) == exp_mask | quiet
        return None if ok else f"expected nan:canonical, got {show}"
    if nan == NAN_ARITHMETIC:
        ok = is_nan and got & quiet
        return None if ok else f"expected nan:arithmetic, got {show}"
    assert value is not None
    value &= (1 << width) - 1
    if got == value:
        return None
    why = f"expected f{width} bits 0x{value:0{width // 4}x}, got {show}"
    if got == value | quiet and is_nan:
        why += " (a signalling NaN came back quietened)"
    return why


def _vec_bytes(actual: Any) -> bytes | None:
    if isinstance(actual, (bytes, bytearray)) and len(actual) == 16:
        return bytes(actual)
    if isinstance(actual, int) and not isinstance(actual, bool):
        return (actual & ((1 << 128) - 1)).to_bytes(16, "little")
    return None


_SHAPE_BITS = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64, "f32x4": 32, "f64x2": 64}


def _vec_mismatch(actual: Any, exp: VecResult) -> str | None:
    data = _vec_bytes(actual)
    if data is None:
        return f"expected v128, got {actual!r}"
    bits = _SHAPE_BITS[exp.shape]
    size = bits // 8
    for i, lane in enumerate(exp.lanes):
        got = int.from_bytes(data[i * size : (i + 1) * size], "little")
        if exp.shape[0] == "f":
            why = _float_mismatch(got, bits, None if isinstance(lane, str) else lane,
                                  lane if isinstance(lane, str) else None)
        else:
            assert isinstance(lane, int)
            why = None if got == lane & ((1 << bits) - 1) else f"expected {lane}, got {got}"
        if why is not None:
            return f"v128 {exp.shape} lane {i}: {why} (got 0x{data[::-1].hex()})"
    return None


def _ref_mismatch(actual: Any, exp: RefResult, api: ModuleType) -> str | None:
    kind = exp.kind
    if kind == "null":
        return None if actual is None else f"expected ref.null, got {actual!r}"
    if actual is None:
        return f"expected ref.{kind}, got ref.null"
    if kind == "func":
        return None if isinstance(actual, api.Func) else f"expected ref.func, got {actual!r}"
    if kind in ("extern", "host"):
        if exp.index is None:
            return None
        if isinstance(actual, HostRef) and actual.n == exp.index:
            return None
        return f"expected ref.{kind} {exp.index}, got {actual!r}"
    # any/eq/i31/struct/array/exn: the API gives opaque objects; non-null is all we check.
    return None


def results_mismatch(actual: list[Any], expected: tuple[Result, ...], api: ModuleType) -> str | None:
    """Compare a whole result list; None when every value matches."""
    if len(actual) != len(expected):
        return f"expected {len(expected)} results, got {len(actual)}: {actual!r}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        why = mismatch(a, e, api)
        if why is not None:
            return why if len(expected) == 1 else f"result {i}: {why}"
    return None
