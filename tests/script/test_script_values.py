"""Script values and expected results: float bits, NaN classes, v128 lanes, references."""

from __future__ import annotations

import math
import struct

import pytest
import wasmtime

import nanoproc
from nanoproc.internal.script.messages import message_matches
from nanoproc.internal.script.values import (
    ApiLimit,
    HostRef,
    f32_from_bits,
    f32_to_bits,
    mismatch,
    results_mismatch,
    to_api,
)
from nanoproc.internal.syntax.types import F32, F64, I32, I64
from nanoproc.internal.text.wast import (
    EitherResult,
    NumResult,
    NumValue,
    RefExternValue,
    RefNullValue,
    RefResult,
    VecResult,
    VecValue,
)


@pytest.mark.parametrize("bits", [0, 0x80000000, 0x3F800000, 0x7F800000, 0xFF800000, 0x00000001,
                                  0x7FC00000, 0x7FA00000, 0xFFA00001, 0x7F800001, 0x7FFFFFFF])
def test_f32_bits_survive_the_trip_through_a_double(bits: int) -> None:
    assert f32_to_bits(f32_from_bits(bits)) == bits


def test_signalling_nan_keeps_its_payload_in_the_double() -> None:
    d = struct.unpack("<Q", struct.pack("<d", f32_from_bits(0x7FA00000)))[0]
    assert d == 0x7FF4000000000000  # quiet bit (bit 51) still clear
    assert math.isnan(f32_from_bits(0x7FA00000))


def test_f32_to_bits_of_a_double_outside_f32_range_matches_nothing() -> None:
    assert mismatch(1e300, NumResult(F32, 0x7F800000), wasmtime) is not None


@pytest.mark.parametrize(
    ("bits", "canonical", "arithmetic"),
    [
        (0x7FC00000, True, True),
        (0xFFC00000, True, True),
        (0x7FC00001, False, True),
        (0x7FA00000, False, False),  # signalling
        (0x7F800000, False, False),  # infinity
        (0x3F800000, False, False),
    ],
)
def test_nan_classes_f32(bits: int, canonical: bool, arithmetic: bool) -> None:
    x = f32_from_bits(bits)
    assert (mismatch(x, NumResult(F32, None, "nan:canonical"), wasmtime) is None) == canonical
    assert (mismatch(x, NumResult(F32, None, "nan:arithmetic"), wasmtime) is None) == arithmetic


def test_nan_classes_f64() -> None:
    canon = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000000))[0]
    payload = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000002))[0]
    assert mismatch(canon, NumResult(F64, None, "nan:canonical"), wasmtime) is None
    assert mismatch(payload, NumResult(F64, None, "nan:canonical"), wasmtime) is not None
    assert mismatch(payload, NumResult(F64, None, "nan:arithmetic"), wasmtime) is None


def test_exact_floats_compare_bits_not_values() -> None:
    assert mismatch(-0.0, NumResult(F64, 0), wasmtime) is not None
    assert mismatch(0.0, NumResult(F64, 0), wasmtime) is None
    assert "quietened" in (mismatch(f32_from_bits(0x7FE00000), NumResult(F32, 0x7FA00000), wasmtime) or "")


def test_integers_compare_modulo_width() -> None:
    assert mismatch(-1, NumResult(I32, 0xFFFFFFFF), wasmtime) is None
    assert mismatch(0xFFFFFFFF, NumResult(I32, -1), wasmtime) is None
    assert mismatch(-1, NumResult(I64, -1), wasmtime) is None
    assert mismatch(1, NumResult(I64, 2), wasmtime) == "expected i64 2, got 1"
    assert mismatch(1.0, NumResult(I32, 1), wasmtime) is not None
    assert mismatch(True, NumResult(I32, 1), wasmtime) is not None


def test_v128_lanes_with_nan_patterns() -> None:
    lanes = [0x7FC00000, 0x7FC00001, 0x3F800000, 0xFFC00000]
    data = b"".join(v.to_bytes(4, "little") for v in lanes)
    ok = VecResult("f32x4", ("nan:canonical", "nan:arithmetic", 0x3F800000, "nan:canonical"))
    assert mismatch(data, ok, nanoproc) is None
    assert mismatch(int.from_bytes(data, "little"), ok, nanoproc) is None
    bad = VecResult("f32x4", ("nan:canonical", "nan:canonical", 0x3F800000, "nan:canonical"))
    assert "lane 1: expected nan:canonical" in (mismatch(data, bad, nanoproc) or "")
    ints = VecResult("i16x8", (-1, 0, 0, 0, 0, 0, 0, 1))
    raw = (0xFFFF | 1 << 112).to_bytes(16, "little")
    assert mismatch(raw, ints, nanoproc) is None
    assert mismatch(raw[::-1], ints, nanoproc) is not None
    assert mismatch(1.0, ints, nanoproc) is not None


def test_references() -> None:
    assert mismatch(None, RefResult("null"), wasmtime) is None
    assert mismatch(HostRef(3), RefResult("extern", 3), wasmtime) is None
    assert mismatch(HostRef(3), RefResult("extern", 4), wasmtime) is not None
    assert mismatch(HostRef(3), RefResult("extern"), wasmtime) is None
    assert mismatch(None, RefResult("extern"), wasmtime) is not None
    assert mismatch(HostRef(3), RefResult("func"), wasmtime) is not None
    assert mismatch(object(), RefResult("struct"), wasmtime) is None
    assert mismatch(None, RefResult("any"), wasmtime) is not None


def test_either_and_result_lists() -> None:
    either = EitherResult((NumResult(I32, 1), NumResult(I32, 2)))
    assert mismatch(2, either, wasmtime) is None
    assert mismatch(3, either, wasmtime) is not None
    assert results_mismatch([1, 2], (NumResult(I32, 1), NumResult(I32, 2)), wasmtime) is None
    assert results_mismatch([1], (NumResult(I32, 1), NumResult(I32, 2)), wasmtime) is not None


def test_arguments_become_api_values() -> None:
    v = to_api(NumValue(I32, 0xFFFFFFFF), wasmtime)
    assert isinstance(v, wasmtime.Val) and v.value == -1
    assert to_api(NumValue(F32, 0x3F800000), wasmtime).value == 1.0
    assert to_api(RefNullValue("func"), wasmtime) is None
    assert to_api(RefExternValue(5), wasmtime) == HostRef(5)
    with pytest.raises(ApiLimit):
        to_api(VecValue(bytes(16)), wasmtime)  # wasmtime-py has no v128 values
    assert to_api(VecValue(bytes([1]) + bytes(15)), nanoproc).value == 1


def test_messages_match_by_containment_or_alias() -> None:
    assert message_matches("integer overflow", "wasm trap: integer overflow\n")
    assert not message_matches("integer overflow", "integer divide by zero")
    assert message_matches("null array reference", "wasm trap: null reference")
    assert message_matches("uninitialized element 2", "uninitialized element")
    assert not message_matches("uninitialized element", "uninitialized elem")
