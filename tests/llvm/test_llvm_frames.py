"""Frames as compiled, not estimated (issue 20 item 1): big functions run at every
optimisation level, the stack check compares the stack pointer after the prologue
with the limit, and the limit leaves room for the largest frame of the store's code
(a function may spill into its frame before its check runs)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from llvm_helpers import call, compile_wasm, new_instance, wat2wasm

from nanoproc.internal.exec.store import StoreState
from nanoproc.internal.exec.trap import Trap, TrapCode
from nanoproc.internal.llvm.backend import LLVMBackend

STEPS = 16_500
"""Four instructions each: with the local.get, a 66,001-instruction body."""


def _big_module() -> bytes:
    straight = "(i32.const 3)(i32.mul)(i32.const 1)(i32.add)" * STEPS
    nested = "(block (result i32) " * 8000 + "(i32.const 7)" + ")" * 8000
    return wat2wasm(f"""(module
      (func (export "straight") (param i32) (result i32) (local.get 0) {straight})
      (func (export "nested") (result i32) {nested}))""")


def _switch_module(n: int) -> bytes:
    """``n`` nested blocks and a br_table (what compilers make of a C switch)."""
    cases = " ".join(str(i) for i in range(n))
    switch = f"(local.get 0) (br_table {cases} {n - 1})"
    for i in range(n):
        switch = f"(block {switch}) (i32.const {i}) (return)"
    return wat2wasm(f"""(module
      (func (export "switch") (param i32) (result i32) {switch} (i32.const -1)))""")


def _expected_straight(x: int) -> int:
    for _ in range(STEPS):
        x = (x * 3 + 1) & 0xFFFF_FFFF
    return x


@pytest.mark.parametrize("opt", [0, 1, 2, 3])
def test_big_functions_run_at_every_level(opt: int) -> None:
    backend = LLVMBackend(opt_level=opt)
    cm = compile_wasm(_big_module())
    inst = new_instance(cm, backend=backend)
    assert call(inst, "straight", 5, backend=backend) == _expected_straight(5)
    assert call(inst, "nested", backend=backend) == 7
    code = backend.prepare(cm).load()
    assert len(code.frames) == 2  # every function's frame size was measured
    assert all(0 < size < 64 * 1024 for size in code.frames.values()), code.frames


def test_big_switch_runs_at_o0() -> None:
    backend = LLVMBackend(opt_level=0)
    inst = new_instance(compile_wasm(_switch_module(16_000)), backend=backend)
    for i in (0, 1, 7_777, 15_998, 15_999, 20_000):
        expected = 15_999 if i >= 15_999 else i
        assert call(inst, "switch", i, backend=backend) == expected


def test_frames_are_measured_and_reserved() -> None:
    locals_ = " ".join(["i64"] * 2000)
    backend = LLVMBackend(opt_level=0)
    cm = compile_wasm(wat2wasm(f"""(module
      (func (export "leaf") (result i32) (i32.const 1))
      (func (export "big") (param i32) (result i64) (local {locals_})
        (local.set 1999 (i64.const 5)) (local.get 1999)))"""))
    store = StoreState(None)
    inst = new_instance(cm, store=store, backend=backend)
    assert call(inst, "big", 1, backend=backend) == 5
    code = backend.prepare(cm).load()
    assert code.frames[1] >= 2000 * 8  # -O0 keeps every local in the frame
    assert code.frames[0] < 1024
    assert code.max_frame > code.frames[1]
    assert store.tier_state.frame_room == code.max_frame
    low_before = store.tier_state.sc.stack_low
    assert low_before  # set when the store ran on this thread
    store.tier_state.reserve_frame(code.max_frame + 4096)  # a later, bigger module
    assert store.tier_state.sc.stack_low == low_before + 4096


def test_a_frame_bigger_than_the_thread_stack_traps() -> None:
    """On a thread whose stack cannot hold the frame, the call traps (no crash: the
    entry checks the limit before calling, and the limit keeps the frame's room)."""
    script = textwrap.dedent("""
        import sys, threading
        sys.path[:0] = {paths!r}
        from llvm_helpers import call, compile_wasm, new_instance, wat2wasm
        from nanoproc.internal.exec.trap import Trap
        from nanoproc.internal.llvm.backend import LLVMBackend
        locals_ = " ".join(["i64"] * 40000)
        backend = LLVMBackend(opt_level=0)
        cm = compile_wasm(wat2wasm(f'''(module (func (export "big") (param i32) (result i64)
            (local {{locals_}}) (local.set 39999 (i64.const 5)) (local.get 39999)))'''))
        inst = new_instance(cm, backend=backend)
        assert call(inst, "big", 1, backend=backend) == 5
        out = []
        def run():
            for _ in range(3):
                try:
                    out.append(call(inst, "big", 1, backend=backend))
                except Trap as t:
                    out.append(t.message)
        threading.stack_size(256 * 1024)
        t = threading.Thread(target=run)
        t.start()
        t.join()
        print(out)
    """).format(paths=[p for p in sys.path if p])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(["call stack exhausted"] * 3)


def test_recursion_depth_still_bounded() -> None:
    inst = new_instance('(module (func $f (export "f") call $f))')
    with pytest.raises(Trap) as info:
        call(inst, "f")
    assert info.value.trap_code is TrapCode.STACK_OVERFLOW
