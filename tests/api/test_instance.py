"""Instance: instantiation with imports, exports as a mapping, calls into Wasm."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture, instantiate  # noqa: F401 - the api fixture

import nanoproc


def test_smoke(api):
    instantiate(api, "(module)")


def test_export_func(api):
    instance, store = instantiate(api, '(module (func (export "")))')
    exports = instance.exports(store)
    assert len(exports) == 1
    func = exports.by_index[0]
    assert isinstance(func, api.Func)
    assert isinstance(func.type(store), api.FuncType)
    assert func(store) is None
    assert exports[""] is not None
    with pytest.raises(KeyError):
        exports["x"]
    with pytest.raises(IndexError):
        exports.by_index[100]
    assert exports.get("x") is None


def test_export_kinds(api):
    instance, store = instantiate(api, """
        (module
            (func (export "a"))
            (global (export "g") i32 (i32.const 3))
            (memory (export "m") 1)
            (table (export "t") 1 funcref))
    """)
    exports = instance.exports(store)
    assert len(exports) == 4
    assert isinstance(exports["a"], api.Func)
    assert isinstance(exports["g"], api.Global) and exports["g"].value(store) == 3
    assert isinstance(exports["m"], api.Memory) and exports["m"].size(store) == 1
    assert isinstance(exports["t"], api.Table) and exports["t"].size(store) == 1
    assert "a" in exports and "d" not in exports
    assert list(exports) == ["a", "g", "m", "t"]
    assert set(exports.values()) == set(exports.by_index)
    assert exports.get("d", 7) == 7


def test_call_conversions(api):
    instance, store = instantiate(api, """
        (module
            (func (export "id") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
                local.get 0 local.get 1 local.get 2 local.get 3)
            (func (export "add") (param i32 i32) (result i32)
                local.get 0 local.get 1 i32.add)
            (func (export "div") (param i32 i32) (result i32)
                local.get 0 local.get 1 i32.div_s))
    """)
    ex = instance.exports(store)
    assert ex["id"](store, -1, -1, 1.1, 2.2) == [-1, -1, 1.100000023841858, 2.2]
    assert ex["id"](store, 0xFFFF_FFFF, 2**64 - 1, 1.5, 2.5) == [-1, -1, 1.5, 2.5]
    assert ex["add"](store, 2**31 - 1, 1) == -(2**31)
    assert ex["add"](store, api.Val.i32(5), True) == 6
    assert ex["div"](store, -7, 2) == -3
    with pytest.raises(api.WasmtimeError, match="too few parameters"):
        ex["add"](store, 1)
    with pytest.raises(TypeError):
        ex["add"](store, 1.0, 2)


def test_import_func(api):
    store = api.Store()
    module = api.Module(store.engine, '(module (import "" "" (func)) (start 0))')
    hits = []
    func = api.Func(store, api.FuncType([], []), lambda: hits.append(True))
    api.Instance(store, module, [func])
    api.Instance(store, module, [func])
    assert len(hits) == 2


def test_import_global(api):
    store = api.Store()
    module = api.Module(store.engine, """
        (module
            (import "" "" (global (mut i32)))
            (func (export "get") (result i32) global.get 0)
            (func (export "update") i32.const 5 global.set 0))
    """)
    g = api.Global(store, api.GlobalType(api.ValType.i32(), True), 2)
    first = api.Instance(store, module, [g]).exports(store)
    assert first["get"](store) == 2
    g.set_value(store, 4)
    assert first["get"](store) == 4
    second = api.Instance(store, module, [g]).exports(store)
    second["update"](store)
    assert first["get"](store) == 5 and g.value(store) == 5


def test_import_memory_and_table(api):
    store = api.Store()
    mem = api.Memory(store, api.MemoryType(api.Limits(1, None)))
    module = api.Module(store.engine, """
        (module (import "" "m" (memory 1)) (func (export "poke") (i32.store8 (i32.const 3) (i32.const 9))))
    """)
    api.Instance(store, module, [mem]).exports(store)["poke"](store)
    assert mem.read(store, 3, 4) == b"\x09"

    table = instantiate(api, '(module (table (export "") 1 funcref))', store=store)[0].exports(store).by_index[0]
    module = api.Module(store.engine, '(module (import "" "" (table 1 funcref)))')
    api.Instance(store, module, [table])


def test_invalid_imports(api):
    store = api.Store()
    with pytest.raises(AttributeError):
        api.Instance(store, 1, [])
    module = api.Module(store.engine, '(module (import "" "" (func)))')
    with pytest.raises(TypeError):
        api.Instance(store, module, [1])
    func = api.Func(store, api.FuncType([], []), lambda: None)
    api.Instance(store, module, [func])
    with pytest.raises(api.WasmtimeError, match="expected 1 imports, found 0"):
        api.Instance(store, module, [])
    with pytest.raises(api.WasmtimeError):
        api.Instance(store, module, [func, func])
    with pytest.raises(api.WasmtimeError):
        api.Instance(store, api.Module(store.engine, '(module (import "" "" (global i32)))'), [func])
    wrong_sig = api.Module(store.engine, '(module (import "" "" (func (param i32))))')
    with pytest.raises(api.WasmtimeError):
        api.Instance(store, wrong_sig, [func])


def test_start_trap(api):
    store = api.Store()
    module = api.Module(store.engine, "(module (func unreachable) (start 0))")
    with pytest.raises(api.Trap):
        api.Instance(store, module, [])


def test_host_exception_through_wasm(api):
    store = api.Store()
    module = api.Module(store.engine, """
        (module (import "" "h" (func $h (param i32) (result i32)))
                (func (export "f") (param i32) (result i32) (call $h (local.get 0))))
    """)

    class Boom(Exception):
        pass

    def host(x):
        if x == 1:
            raise Boom("boom")
        if x == 2:
            return 1.5
        return x * 2

    f = api.Instance(store, module, [api.Func(store, api.FuncType([api.ValType.i32()], [api.ValType.i32()]), host)]).exports(store)["f"]
    assert f(store, 21) == 42
    with pytest.raises(Boom):
        f(store, 1)
    with pytest.raises(TypeError):
        f(store, 2)
    assert f(store, 3) == 6


def test_caller(api):
    store = api.Store()
    hit = {}

    def check(caller):
        hit["caller"] = caller
        assert caller.get("bar") is None
        mem = caller.get("foo")
        assert isinstance(mem, api.Memory)
        assert mem.read(caller, 0, 3) == b"foo"
        assert mem.data_ptr(caller)[3] == 0
        assert isinstance(caller["foo"], api.Memory)
        with pytest.raises(KeyError):
            caller["bar"]

    module = api.Module(store.engine, """
        (module (import "" "" (func)) (memory (export "foo") 1) (start 0) (data (i32.const 0) "foo"))
    """)
    api.Instance(store, module, [api.Func(store, api.FuncType([], []), check, access_caller=True)])
    assert hit["caller"].get("foo") is None  # invalid after the call

    def fail(caller):
        hit["caller2"] = caller
        assert caller["foo"] is not None
        raise api.WasmtimeError("foo")

    with pytest.raises(api.WasmtimeError, match="foo"):
        api.Instance(store, module, [api.Func(store, api.FuncType([], []), fail, access_caller=True)])
    assert hit["caller2"].get("foo") is None


def test_cross_engine(api):
    module = api.Module(api.Engine(), "(module)")
    config = api.Config()
    config.consume_fuel = True
    with pytest.raises(api.WasmtimeError, match="cross-`Engine`"):
        api.Instance(api.Store(api.Engine(config)), module, [])


# ---------------------------------------------------------------- nanoproc specifics


def test_cross_store_import():
    # (wasmtime-py aborts the whole process here, so this is checked on nanoproc only)
    a, b = nanoproc.Store(), nanoproc.Store()
    func = nanoproc.Func(a, nanoproc.FuncType([], []), lambda: None)
    module = nanoproc.Module(b.engine, '(module (import "" "" (func)))')
    with pytest.raises(nanoproc.WasmtimeError, match="cross-`Store`"):
        nanoproc.Instance(b, module, [func])


def test_exports_by_position():
    instance, store = instantiate(nanoproc, '(module (func (export "a")) (func (export "b")))')
    exports = instance.exports(store)
    assert exports[1] is exports["b"]
    assert exports.get(5) is None


def test_compatible_engines_share_modules():
    module = nanoproc.Module(nanoproc.Engine(), '(module (func (export "f") (result i32) i32.const 7))')
    store = nanoproc.Store(nanoproc.Engine())
    assert nanoproc.Instance(store, module, []).exports(store)["f"](store) == 7


def test_host_exception_carries_the_wasm_trap():
    store = nanoproc.Store()
    module = nanoproc.Module(store.engine, """
        (module $m (import "" "h" (func $h)) (func $outer (export "f") (call $h)))
    """)

    def host():
        raise ValueError("from the host")

    f = nanoproc.Instance(store, module, [nanoproc.Func(store, nanoproc.FuncType([], []), host)]).exports(store)["f"]
    with pytest.raises(ValueError) as info:
        f(store)
    trap = info.value.wasm_trap
    assert isinstance(trap, nanoproc.Trap)
    assert [fr.func_name for fr in trap.frames] == ["outer"]
    assert any("wasm backtrace" in note or "outer" in note for note in getattr(info.value, "__notes__", []))


def test_host_exception_keeps_its_own_context():
    store = nanoproc.Store()
    module = nanoproc.Module(store.engine, '(module (import "" "h" (func $h)) (func (export "f") (call $h)))')

    def host():
        try:
            {}["missing"]
        except KeyError:
            raise ValueError("from the host") from None

    def plain():
        raise ValueError("plain")

    for fn, context_type in ((host, KeyError), (plain, type(None))):
        f = nanoproc.Instance(store, module, [nanoproc.Func(store, nanoproc.FuncType([], []), fn)]).exports(store)["f"]
        with pytest.raises(ValueError) as info:
            f(store)
        assert type(info.value.__context__) is context_type
