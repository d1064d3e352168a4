"""Func: host functions called from Python, argument and result conversion, errors.

(Calls through Wasm code are in test_instance.py and test_linker.py.)
"""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture

import nanoproc


def i32(api):
    return api.ValType.i32()


def test_smoke(api):
    store = api.Store()
    func = api.Func(store, api.FuncType([], []), lambda: None)
    assert func(store) is None
    assert isinstance(func.type(store), api.FuncType)


def test_add(api):
    store = api.Store()
    ty = api.FuncType([i32(api), i32(api)], [i32(api)])
    func = api.Func(store, ty, lambda a, b: a + b)
    assert func(store, 1, 2) == 3
    assert func(store, 2**31 - 1, 1) == -(2**31)  # results wrap and come back signed


def test_arguments_arrive_as_python_values(api):
    store = api.Store()
    seen = []
    vt = api.ValType
    ty = api.FuncType([vt.i32(), vt.i64(), vt.f32(), vt.f64()], [])
    func = api.Func(store, ty, lambda *args: seen.append(args))
    func(store, 1, api.Val.i64(2), 3.0, 4.0)
    func(store, 0xFFFF_FFFF, 2**64 - 1, 1.1, True and 2.5)
    func(store, True, -1, 1e300, -0.0)
    assert seen[0] == (1, 2, 3.0, 4.0)
    assert seen[1] == (-1, -1, 1.100000023841858, 2.5)
    assert seen[2][:3] == (1, -1, float("inf"))


def test_multi_return(api):
    store = api.Store()
    ty = api.FuncType([], [i32(api), i32(api)])
    assert api.Func(store, ty, lambda: [1, 2])(store) == [1, 2]
    assert api.Func(store, ty, lambda: (3, 4))(store) == [3, 4]


def test_reverse_types(api):
    store = api.Store()
    vt = api.ValType
    ty = api.FuncType([vt.i32(), vt.i64(), vt.f32(), vt.f64()], [vt.f64(), vt.f32(), vt.i64(), vt.i32()])
    func = api.Func(store, ty, lambda *a: list(reversed(a)))
    assert func(store, 1, 2, 3.0, 4.0) == [4.0, 3.0, 2, 1]


def test_errors(api):
    store = api.Store()
    ty = api.FuncType([], [])
    with pytest.raises(TypeError):
        api.Func(1, ty, lambda: None)
    with pytest.raises(TypeError):
        api.Func(store, 1, lambda: None)
    func = api.Func(store, ty, lambda: None)
    with pytest.raises(api.WasmtimeError, match="too many parameters provided: given 1, expected 0"):
        func(store, 2)

    func = api.Func(store, api.FuncType([i32(api)], []), lambda x: None)
    with pytest.raises(api.WasmtimeError, match="too few parameters provided: given 0, expected 1"):
        func(store)
    for bad in (3.0, None, "1", api.Val.i64(3)):
        with pytest.raises(TypeError):
            func(store, bad)

    func = api.Func(store, api.FuncType([api.ValType.f64()], []), lambda x: None)
    with pytest.raises(TypeError):
        func(store, 1)


def test_results_when_none_expected(api):
    store = api.Store()
    func = api.Func(store, api.FuncType([i32(api)], []), lambda x: x)
    with pytest.raises(api.WasmtimeError, match="produced results"):
        func(store, 1)


def test_produce_wrong(api):
    store = api.Store()
    ty = api.FuncType([], [i32(api), i32(api)])
    with pytest.raises(TypeError):
        api.Func(store, ty, lambda: 1)(store)
    with pytest.raises(api.WasmtimeError, match="wrong number of results"):
        api.Func(store, ty, lambda: [1, 2, 3])(store)
    one = api.FuncType([], [i32(api)])
    with pytest.raises(TypeError):
        api.Func(store, one, lambda: None)(store)
    with pytest.raises(TypeError):
        api.Func(store, one, lambda: 1.5)(store)
    with pytest.raises(TypeError):
        api.Func(store, api.FuncType([], [api.ValType.f64()]), lambda: 1)(store)


def test_host_exception_propagates_as_is(api):
    store = api.Store()

    class Oops(Exception):
        pass

    err = Oops("hello")

    def do_raise():
        raise err

    with pytest.raises(Oops) as info:
        api.Func(store, api.FuncType([], []), do_raise)(store)
    assert info.value is err


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_host_base_exception(api, exc):
    store = api.Store()

    def do_raise():
        raise exc()

    with pytest.raises(exc):
        api.Func(store, api.FuncType([], []), do_raise)(store)


def test_host_trap(api):
    store = api.Store()

    def do_trap():
        raise api.Trap("custom trap")

    with pytest.raises(api.Trap) as info:
        api.Func(store, api.FuncType([], []), do_trap)(store)
    assert info.value.message == "custom trap"
    assert info.value.trap_code is None


def test_caller_outside_wasm(api):
    store = api.Store()
    seen = []

    def host(caller, x):
        seen.append((caller.get(""), caller.get("memory"), x))
        return x + 1

    ty = api.FuncType([i32(api)], [i32(api)])
    assert api.Func(store, ty, host, access_caller=True)(store, 41) == 42
    assert seen == [(None, None, 41)]


def test_refs_through_host_functions(api):
    store = api.Store()
    ty = api.FuncType([api.ValType.externref()], [api.ValType.externref()])
    ident = api.Func(store, ty, lambda x: x)
    obj = object()
    assert ident(store, obj) is obj
    assert ident(store, api.Val.externref(obj)) is obj
    assert ident(store, None) is None
    assert ident(store, 5) == 5
    with pytest.raises(TypeError):
        ident(store, api.Val.i32(3))

    fty = api.FuncType([api.ValType.funcref()], [api.ValType.funcref()])
    fident = api.Func(store, fty, lambda f: f)
    assert fident(store, None) is None
    back = fident(store, ident)
    assert isinstance(back, api.Func)
    assert back(store, "x") == "x"
    with pytest.raises(TypeError):
        fident(store, 3)


# ---------------------------------------------------------------- nanoproc specifics


def test_func_classes_are_per_signature_but_named_func():
    store = nanoproc.Store()
    a = nanoproc.Func(store, nanoproc.FuncType([], []), lambda: None)
    b = nanoproc.Func(store, nanoproc.FuncType([nanoproc.ValType.i32()], []), lambda x: None)
    assert type(a).__name__ == type(b).__name__ == "Func"
    assert isinstance(a, nanoproc.Func) and isinstance(b, nanoproc.Func)
    assert type(a) is not type(b)
    assert "too few" in str(pytest.raises(nanoproc.WasmtimeError, nanoproc.Func.__call__, b, store).value)


def test_funcs_compare_by_identity_of_the_function():
    store = nanoproc.Store()
    f = nanoproc.Func(store, nanoproc.FuncType([], []), lambda: None)
    fty = nanoproc.FuncType([nanoproc.ValType.funcref()], [nanoproc.ValType.funcref()])
    again = nanoproc.Func(store, fty, lambda g: g)(store, f)
    assert again == f and hash(again) == hash(f) and again is not f


def test_v128_values():
    store = nanoproc.Store()
    v = nanoproc.ValType.v128()
    f = nanoproc.Func(store, nanoproc.FuncType([v], [v]), lambda x: x + 1)
    assert f(store, 41) == 42
    assert f(store, -1) == 0  # wraps modulo 2**128


def test_funcref_of_another_store_is_refused():
    a, b = nanoproc.Store(), nanoproc.Store()
    f = nanoproc.Func(a, nanoproc.FuncType([], []), lambda: None)
    g = nanoproc.Func(b, nanoproc.FuncType([nanoproc.ValType.funcref()], []), lambda x: None)
    with pytest.raises(nanoproc.WasmtimeError, match="wrong store"):
        g(b, f)


def test_calls_take_the_generated_path():
    store = nanoproc.Store()
    module = nanoproc.Module(store.engine, '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))')
    add = nanoproc.Instance(store, module, []).exports(store)["add"]
    call = type(add).__call__
    assert call.__code__.co_filename == "<nanoproc __call__>"
    assert "_ext" in call.__code__.co_names and "convert_exception" in call.__code__.co_names
    assert add(store, -1, 0) == -1
