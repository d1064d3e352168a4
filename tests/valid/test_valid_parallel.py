"""Validation of a big module by this process and worker processes together: the
same verdict, the same first error (in function order), bodies released after."""

from __future__ import annotations

import pytest

from nanoproc.internal.binary import decode_module
from nanoproc.internal.binary.encode import encode_module
from nanoproc.internal.errors import ValidationError
from nanoproc.internal.text.wat import parse_wat
from nanoproc.internal.valid import validate as V
from nanoproc.internal.valid import validate_module


def _wasm(bad: set[int], n: int = 300) -> bytes:
    funcs = []
    for i in range(n):
        body = "(i32.add (local.get 0) (i32.const 1))"
        if i in bad:
            body = "(i64.add (local.get 0) (i32.const 1))"  # type mismatch
        funcs.append(f"(func (param i32) (result i32) {body})")
    return bytes(encode_module(parse_wat("(module " + " ".join(funcs) + ")")))


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(V, "PARALLEL_BYTES", 0)


def _error(data: bytes, **kw: object) -> tuple[int | None, int | None, str]:
    with pytest.raises(ValidationError) as info:
        validate_module(decode_module(data), **kw)  # type: ignore[arg-type]
    e = info.value
    return e.func, e.offset, str(e)


@pytest.mark.parametrize("bad", [{5}, {250}, {120, 260}, {299}])
def test_first_error_is_the_sequential_one(small_threshold: None, bad: set[int]) -> None:
    data = _wasm(bad)
    want = _error(data)
    assert want[0] == min(bad)
    assert _error(data, release=True, wasm=data) == want


def test_valid_module_and_instruction_count(small_threshold: None) -> None:
    data = _wasm(set())
    seq = validate_module(decode_module(data))
    module = decode_module(data)
    par = validate_module(module, release=True, wasm=data)
    assert par.num_instrs == seq.num_instrs > 0
    assert par.func_types == seq.func_types
    assert all(f.body is None for f in module.funcs)  # kept as bytes until needed
    assert module.funcs[3].instrs  # and decoded again on demand
