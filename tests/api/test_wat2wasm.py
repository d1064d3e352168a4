"""wat2wasm."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture


def test_wat2wasm(api):
    assert api.wat2wasm("(module)") == b"\0asm\x01\0\0\0"
    assert isinstance(api.wat2wasm("(module)"), bytearray)
    assert api.wat2wasm(b"(module)") == b"\0asm\x01\0\0\0"
    wasm = api.wat2wasm('(module (func (export "f") (result i32) i32.const 7))')
    store = api.Store()
    f = api.Instance(store, api.Module(store.engine, wasm), []).exports(store)["f"]
    assert f(store) == 7


def test_errors(api):
    with pytest.raises(api.WasmtimeError):
        api.wat2wasm("x")
    with pytest.raises(api.WasmtimeError):
        api.wat2wasm("(module")
