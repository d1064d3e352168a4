"""Differential testing against the interp tier: random modules from ``wasm-tools
smith``, every export called with argument values chosen to hit edge cases (zero,
all ones, the sign bit, NaNs with payloads, signed zeros, infinities), on both
tiers. Results, traps (code, message, backtrace), memories and globals must agree.

Floats compare bit for bit, except that two NaNs are equal whatever their payloads:
Wasm leaves NaN payloads of arithmetic results to the implementation.

NANOPROC_SMITH_SEEDS=<n> runs more modules than the default.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import struct
import subprocess
from typing import Any

import pytest
from llvm_helpers import INTERP, LLVM, compile_wasm, new_instance

from conftest import wasm_tools
from nanoproc.internal.errors import UnsupportedFeature, WasmtimeError
from nanoproc.internal.exec.entities import FuncInst, GlobalInst
from nanoproc.internal.exec.memory import MemoryInst
from nanoproc.internal.exec.trap import Trap
from nanoproc.internal.exec.values import f32_from_bits, f64_from_bits
from nanoproc.internal.syntax.types import F32, F64, I32, I64, RefType

SEEDS = int(os.environ.get("NANOPROC_SMITH_SEEDS", "150"))

SMITH_FLAGS = [
    "--ensure-termination",
    "--simd-enabled", "false", "--relaxed-simd-enabled", "false",
    "--gc-enabled", "false", "--exceptions-enabled", "false",
    "--threads-enabled", "false", "--shared-everything-threads-enabled", "false",
    "--wide-arithmetic-enabled", "false", "--custom-descriptors-enabled", "false",
    "--memory64-enabled", "true", "--tail-call-enabled", "true",
    "--custom-page-sizes-enabled", "false",
    "--export-everything", "true", "--max-imports", "0", "--min-funcs", "2",
    "--max-memory32-bytes", str(1 << 20), "--max-memory64-bytes", str(1 << 20),
    "--max-table-elements", "1000", "--max-instructions", "400", "--max-funcs", "12",
]  # fmt: skip

EDGE_I32 = [0, 1, 2, 7, 0x7F, 0x80, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE]
EDGE_I64 = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, 0x7FFFFFFFFFFFFFFF,
            0x8000000000000000, 0xFFFFFFFFFFFFFFFF]  # fmt: skip
EDGE_F32 = [0, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000,
            0x7FA00001, 0x00000001, 0x4F000000, 0xCF000000, 0x3F000000]  # fmt: skip
EDGE_F64 = [0, 0x8000000000000000, 0x3FF0000000000000, 0x7FF0000000000000,
            0xFFF0000000000000, 0x7FF8000000000000, 0x7FF4000000000001,
            0x41E0000000000000, 0xC1E0000000000000, 0x0000000000000001]  # fmt: skip


def smith(seed: int) -> bytes | None:
    entropy = random.Random(seed).randbytes(2048)
    p = subprocess.run([wasm_tools(), "smith", *SMITH_FLAGS], input=entropy,
                       capture_output=True)  # fmt: skip
    return p.stdout if p.returncode == 0 else None


def _arg(t: Any, rng: random.Random) -> Any:
    if t is I32:
        return rng.choice(EDGE_I32)
    if t is I64:
        return rng.choice(EDGE_I64)
    if t is F32:
        return f32_from_bits(rng.choice(EDGE_F32))
    if t is F64:
        return f64_from_bits(rng.choice(EDGE_F64))
    return None


def _norm(v: Any) -> Any:
    """A comparable form of a value: floats by their bits, NaNs as one value."""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else struct.pack("<d", v)
    if isinstance(v, tuple):
        return tuple(_norm(x) for x in v)
    if isinstance(v, FuncInst):
        return ("func", v.index)
    return v


def _run(fi: FuncInst, args: tuple[Any, ...], backend: Any, tail_calls: bool) -> Any:
    try:
        return ("ok", _norm(fi.call(*args)))
    except BaseException as e:
        exc = backend.convert_exception(e)
        if not isinstance(exc, Trap):
            raise exc from None
        # Call sites are exact on both tiers; the trapping instruction itself is
        # approximate on the interp tier (it reports the instruction that evaluates a
        # folded expression), so only its function is compared.
        frames = [(f.func_index, f.module_offset if i else None) for i, f in enumerate(exc.frames)]
        if exc.trap_code is not None and exc.trap_code.name == "STACK_OVERFLOW":
            frames = frames[:1]  # the depth reached depends on frame sizes
        if tail_calls:
            # A tail call replaces its caller's frame natively (as in wasmtime); the
            # interp tier's trampoline keeps a frame for it at its first instruction.
            frames = frames[:1]
        return ("trap", exc.trap_code, exc.message, frames)


def _has_tail_calls(cm: Any) -> bool:
    return any(ins[0].name.startswith("return_call") for f in cm.module.funcs
               for ins in f.instrs)  # fmt: skip


def _state(inst: Any) -> list[Any]:
    out: list[Any] = []
    for _name, ext in inst.export_list:
        if isinstance(ext, MemoryInst):
            out.append(hashlib.sha256(bytes(ext.view)).hexdigest())
        elif isinstance(ext, GlobalInst):
            out.append(_norm(ext.value))
    return out


def _instantiate(cm: Any, backend: Any) -> Any:
    try:
        return ("ok", new_instance(cm, backend=backend))
    except Trap as t:
        return ("trap", t.trap_code, t.message)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_module(seed: int) -> None:
    data = smith(seed)
    if data is None:
        pytest.skip("wasm-tools smith produced no module for this seed")
    try:
        cm = compile_wasm(data)
    except WasmtimeError as e:
        pytest.fail(f"seed {seed}: smith's module was refused: {e}")
    try:
        mine = _instantiate(cm, LLVM)
    except UnsupportedFeature:
        pytest.skip("module needs a feature neither tier runs")
    theirs = _instantiate(cm, INTERP)
    assert (mine[0], mine[1:] if mine[0] == "trap" else None) == (
        theirs[0], theirs[1:] if theirs[0] == "trap" else None), f"seed {seed} start"
    if mine[0] != "ok":
        return
    ours, ref = mine[1], theirs[1]
    rng = random.Random(seed)
    tails = _has_tail_calls(cm)
    calls = 0
    for name, ext in ours.export_list:
        if not isinstance(ext, FuncInst):
            continue
        other = ref.exports[name]
        if any(isinstance(t, RefType) and not t.nullable for t in ext.type.params):
            continue
        for _ in range(4):
            args = tuple(_arg(t, rng) for t in ext.type.params)
            got = _run(ext, args, LLVM, tails)
            want = _run(other, args, INTERP, tails)
            assert got == want, f"seed {seed} {name}{args}: llvm {got}, interp {want}"
            assert _state(ours) == _state(ref), f"seed {seed} {name}{args}: state differs"
            calls += 1
    assert calls or not any(isinstance(e, FuncInst) for _, e in ours.export_list)
