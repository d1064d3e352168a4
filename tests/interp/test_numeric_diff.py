"""Every numeric instruction against wasmtime-py, bit for bit, over edge-case operands.

Float operands and results cross the function boundary as integer bit patterns
(reinterpreted inside Wasm), so NaN payloads, signalling NaNs and signed zeros
reach both engines intact. Where the spec lets a NaN result vary (arithmetic
operations), the result must be a NaN of the class the spec requires: canonical
when every NaN input was canonical, arithmetic (quiet bit set) otherwise.
Everything else, including bit operations on NaNs, must match exactly. Traps must
have the same trap code.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from interp_helpers import BACKEND, compile_wasm, new_instance, signed32, signed64, wat2wasm

from nanoproc.internal.exec.trap import Trap
from nanoproc.internal.syntax.ops import OPS

wasmtime = pytest.importorskip("wasmtime")

I32_VALUES = [
    0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
    0x12345678, 0x7FFFFFFE, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF,
    0xFFFFFF80, 0xDEADBEEF, 0x40000000,
]  # fmt: skip
I64_VALUES = [
    0, 1, 2, 3, 31, 32, 63, 64, 65, 0xFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000,
    0x123456789ABCDEF0, 0x7FFFFFFFFFFFFFFE, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000,
    0x8000000000000001, 0xFFFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFF80000000,
    0xDEADBEEFCAFEBABE,
]  # fmt: skip
F32_VALUES = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000, 0xBF000000, 0x3FC00000,
    0xBFC00000, 0x40200000, 0x40400000, 0xC0200000, 0x7F800000, 0xFF800000,  # 2.5, 3, -2.5, inf
    0x7FC00000, 0xFFC00000, 0x7FC12345, 0x7FA00001, 0xFF800001, 0x7F812345,  # NaNs, sNaNs
    0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x34000000,
    0x4EFFFFFF, 0x4F000000, 0xCF000000, 0xCF000001, 0x4F7FFFFF, 0x4F800000,  # i32/u32 limits
    0x5EFFFFFF, 0x5F000000, 0xDF000000, 0xDF000001, 0x5F7FFFFF, 0x5F800000,  # i64/u64 limits
    0x4B000001, 0x4AFFFFFF, 0x3F7FFFFF, 0x3F800001, 0x49742400,
]  # fmt: skip
F64_VALUES = [
    0x0000000000000000, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000,
    0x3FE0000000000000, 0xBFE0000000000000, 0x3FF8000000000000, 0x4004000000000000,
    0xC004000000000000, 0x7FF0000000000000, 0xFFF0000000000000,
    0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000012345, 0x7FF4000000000001,
    0xFFF0000000000001,
    0x0000000000000001, 0x800FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF,
    0xFFEFFFFFFFFFFFFF, 0x41DFFFFFFFC00000, 0x41E0000000000000, 0xC1E0000000000000,
    0xC1E0000000200000, 0xC1E00000001FFFFF, 0x41EFFFFFFFE00000, 0x41F0000000000000,
    0x43DFFFFFFFFFFFFF, 0x43E0000000000000, 0xC3E0000000000000, 0xC3E0000000000001,
    0x43EFFFFFFFFFFFFF, 0x43F0000000000000, 0x4330000000000001, 0x3FEFFFFFFFFFFFFF,
    0x47EFFFFFE0000000, 0x47EFFFFFF0000000, 0x36A0000000000000, 0x3690000000000001,
]  # fmt: skip
VALUES = {"i32": I32_VALUES, "i64": I64_VALUES, "f32": F32_VALUES, "f64": F64_VALUES}
BITS = {"i32": "i32", "i64": "i64", "f32": "i32", "f64": "i64"}

# Float-producing operations whose NaN results the spec leaves nondeterministic.
NONDETERMINISTIC = {"add", "sub", "mul", "div", "sqrt", "min", "max", "ceil", "floor", "trunc",
                    "nearest", "promote_f32", "demote_f64"}


def _numeric_ops() -> list[Any]:
    ops = []
    for op in OPS:
        if op.prefix not in (None, 0xFC) or op.rule is not None or op.imms:
            continue
        if not op.params or not all(getattr(t, "name", None) in VALUES for t in op.params + op.results):
            continue
        ops.append(op)
    return ops


NUMERIC_OPS = _numeric_ops()


def _const(t: str, v: int) -> str:
    if t[0] == "f":
        return f"({t}.reinterpret_{BITS[t]} ({BITS[t]}.const {_signed(t, v)}))"
    return f"({t}.const {_signed(t, v)})"


def _func(op: Any, name: str, consts: tuple[int | None, ...] = ()) -> str:
    """``op`` applied to params, or to the constants given (None: a param)."""
    consts = consts or (None,) * len(op.params)
    params = []
    args = []
    for t, c in zip((t.name for t in op.params), consts):
        if c is not None:
            args.append(_const(t, c))
            continue
        get = f"(local.get {len(params)})"
        params.append(BITS[t])
        args.append(f"({t}.reinterpret_{BITS[t]} {get})" if t[0] == "f" else get)
    body = f"({op.name} {' '.join(args)})"
    rt = op.results[0].name
    if rt[0] == "f":
        body = f"({BITS[rt]}.reinterpret_{rt} {body})"
    return (f'(func (export "{name}") (param {" ".join(params)}) (result {BITS[rt]}) '
            f"{body})")


def _module_text() -> str:
    return "(module\n" + "\n".join(_func(op, f"op{i}") for i, op in enumerate(NUMERIC_OPS)) + "\n)"


@pytest.fixture(scope="module")
def engines() -> tuple[Any, Any, Any]:
    data = wat2wasm(_module_text())
    ours = new_instance(compile_wasm(data))
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    theirs = wasmtime.Instance(store, wasmtime.Module(engine, data), [])
    return ours, store, theirs


def _is_nan(bits: int, width: int) -> bool:
    exp = 0xFF if width == 32 else 0x7FF
    mant = width - (9 if width == 32 else 12)
    return (bits >> mant) & exp == exp and bits & ((1 << mant) - 1) != 0


def _nan_class_ok(result: int, width: int, inputs: list[tuple[str, int]]) -> bool:
    mant = 23 if width == 32 else 52
    quiet = 1 << (mant - 1)
    payload = result & ((1 << mant) - 1)
    if not _is_nan(result, width):
        return False
    nan_inputs = [
        v for t, v in inputs if t[0] == "f" and _is_nan(v, 32 if t == "f32" else 64)
    ]
    canonical_inputs = all(
        (v & ((1 << (23 if t == "f32" else 52)) - 1)) == 1 << ((23 if t == "f32" else 52) - 1)
        for t, v in inputs if t[0] == "f" and _is_nan(v, 32 if t == "f32" else 64)
    )  # fmt: skip
    if not nan_inputs or canonical_inputs:
        return payload == quiet
    return bool(payload & quiet)


def _signed(t: str, v: int) -> int:
    return signed32(v) if BITS[t] == "i32" else signed64(v)


def _run_ours(ours: Any, name: str, args: list[int]) -> tuple[str, Any]:
    try:
        return "ok", ours.exports[name].call(*args)
    except BaseException as e:
        exc = BACKEND.convert_exception(e)
        assert isinstance(exc, Trap), f"{name}{tuple(args)} raised {exc!r}"
        return "trap", exc.trap_code.name if exc.trap_code else None


def _run_theirs(store: Any, theirs: Any, name: str, args: list[int], types: list[str]) -> tuple[str, Any]:
    f = theirs.exports(store)[name]
    try:
        r = f(store, *[_signed(t, v) for t, v in zip(types, args)])
    except wasmtime.Trap as e:
        return "trap", e.trap_code.name if e.trap_code is not None else None
    return "ok", r


@pytest.mark.parametrize("index", range(len(NUMERIC_OPS)), ids=[op.name for op in NUMERIC_OPS])
def test_numeric_op(engines: tuple[Any, Any, Any], index: int) -> None:
    ours, store, theirs = engines
    op = NUMERIC_OPS[index]
    types = [t.name for t in op.params]
    rt = op.results[0].name
    rwidth = 32 if BITS[rt] == "i32" else 64
    opname = op.name.split(".", 1)[1]
    name = f"op{index}"
    failures = []
    for args in itertools.product(*(VALUES[t] for t in types)):
        args = list(args)
        kind_o, got = _run_ours(ours, name, args)
        kind_t, want = _run_theirs(store, theirs, name, args, types)
        if kind_t == "trap" or kind_o == "trap":
            if (kind_o, got) != (kind_t, want):
                failures.append(f"{op.name}{tuple(map(hex, args))}: ours {kind_o} {got}, "
                                f"wasmtime {kind_t} {want}")
            continue
        want &= (1 << rwidth) - 1
        if got == want:
            continue
        if (
            rt[0] == "f"
            and opname in NONDETERMINISTIC
            and _is_nan(want, rwidth)
            and _nan_class_ok(got, rwidth, list(zip(types, args)))
        ):
            continue
        failures.append(f"{op.name}{tuple(map(hex, args))}: ours {got:#x}, wasmtime {want:#x}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:20])


CONST_SAMPLE = 8
"""Operands used in constant-constant variants (all pairs would be slow)."""


def _variants(op: Any) -> list[tuple[int | None, ...]]:
    types = [t.name for t in op.params]
    if len(types) == 1:
        return [(v,) for v in VALUES[types[0]]]
    a, b = types
    out: list[tuple[int | None, ...]] = [(None, v) for v in VALUES[b]]
    out += [(v, None) for v in VALUES[a]]
    out += [(x, y) for x in VALUES[a][::CONST_SAMPLE] for y in VALUES[b][::CONST_SAMPLE]]
    return out


@pytest.mark.parametrize("index", range(len(NUMERIC_OPS)), ids=[op.name for op in NUMERIC_OPS])
def test_numeric_op_constant_operands(index: int) -> None:
    """The translator folds and specialises constant operands: those paths too."""
    op = NUMERIC_OPS[index]
    variants = _variants(op)
    text = "(module\n" + "\n".join(_func(op, f"v{i}", c) for i, c in enumerate(variants)) + ")"
    data = wat2wasm(text)
    ours = new_instance(compile_wasm(data))
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    theirs = wasmtime.Instance(store, wasmtime.Module(engine, data), [])
    rt = op.results[0].name
    rwidth = 32 if BITS[rt] == "i32" else 64
    opname = op.name.split(".", 1)[1]
    failures = []
    for i, consts in enumerate(variants):
        free = [t.name for t, c in zip(op.params, consts) if c is None]
        for args in itertools.product(*(VALUES[t] for t in free)):
            args = list(args)
            kind_o, got = _run_ours(ours, f"v{i}", args)
            kind_t, want = _run_theirs(store, theirs, f"v{i}", args, free)
            if kind_t == "trap" or kind_o == "trap":
                if (kind_o, got) != (kind_t, want):
                    failures.append(f"{op.name} consts={consts} args={args}: ours {kind_o} {got},"
                                    f" wasmtime {kind_t} {want}")
                continue
            want &= (1 << rwidth) - 1
            if got == want:
                continue
            inputs = []
            it = iter(args)
            for t, c in zip(op.params, consts):
                inputs.append((t.name, c if c is not None else next(it)))
            if (rt[0] == "f" and opname in NONDETERMINISTIC and _is_nan(want, rwidth)
                    and _nan_class_ok(got, rwidth, inputs)):
                continue
            failures.append(f"{op.name} consts={consts} args={args}: ours {got:#x}, "
                            f"wasmtime {want:#x}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:20])


def test_covers_every_numeric_instruction() -> None:
    names = {op.name for op in NUMERIC_OPS}
    for n in ("i32.add", "i64.rotr", "f32.nearest", "f64.copysign", "i64.trunc_sat_f32_u",
              "f32.convert_i64_u", "f64.promote_f32", "i32.reinterpret_f32", "i64.extend32_s",
              "i32.wrap_i64", "i64.extend_i32_s", "f32.demote_f64", "i32.eqz", "f64.ge"):
        assert n in names
    assert len(names) == 136  # 31 i32 + 32 i64 + 40 float + 33 conversions
