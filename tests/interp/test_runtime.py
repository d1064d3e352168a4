"""The interp tier's runtime behaviour: calls, host functions, traps and their frames,
stack exhaustion, tail calls, lazy binding across instances, memory growth."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from interp_helpers import BACKEND, call, compile_wat, host_func, new_instance

from nanoproc.internal.exec.entities import FuncInst
from nanoproc.internal.exec.trap import Trap, TrapCode
from nanoproc.internal.interp.backend import InterpBackend, frames_for
from nanoproc.internal.syntax.types import I32, FuncType

I32_I32 = FuncType((I32,), (I32,))


def test_lazy_translation_and_shared_code() -> None:
    cm = compile_wat('(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add))')
    a = new_instance(cm)
    b = new_instance(cm)
    art = cm.artifacts["interp"]
    assert art.code == {}  # nothing translated at instantiation
    assert call(a, "f", 41) == 42
    assert len(art.code) == 1
    assert call(b, "f", 1) == 2
    assert len(art.code) == 1  # the second instance reused the code object
    fa, fb = a.exports["f"], b.exports["f"]
    assert isinstance(fa, FuncInst) and isinstance(fb, FuncInst)
    assert fa.call.__code__ is fb.call.__code__
    assert fa.call.__globals__ is not fb.call.__globals__


def test_wrapping_arithmetic_and_multi_value() -> None:
    inst = new_instance("""(module
      (func (export "swap") (param i32 i64) (result i64 i32) local.get 1 local.get 0)
      (func (export "wrap") (param i32) (result i32)
        local.get 0 i32.const 0x7fffffff i32.add i32.const 3 i32.mul)
      (func (export "multi") (result i32 i32 i32)
        (call $three) i32.add i32.const 10)
      (func $three (result i32 i32 i32) i32.const 1 i32.const 2 i32.const 3))""")
    assert call(inst, "swap", 7, 2**64 - 1) == (2**64 - 1, 7)
    assert call(inst, "wrap", 5) == ((5 + 0x7FFFFFFF) * 3) & 0xFFFFFFFF
    assert call(inst, "multi") == (1, 5, 10)


def test_host_function_with_and_without_caller() -> None:
    seen: list[Any] = []

    def plain(x: int) -> int:
        return x * 2

    def with_caller(caller: Any, x: int) -> int:
        seen.append(caller)
        return x + 1

    text = """(module
      (import "h" "plain" (func $plain (param i32) (result i32)))
      (import "h" "caller" (func $caller (param i32) (result i32)))
      (func (export "f") (param i32) (result i32)
        local.get 0 call $plain call $caller))"""
    inst = new_instance(text, [host_func(I32_I32, plain), host_func(I32_I32, with_caller, needs_caller=True)])
    assert call(inst, "f", 20) == 41
    assert seen == [inst]


def test_host_exception_is_not_taken_for_a_wasm_trap() -> None:
    def boom(x: int) -> int:
        return 1 // x  # ZeroDivisionError raised by the host, not by Wasm

    inst = new_instance("""(module
      (import "h" "boom" (func $boom (param i32) (result i32)))
      (func $inner (export "f") (param i32) (result i32) local.get 0 call $boom))""",
                        [host_func(I32_I32, boom)])
    with pytest.raises(ZeroDivisionError) as info:
        call(inst, "f", 0)
    trap = info.value.wasm_trap  # type: ignore[attr-defined]
    assert isinstance(trap, Trap) and trap.frames
    assert trap.frames[0].func_index == 1
    assert any("wasm backtrace" in note for note in info.value.__notes__)


def test_reentry_host_wasm_host_wasm() -> None:
    holder: dict[str, Any] = {}

    def host(depth: int) -> int:
        if depth == 0:
            return 1000
        return call(holder["inst"], "f", depth - 1) + 1

    inst = new_instance("""(module
      (import "h" "host" (func $h (param i32) (result i32)))
      (func (export "f") (param i32) (result i32) local.get 0 call $h i32.const 1 i32.add))""",
                        [host_func(I32_I32, host)])
    holder["inst"] = inst
    assert call(inst, "f", 5) == 1000 + 5 + 6


def test_trap_codes_messages_and_frames() -> None:
    inst = new_instance("""(module
      (memory 1)
      (func $divide (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
      (func (export "outer") (param i32) (result i32) i32.const 1 local.get 0 call $divide)
      (func (export "oob") (param i32) (result i32) local.get 0 i32.load offset=4)
      (func (export "unreachable") unreachable)
      (func (export "overflow") (param i32) (result i32) i32.const 0x80000000 local.get 0 i32.div_s)
      (func (export "conv") (param f32) (result i32) local.get 0 i32.trunc_f32_s))""")
    cases = [
        ("outer", (0,), TrapCode.INTEGER_DIVISION_BY_ZERO, "integer divide by zero"),
        ("oob", (65532,), TrapCode.MEMORY_OUT_OF_BOUNDS, "out of bounds memory access"),
        ("oob", (0xFFFFFFFF,), TrapCode.MEMORY_OUT_OF_BOUNDS, "out of bounds memory access"),
        ("unreachable", (), TrapCode.UNREACHABLE, "unreachable"),
        ("overflow", (0xFFFFFFFF,), TrapCode.INTEGER_OVERFLOW, "integer overflow"),
        ("conv", (float("nan"),), TrapCode.BAD_CONVERSION_TO_INTEGER, "invalid conversion to integer"),
        ("conv", (3e9,), TrapCode.INTEGER_OVERFLOW, "integer overflow"),
    ]
    for name, args, code, message in cases:
        with pytest.raises(Trap) as info:
            call(inst, name, *args)
        assert info.value.trap_code is code, name
        assert info.value.message == message
    with pytest.raises(Trap) as info:
        call(inst, "outer", 0)
    frames = info.value.frames
    assert [f.func_index for f in frames] == [0, 1]
    assert frames[0].func_name == "divide"
    # the failing i32.div_u: its byte offset in the module and in the function body
    func = inst.module.module.funcs[0]
    div_index = [ins[0].name for ins in func.instrs].index("i32.div_u")
    assert func.offsets is not None
    assert frames[0].module_offset == func.offsets[div_index]
    assert frames[0].func_offset == func.offsets[div_index] - func.code_offset


def test_stack_exhaustion_is_a_trap() -> None:
    inst = new_instance("""(module
      (func $r (export "r") (param i32) (result i32)
        local.get 0 i32.const 1 i32.add call $r))""")
    with pytest.raises(Trap) as info:
        call(inst, "r", 0)
    assert info.value.trap_code is TrapCode.STACK_OVERFLOW
    assert info.value.message == "call stack exhausted"
    assert len(info.value.frames) > 1000
    # the interpreter is fine afterwards
    assert call(new_instance('(module (func (export "f") (result i32) i32.const 7))'), "f") == 7


def test_recursion_limit_follows_max_wasm_stack() -> None:
    assert frames_for(512 * 1024) == 16384
    assert frames_for(64 * 1024) == 4096  # 16 bytes a frame, as Cranelift's smallest
    InterpBackend(max_wasm_stack=4 << 20)
    assert sys.getrecursionlimit() >= frames_for(4 << 20)


def test_deep_recursion_within_the_limit() -> None:
    inst = new_instance("""(module
      (func $sum (export "sum") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (local.get 0) (call $sum (i32.sub (local.get 0) (i32.const 1))))))))""")
    assert call(inst, "sum", 5000) == 5000 * 5001 // 2


def test_mutual_tail_recursion_runs_in_constant_stack() -> None:
    inst = new_instance("""(module
      (type $t (func (param i64) (result i32)))
      (table funcref (elem $even $odd))
      (func $even (export "even") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 44))
          (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
      (func $odd (export "odd") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 99))
          (else (return_call_indirect (type $t) (i64.sub (local.get 0) (i64.const 1))
                                                (i32.const 0)))))
      (func $count (export "count") (param i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0)) (then (local.get 0))
          (else (return_call $count (i64.sub (local.get 0) (i64.const 1)))))))""")
    assert call(inst, "even", 1_000_000) == 44
    assert call(inst, "odd", 1_000_001) == 44
    assert call(inst, "count", 1_000_000) == 0


def test_cross_instance_calls_bind_directly_after_first_call() -> None:
    provider = new_instance('(module (func (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add))')
    inc = provider.exports["inc"]
    user = new_instance("""(module (import "p" "inc" (func $inc (param i32) (result i32)))
      (func (export "twice") (param i32) (result i32) local.get 0 call $inc call $inc))""", [inc])
    assert call(user, "twice", 1) == 3
    assert isinstance(inc, FuncInst)
    g = user.tier_state.G  # the importer's global now holds the translated function
    assert g["f0"] is inc.call
    assert inc.call.__code__.co_name == "f0"


def test_call_indirect_checks() -> None:
    inst = new_instance("""(module
      (type $ii (func (param i32) (result i32)))
      (type $v (func))
      (table 4 funcref)
      (elem (i32.const 0) $id $nothing)
      (func $id (param i32) (result i32) local.get 0)
      (func $nothing)
      (func (export "call") (param i32 i32) (result i32)
        local.get 1 local.get 0 call_indirect (type $ii)))""")
    assert call(inst, "call", 0, 5) == 5
    for index, message in ((1, "indirect call type mismatch"), (2, "uninitialized element"),
                           (4, "undefined element"), (0xFFFFFFFF, "undefined element")):
        with pytest.raises(Trap) as info:
            call(inst, "call", index, 5)
        assert info.value.message == message


def test_call_indirect_to_host_function_in_table() -> None:
    def host(x: int) -> int:
        raise KeyError("from host")

    inst = new_instance("""(module
      (type $ii (func (param i32) (result i32)))
      (import "h" "f" (func $h (type $ii)))
      (table 1 funcref) (elem (i32.const 0) $h)
      (func (export "call") (param i32) (result i32) local.get 0 i32.const 0 call_indirect (type $ii)))""",
                        [host_func(I32_I32, host)])
    with pytest.raises(KeyError):
        call(inst, "call", 1)


def test_memory_growth_rebinds_views() -> None:
    inst = new_instance("""(module (memory 1 4)
      (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
      (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
      (func (export "load") (param i32) (result i32) local.get 0 i32.load)
      (func (export "size") (result i32) memory.size))""")
    with pytest.raises(Trap):
        call(inst, "store", 70000, 1)
    assert call(inst, "grow", 1) == 1
    call(inst, "store", 70000, 0xDEADBEEF)
    assert call(inst, "load", 70000) == 0xDEADBEEF
    assert call(inst, "size") == 2
    assert call(inst, "grow", 10) == 0xFFFFFFFF  # -1: beyond the maximum


def test_modules_declaring_gc_types_and_tags_instantiate() -> None:
    inst = new_instance('(module (type $s (struct)) (tag $t) '
                        '(func (export "f") (result anyref) ref.null any))')
    assert call(inst, "f") is None


def test_convert_exception_leaves_foreign_errors_alone() -> None:
    err = ValueError("not from wasm")
    assert BACKEND.convert_exception(err) is err
    try:
        raise IndexError("raised by Python code, not by Wasm")
    except IndexError as e:
        assert BACKEND.convert_exception(e) is e


def test_dump_generated_sources(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("NANOPROC_INTERP_DUMP", str(tmp_path))
    inst = new_instance('(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))')
    assert call(inst, "f", 21) == 42
    files = list(tmp_path.rglob("*.py"))
    assert len(files) == 1 and "def f0(l0):" in files[0].read_text()
    # traps still map back to Wasm frames when the code is compiled from the dump file
    trapping = new_instance('(module (func (export "t") unreachable))')
    with pytest.raises(Trap) as info:
        call(trapping, "t")
    assert info.value.frames and info.value.frames[0].func_index == 0


def test_threads_run_f32_code_independently() -> None:
    """Instances in several threads share code objects and helpers (f32 rounding
    included) but no mutable state: results must not depend on interleaving."""
    import threading

    cm = compile_wat("""(module (func (export "f") (param f32 f32) (result f32)
      local.get 0 local.get 1 f32.mul local.get 0 f32.add local.get 1 f32.div))""")
    inputs = [(1.5 + i, 0.25 * (i + 1)) for i in range(64)]
    reference = new_instance(cm)
    expected = [call(reference, "f", a, b) for a, b in inputs]
    errors: list[str] = []

    def worker() -> None:
        inst = new_instance(cm)
        for _ in range(300):
            for (a, b), want in zip(inputs, expected):
                got = call(inst, "f", a, b)
                if got != want:
                    errors.append(f"{a} {b}: {got} != {want}")
                    return

    threads = [threading.Thread(target=worker) for _ in range(4)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors[:3]


def test_large_memory_fill_in_chunks() -> None:
    from nanoproc.internal.interp.helpers import FILL_CHUNK

    inst = new_instance("""(module (memory 40)
      (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
      (func (export "at") (param i32) (result i32) (i32.load8_u (local.get 0))))""")
    n = 2 * FILL_CHUNK + 12345
    call(inst, "fill", 3, 0x1AB, n)
    view = inst.memories[0].view
    assert view[2] == 0 and view[3] == 0xAB and view[3 + n - 1] == 0xAB and view[3 + n] == 0
    assert bytes(view[3 : 3 + n]) == b"\xab" * n
    with pytest.raises(Trap):
        call(inst, "fill", 40 * 65536 - 10, 1, 11)
