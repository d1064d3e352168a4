"""Type objects: construction, equality, printing, checks."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture

import nanoproc


def test_valtypes(api):
    vt = api.ValType
    for make, name in [(vt.i32, "i32"), (vt.i64, "i64"), (vt.f32, "f32"), (vt.f64, "f64"),
                       (vt.funcref, "funcref")]:  # fmt: skip
        assert str(make()) == name
        assert make() == make()
        assert not (make() != make())
    assert str(vt.externref()) == "anyref"  # wasmtime-py's (C API) name for externref
    assert vt.i32() != vt.i64()
    assert vt.i32() != "i32"
    assert repr(vt.i32()) == "i32"


def test_valtype_cannot_be_constructed(api):
    with pytest.raises(api.WasmtimeError):
        api.ValType()


def test_functype(api):
    i32, i64 = api.ValType.i32(), api.ValType.i64()
    ty = api.FuncType([i32, i64], [i64])
    assert ty.params == [i32, i64]
    assert ty.results == [i64]
    assert api.FuncType([], []).params == []
    with pytest.raises(TypeError):
        api.FuncType([1], [])
    with pytest.raises(TypeError):
        api.FuncType([], [None])


def test_globaltype(api):
    ty = api.GlobalType(api.ValType.f64(), True)
    assert ty.content == api.ValType.f64()
    assert ty.mutable
    assert not api.GlobalType(api.ValType.i32(), False).mutable


def test_tabletype(api):
    ty = api.TableType(api.ValType.funcref(), api.Limits(1, None))
    assert ty.element == api.ValType.funcref()
    assert ty.limits == api.Limits(1, None)
    assert api.TableType(api.ValType.externref(), api.Limits(2, 3)).limits == api.Limits(2, 3)
    with pytest.raises(TypeError):
        api.TableType(api.ValType.funcref(), (1, 2))
    with pytest.raises(api.WasmtimeError):
        api.TableType(api.ValType.i32(), api.Limits(1, None))


def test_memorytype(api):
    ty = api.MemoryType(api.Limits(1, None))
    assert ty.limits == api.Limits(1, None)
    assert not ty.is_64 and not ty.is_shared
    assert ty.page_size == 65536 and ty.page_size_log2 == 16
    big = api.MemoryType(api.Limits(0x1_0000_0000, None), is_64=True)
    assert big.is_64 and big.limits.min == 0x1_0000_0000 and big.limits.max is None
    assert api.MemoryType(api.Limits(1, 2), shared=True).is_shared
    assert api.MemoryType(api.Limits(1, None), page_size_log2=0).page_size == 1
    for bad in [
        lambda: api.MemoryType(api.Limits(0x1_0000_0000, None)),
        lambda: api.MemoryType(api.Limits(1, 0x1_0000_0000)),
        lambda: api.MemoryType(api.Limits(70000, None)),
        lambda: api.MemoryType(api.Limits(1, 70000)),
        lambda: api.MemoryType(api.Limits(1, None), shared=True),
        lambda: api.MemoryType(api.Limits(1, None), page_size_log2=3),
    ]:
        with pytest.raises(api.WasmtimeError):
            bad()
    with pytest.raises(TypeError):
        api.MemoryType((1, 2))


def test_limits(api):
    assert api.Limits(1, 2) == api.Limits(1, 2)
    assert api.Limits(1, 2) != api.Limits(1, None)
    assert api.Limits(1, 2) != (1, 2)


def test_tagtype(api):
    ft = api.FuncType([api.ValType.i32()], [])
    tt = api.TagType(ft)
    assert tt.functype.params == [api.ValType.i32()]
    assert tt.functype.results == []
    with pytest.raises(TypeError):
        api.TagType("not a functype")


# ---------------------------------------------------------------- nanoproc extras


def test_value_equality_of_compound_types():
    i32 = nanoproc.ValType.i32()
    assert nanoproc.FuncType([i32], []) == nanoproc.FuncType([i32], [])
    assert nanoproc.FuncType([i32], []) != nanoproc.FuncType([], [i32])
    assert nanoproc.GlobalType(i32, True) == nanoproc.GlobalType(i32, True)
    assert repr(nanoproc.Limits(1, None)) == "Limits(1, None)"
    assert str(nanoproc.ValType.v128()) == "v128"


def test_host_function_types_share_canonical_identity_with_modules():
    from nanoproc.api.types import canon_id
    from nanoproc.internal.syntax import types as T
    from nanoproc.internal.syntax.module import Module
    from nanoproc.internal.valid import validate_module

    ft = T.FuncType((T.I32, T.FUNCREF), (T.I64,))
    module = Module(types=[T.RecType((T.SubType(ft),))])
    assert validate_module(module).type_ids[0] == canon_id(ft)
    assert canon_id(ft) == nanoproc.FuncType(
        [nanoproc.ValType.i32(), nanoproc.ValType.funcref()], [nanoproc.ValType.i64()]
    )._canon_id()
