"""Trap: codes, messages and Wasm backtraces."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture, instantiate  # noqa: F401 - the api fixture

import nanoproc


def test_new(api):
    trap = api.Trap("x")
    assert trap.message == "x"
    assert trap.trap_code is None
    assert isinstance(trap, Exception)


def test_frames(api):
    instance, store = instantiate(api, """
        (module $module
            (func (export "init") call $foo)
            (func $foo call $bar)
            (func $bar unreachable))
    """)
    with pytest.raises(api.Trap) as info:
        instance.exports(store).by_index[0](store)
    trap = info.value
    frames = trap.frames
    assert [f.func_index for f in frames] == [2, 1, 0]
    assert [f.func_name for f in frames] == ["bar", "foo", None]
    assert [f.module_name for f in frames] == ["module"] * 3
    assert [f.module_offset for f in frames] == [0x2D, 0x28, 0x23]
    assert trap.trap_code == api.TrapCode.UNREACHABLE
    assert "unreachable" in str(trap)


def test_frames_without_names(api):
    instance, store = instantiate(api, '(module (func (export "init") unreachable))')
    with pytest.raises(api.Trap) as info:
        instance.exports(store)["init"](store)
    (frame,) = info.value.frames
    assert frame.func_index == 0 and frame.func_name is None and frame.module_name is None


@pytest.mark.parametrize("body, code", [
    ("i32.const 1 i32.const 0 i32.div_s drop", "INTEGER_DIVISION_BY_ZERO"),
    ("i32.const 0x80000000 i32.const -1 i32.div_s drop", "INTEGER_OVERFLOW"),
    ("i32.const 70000 i32.load drop", "MEMORY_OUT_OF_BOUNDS"),
    ("f32.const nan i32.trunc_f32_s drop", "BAD_CONVERSION_TO_INTEGER"),
    ("i32.const 5 call_indirect (type 0)", "TABLE_OUT_OF_BOUNDS"),
    ("i32.const 0 call_indirect (type 0)", "INDIRECT_CALL_TO_NULL"),
])  # fmt: skip
def test_trap_codes(api, body, code):
    instance, store = instantiate(api, f"""
        (module (type (func)) (memory 1) (table 1 funcref)
                (func (export "f") {body}))
    """)
    with pytest.raises(api.Trap) as info:
        instance.exports(store)["f"](store)
    assert info.value.trap_code == getattr(api.TrapCode, code)


def test_stack_overflow(api):
    instance, store = instantiate(api, '(module (func $f (export "f") call $f))')
    with pytest.raises(api.Trap) as info:
        instance.exports(store)["f"](store)
    assert info.value.trap_code == api.TrapCode.STACK_OVERFLOW


def test_trap_codes_match_wasmtime():
    import wasmtime

    assert {c.name for c in nanoproc.TrapCode} <= {c.name for c in wasmtime.TrapCode}
