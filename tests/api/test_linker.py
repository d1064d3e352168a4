"""Linker and InstancePre: definitions, shadowing, modules, errors."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture, instantiate  # noqa: F401 - the api fixture

import nanoproc


def test_define(api):
    store = api.Store()
    linker = api.Linker(store.engine)
    linker.allow_shadowing = False
    func = api.Func(store, api.FuncType([], []), lambda: None)
    linker.define(store, "", "a", func)
    linker.define(store, "", "c", api.Global(store, api.GlobalType(api.ValType.i32(), False), api.Val.i32(0)))
    linker.define(store, "", "e", api.Memory(store, api.MemoryType(api.Limits(1, None))))
    table = instantiate(api, '(module (table (export "") 1 funcref))', store=store)[0].exports(store).by_index[0]
    linker.define(store, "", "g", table)
    with pytest.raises(api.WasmtimeError, match="defined twice"):
        linker.define(store, "", "a", func)
    linker.allow_shadowing = True
    linker.define(store, "", "a", func)
    with pytest.raises(TypeError):
        linker.define(store, "", "", 2)
    with pytest.raises(AttributeError):
        linker.define(store, 2, "", func)
    with pytest.raises(AttributeError):
        linker.define(store, "", 2, func)


def test_define_instance(api):
    store = api.Store()
    linker = api.Linker(store.engine)
    with pytest.raises(TypeError):
        linker.define_instance("x", 2)
    linker.define_instance(store, "a", instantiate(api, "(module)", store=store)[0])
    instance = instantiate(api, '(module (func (export "foo")))', store=store)[0]
    linker.define_instance(store, "b", instance)
    with pytest.raises(api.WasmtimeError):
        linker.define_instance(store, "b", instance)
    linker.allow_shadowing = True
    linker.define_instance(store, "b", instance)
    assert isinstance(linker.get(store, "b", "foo"), api.Func)


def test_instantiate(api):
    store = api.Store()
    linker = api.Linker(store.engine)
    linker.define_instance(store, "x", instantiate(api, '(module (func (export "foo")))', store=store)[0])
    linker.define(store, "y", "z", api.Func(store, api.FuncType([], []), lambda: None))
    linker.instantiate(store, api.Module(store.engine, '(module (import "x" "foo" (func)) (import "y" "z" (func)))'))
    wrong_kind = api.Module(store.engine, '(module (import "x" "foo" (func)) (import "y" "z" (global i32)))')
    with pytest.raises(api.WasmtimeError, match="y::z"):
        linker.instantiate(store, wrong_kind)
    missing = api.Module(store.engine, '(module (import "nope" "f" (func)))')
    with pytest.raises(api.WasmtimeError, match="unknown import: `nope::f` has not been defined"):
        linker.instantiate(store, missing)
    with pytest.raises(api.Trap):
        linker.instantiate(store, api.Module(store.engine, "(module (func unreachable) (start 0))"))
    linker.instantiate(store, api.Module(store.engine, "(module)"))


def test_errors(api):
    linker = api.Linker(api.Engine())
    with pytest.raises(AttributeError):
        api.Linker(2)
    with pytest.raises(AttributeError):
        linker.instantiate(api.Store(), 3)
    with pytest.raises(TypeError):
        linker.define_func("a", "b", 1, lambda: None)


def test_define_module_reactor(api):
    store = api.Store()
    linker = api.Linker(store.engine)
    module = api.Module(store.engine, """
        (module (global $g (mut i32) (i32.const 0))
                (func (export "_initialize") (global.set $g (i32.const 10)))
                (func (export "next") (result i32)
                    (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g)))
    """)
    linker.define_module(store, "lib", module)
    user = api.Module(store.engine, """
        (module (import "lib" "next" (func $next (result i32)))
                (func (export "run") (result i32) (call $next)))
    """)
    run = linker.instantiate(store, user).exports(store)["run"]
    assert run(store) == 11
    assert run(store) == 12  # one shared reactor instance
    assert linker.get(store, "lib", "next")(store) == 13


def test_define_module_command(api):
    store = api.Store()
    linker = api.Linker(store.engine)
    module = api.Module(store.engine, """
        (module (global $g (mut i32) (i32.const 0))
                (memory (export "memory") 1)
                (func (export "_start"))
                (func (export "next") (result i32)
                    (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g)))
    """)
    linker.define_module(store, "cmd", module)
    nxt = linker.get(store, "cmd", "next")
    assert nxt(store) == 1
    assert nxt(store) == 1  # a fresh instance per call
    with pytest.raises(api.WasmtimeError):
        linker.get(store, "cmd", "memory")
    linker.get_default(store, "cmd")(store)


def test_get(api):
    store = api.Store()
    linker = api.Linker(store.engine)
    with pytest.raises(api.WasmtimeError, match="item not defined in linker"):
        linker.get(store, "foo", "bar")
    linker.define_module(store, "foo", api.Module(store.engine, '(module (func (export "f")))'))
    assert isinstance(linker.get(store, "foo", "f"), api.Func)


def test_get_default(api):
    store = api.Store()
    linker = api.Linker(store.engine)
    assert linker.get_default(store, "foo")(store) is None
    linker.define_module(store, "m", api.Module(store.engine, '(module (func (export "") (result i32) i32.const 3))'))
    assert linker.get_default(store, "m")(store) == 3


def test_define_func(api):
    engine = api.Engine()
    linker = api.Linker(engine)
    hits = []
    linker.define_func("a", "b", api.FuncType([], []), lambda: hits.append(1))
    module = api.Module(engine, '(module (import "a" "b" (func)) (start 0))')
    assert hits == []
    linker.instantiate(api.Store(engine), module)
    linker.instantiate(api.Store(engine), module)
    assert hits == [1, 1]


def test_define_func_with_caller(api):
    engine = api.Engine()
    linker = api.Linker(engine)

    def peek(caller, addr):
        return caller["memory"].read(caller, addr, addr + 1)[0]

    linker.define_func("env", "peek", api.FuncType([api.ValType.i32()], [api.ValType.i32()]), peek, access_caller=True)
    module = api.Module(engine, """
        (module (import "env" "peek" (func $peek (param i32) (result i32)))
                (memory (export "memory") 1) (data (i32.const 8) "\\2a")
                (func (export "run") (result i32) (call $peek (i32.const 8))))
    """)
    store = api.Store(engine)
    assert linker.instantiate(store, module).exports(store)["run"](store) == 42


def test_define_unknown_imports_as_traps(api):
    engine = api.Engine()
    linker = api.Linker(engine)
    module = api.Module(engine, """
        (module (import "env" "missing" (func))
                (func (export "f") call 0))
    """)
    linker.define_unknown_imports_as_traps(module)
    store = api.Store(engine)
    instance = linker.instantiate(store, module)
    with pytest.raises((api.Trap, api.WasmtimeError), match="env::missing"):
        instance.exports(store)["f"](store)
    with pytest.raises(TypeError):
        linker.define_unknown_imports_as_traps("not a module")


def test_define_unknown_imports_as_default_values(api):
    engine = api.Engine()
    linker = api.Linker(engine)
    module = api.Module(engine, """
        (module (import "env" "missing" (func $m (result i32 f64)))
                (func (export "f") (result i32 f64) call $m))
    """)
    store = api.Store(engine)
    linker.define_unknown_imports_as_default_values(store, module)
    assert linker.instantiate(store, module).exports(store)["f"](store) == [0, 0.0]
    with pytest.raises(TypeError):
        linker.define_unknown_imports_as_default_values(store, "not a module")


def test_instantiate_pre(api):
    engine = api.Engine()
    linker = api.Linker(engine)
    module = api.Module(engine, '(module (func (export "f") (result i32) i32.const 42))')
    pre = linker.instantiate_pre(module)
    for _ in range(2):
        store = api.Store(engine)
        assert pre.instantiate(store).exports(store)["f"](store) == 42
    with pytest.raises(TypeError):
        linker.instantiate_pre("not a module")
    with pytest.raises(api.WasmtimeError):
        linker.instantiate_pre(api.Module(engine, '(module (import "x" "y" (func)))'))


# ---------------------------------------------------------------- nanoproc specifics


def test_allow_shadowing_is_readable():
    linker = nanoproc.Linker(nanoproc.Engine())
    assert linker.allow_shadowing is False
    linker.allow_shadowing = True
    assert linker.allow_shadowing is True


def test_store_bound_definition_in_another_store():
    engine = nanoproc.Engine()
    a, b = nanoproc.Store(engine), nanoproc.Store(engine)
    linker = nanoproc.Linker(engine)
    linker.define(a, "m", "f", nanoproc.Func(a, nanoproc.FuncType([], []), lambda: None))
    with pytest.raises(nanoproc.WasmtimeError, match="cross-`Store`"):
        linker.instantiate(b, nanoproc.Module(engine, '(module (import "m" "f" (func)))'))


def test_host_functions_are_made_once_per_store():
    engine = nanoproc.Engine()
    linker = nanoproc.Linker(engine)
    linker.define_func("m", "f", nanoproc.FuncType([], []), lambda: None)
    a, b = nanoproc.Store(engine), nanoproc.Store(engine)
    assert linker.get(a, "m", "f") == linker.get(a, "m", "f")
    assert linker.get(a, "m", "f") != linker.get(b, "m", "f")


def test_define_wasi_defines_every_preview1_function_per_store():
    engine = nanoproc.Engine()
    linker = nanoproc.Linker(engine)
    linker.define_wasi()
    a, b = nanoproc.Store(engine), nanoproc.Store(engine)
    fd_write = linker.get(a, "wasi_snapshot_preview1", "fd_write")
    assert isinstance(fd_write, nanoproc.Func)
    assert fd_write == linker.get(a, "wasi_snapshot_preview1", "fd_write")
    assert fd_write != linker.get(b, "wasi_snapshot_preview1", "fd_write")
    with pytest.raises(nanoproc.WasmtimeError, match="defined twice"):
        linker.define_wasi()


def test_linker_keeps_no_store_alive():
    import gc
    import weakref

    engine = nanoproc.Engine()
    linker = nanoproc.Linker(engine)
    linker.define_func("m", "f", nanoproc.FuncType([], []), lambda: None)
    linker.define_wasi()
    module = nanoproc.Module(engine, '(module (import "m" "f" (func)) (func (export "run") call 0))')
    states = []
    for _ in range(3):
        store = nanoproc.Store(engine)
        linker.instantiate(store, module).exports(store)["run"](store)
        linker.get(store, "wasi_snapshot_preview1", "fd_write")
        states.append(weakref.ref(store._state))
        del store
    gc.collect()
    assert all(ref() is None for ref in states)
