"""nanoproc.component's API: shaped like wasmtime-py's wasmtime.component (the same
code runs against both where they agree), plus linking components to each other."""

from __future__ import annotations

from typing import Any

import pytest

import nanoproc
from component_samples import SHOUT, UPPER, tier_engine
from nanoproc import component as c


@pytest.fixture(params=["interp", "llvm"])
def engine(request: pytest.FixtureRequest) -> nanoproc.Engine:
    return tier_engine(request.param)


def test_host_function_implements_an_import(engine: nanoproc.Engine) -> None:
    store = nanoproc.Store(engine)
    comp = c.Component(engine, SHOUT)
    calls: list[Any] = []
    linker = c.Linker(engine)
    with linker.root() as root:
        def upper(st: Any, s: str) -> str:
            calls.append(st)
            return s.upper()
        root.add_func("upper", upper)
    inst = linker.instantiate(store, comp)
    api = inst.get_export_index(store, "my:pkg/api")
    assert api is not None
    idx = inst.get_export_index(store, "shout", api)
    shout = inst.get_func(store, idx)
    assert shout(store, "hello ☃") == "HELLO ☃!"
    assert calls == [store]
    ty = shout.type(store)
    assert [n for n, _ in ty.params] == ["s"] and ty.result == c.String()


def test_components_linked_through_the_linker(engine: nanoproc.Engine) -> None:
    store = nanoproc.Store(engine)
    linker = c.Linker(engine)
    upper_inst = linker.instantiate(store, c.Component(engine, UPPER))
    with linker.root() as root:
        root.add_instance_export("upper", upper_inst)
    shout_inst = linker.instantiate(store, c.Component(engine, SHOUT))
    idx = shout_inst.get_export_index(store, "shout",
                                      shout_inst.get_export_index(store, "my:pkg/api"))
    shout = shout_inst.get_func(store, idx)
    assert shout(store, "abc é") == "ABC é!"
    # both keep their own memory; a trap in one leaves the other usable
    assert upper_inst.get_func(store, "upper")(store, "x") == "X"


def test_link_type_mismatch_is_a_link_error(engine: nanoproc.Engine) -> None:
    store = nanoproc.Store(engine)
    linker = c.Linker(engine)
    other = linker.instantiate(store, c.Component(engine, """(component
      (core module $m (func (export "f") (param i32) (result i32) local.get 0))
      (core instance $i (instantiate $m))
      (func (export "upper") (param "s" u32) (result u32) (canon lift (core func $i "f"))))"""))
    with linker.root() as root:
        root.add_instance_export("upper", other)
    with pytest.raises(nanoproc.WasmtimeError, match="type mismatch"):
        linker.instantiate(store, c.Component(engine, SHOUT))


def test_imported_core_module_is_checked_when_instantiated(engine: nanoproc.Engine) -> None:
    # The validator checked the arguments against the import's declared module type;
    # the host's module may still differ, so its imports are checked at run time.
    comp = c.Component(engine, """(component
      (import "m" (core module $m (import "" "f" (func (param i32)))))
      (core module $n (func (export "f") (param i32)))
      (core instance $n (instantiate $n))
      (core instance $i (instantiate $m (with "" (instance $n)))))""")
    for text, ok in (('(module (import "" "f" (func (param i64))))', False),
                     ('(module (import "" "f" (func (param i32))))', True)):  # fmt: skip
        linker = c.Linker(engine)
        with linker.root() as root:
            root.add_module("m", nanoproc.Module(engine, text))
        store = nanoproc.Store(engine)
        if ok:
            linker.instantiate(store, comp)
        else:
            with pytest.raises(nanoproc.WasmtimeError, match="incompatible import type"):
                linker.instantiate(store, comp)


def test_missing_import_and_define_unknown_imports_as_traps(engine: nanoproc.Engine) -> None:
    store = nanoproc.Store(engine)
    comp = c.Component(engine, SHOUT)
    linker = c.Linker(engine)
    with pytest.raises(nanoproc.WasmtimeError, match="`upper`, but a matching implementation"):
        linker.instantiate(store, comp)
    linker.define_unknown_imports_as_traps(comp)
    inst = linker.instantiate(store, comp)
    idx = inst.get_export_index(store, "shout", inst.get_export_index(store, "my:pkg/api"))
    with pytest.raises(nanoproc.Trap, match="unknown import `upper`"):
        inst.get_func(store, idx)(store, "x")


def test_linker_locking_and_shadowing(engine: nanoproc.Engine) -> None:
    linker = c.Linker(engine)
    root = linker.root()
    with pytest.raises(nanoproc.WasmtimeError, match="in use"):
        linker.root()
    root.add_func("f", lambda st: None)
    with pytest.raises(nanoproc.WasmtimeError, match="defined twice"):
        root.add_func("f", lambda st: None)
    root.close()
    linker.allow_shadowing = True
    with linker.root() as r2:
        r2.add_func("f", lambda st: None)


def test_component_type_and_errors(engine: nanoproc.Engine) -> None:
    comp = c.Component(engine, SHOUT)
    ty = comp.type
    assert isinstance(ty.imports(engine)["upper"], c.FuncType)
    api = ty.exports(engine)["my:pkg/api"]
    assert isinstance(api, c.ComponentInstanceType)
    assert "shout" in api.exports(engine)
    with pytest.raises(nanoproc.WasmtimeError):
        c.Component(engine, '(component (func (export "f") (canon lift (core func 0))))')
    with pytest.raises(nanoproc.WasmtimeError, match="found a core module"):
        c.Component(engine, nanoproc.wat2wasm("(module)"))
    with pytest.raises(TypeError):
        c.Component(engine, 5)  # type: ignore[arg-type]


def test_wrong_store_is_refused(engine: nanoproc.Engine) -> None:
    s1, s2 = nanoproc.Store(engine), nanoproc.Store(engine)
    linker = c.Linker(engine)
    inst = linker.instantiate(s1, c.Component(engine, UPPER))
    f = inst.get_func(s1, "upper")
    with pytest.raises(nanoproc.WasmtimeError, match="wrong store"):
        f(s2, "x")
    with linker.root() as root:
        root.add_instance_export("upper", inst)
    with pytest.raises(nanoproc.WasmtimeError, match="cross-`Store`"):
        linker.instantiate(s2, c.Component(engine, SHOUT))
