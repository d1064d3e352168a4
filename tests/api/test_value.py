"""Val: constructors, wrapping, accessors and equality."""

from __future__ import annotations

import math

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture

import nanoproc


def test_i32(api):
    for bad in ("", 1.2, None):
        with pytest.raises(TypeError):
            api.Val.i32(bad)
    assert api.Val.i32(1).as_i32() == 1
    assert api.Val.i32(0xFFFF_FFFF).as_i32() == -1
    assert api.Val.i32(0x8_0000_0000).as_i32() == 0
    assert api.Val.i32(-(2**31) - 1).value == 2**31 - 1
    i = api.Val.i32(5)
    assert (i.as_i64(), i.as_f32(), i.as_f64(), i.as_externref(), i.as_funcref()) == (
        None, None, None, None, None)  # fmt: skip
    assert i.type == api.ValType.i32()


def test_i64(api):
    for bad in ("", 1.2):
        with pytest.raises(TypeError):
            api.Val.i64(bad)
    assert api.Val.i64(0xFFFF_FFFF).as_i64() == 0xFFFF_FFFF
    assert api.Val.i64(0xFFFF_FFFF_FFFF_FFFF).as_i64() == -1
    assert api.Val.i64(0x8_0000_0000_0000_0000).as_i64() == 0
    assert api.Val.i64(1).as_i32() is None
    assert api.Val.i64(1).type == api.ValType.i64()


def test_f32(api):
    for bad in ("", 1):
        with pytest.raises(TypeError):
            api.Val.f32(bad)
    assert api.Val.f32(1.0).as_f32() == 1.0
    assert api.Val.f32(1.1).value == 1.100000023841858
    assert api.Val.f32(1e300).value == math.inf
    assert api.Val.f32(1.0).as_f64() is None
    assert api.Val.f32(1.0).type == api.ValType.f32()


def test_f64(api):
    for bad in ("", 1):
        with pytest.raises(TypeError):
            api.Val.f64(bad)
    assert api.Val.f64(1.1).as_f64() == 1.1
    assert api.Val.f64(1.0).as_f32() is None
    assert api.Val.f64(1.0).type == api.ValType.f64()


def test_refs(api):
    obj = {"x": 1}
    ref = api.Val.externref(obj)
    assert ref.value is obj and ref.as_externref() is obj
    assert ref.type == api.ValType.externref()
    assert api.Val.funcref(None).type == api.ValType.funcref()
    assert api.Val.ref_null(api.ValType.externref()).value is None
    assert api.Val.ref_null(api.ValType.funcref()).type == api.ValType.funcref()
    with pytest.raises(api.WasmtimeError):
        api.Val.ref_null(api.ValType.i32())


def test_equality(api):
    assert api.Val.i32(5) == 5
    assert api.Val.i32(5) == api.Val.i32(5)
    assert api.Val.i32(5) != api.Val.i64(5)
    assert api.Val.funcref(None) == None  # noqa: E711 - what wasmtime-py code writes


def test_null_funcref_accessor():
    # wasmtime-py asserts here (its as_funcref expects a Func); nanoproc answers None.
    assert nanoproc.Val.funcref(None).as_funcref() is None


def test_v128_is_an_unsigned_int():
    v = nanoproc.Val.v128(-1)
    assert v.value == (1 << 128) - 1
    assert v.type == nanoproc.ValType.v128()
    with pytest.raises(TypeError):
        nanoproc.Val.v128(1.0)


def test_f32_keeps_nan_payloads():
    from nanoproc.internal.exec.values import f32_from_bits, f32_to_bits

    snan = f32_from_bits(0x7FA0_0001)
    assert f32_to_bits(nanoproc.Val.f32(snan).value) == 0x7FA0_0001
