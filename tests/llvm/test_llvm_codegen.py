"""Pieces of the llvm tier's code generation and loading, tested on their own: NaN
canonicalisation and its pruning, stackmap and symbol reading, memory bounds at the
edges, and the GIL being released while native code runs."""

from __future__ import annotations

import threading

import pytest
from llvm_helpers import INTERP, LLVM, both, call, compile_wat, new_instance, outcome

from nanoproc.internal.exec.values import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from nanoproc.internal.llvm import jit
from nanoproc.internal.llvm.compiler import module_objects
from nanoproc.internal.llvm.objfile import read_object
from nanoproc.internal.llvm.symbols import func_symbol


def test_canonicalize_is_pruned_only_after_surviving_arithmetic() -> None:
    ir = """define double @f(double %x, double %y) {
  %1 = fmul double %x, %y
  %2 = tail call double @llvm.canonicalize.f64(double %1)
  %3 = fmul double %x, 1.000000e+00
  %4 = tail call double @llvm.canonicalize.f64(double %3)
  %5 = fadd double %x, -0.000000e+00
  %6 = tail call double @llvm.canonicalize.f64(double %5)
  %7 = fadd double %x, -1.000000e+00
  %8 = tail call double @llvm.canonicalize.f64(double %7)
  %9 = tail call double @llvm.canonicalize.f64(double %x)
  %10 = fptrunc double %x to float
  %11 = tail call float @llvm.canonicalize.f32(float %10)
  ret double %2
}"""
    out = jit.prune_canonicalize(ir)
    assert out is not None
    lines = {ln.split(" = ")[0].strip(): ln for ln in out.splitlines() if " = " in ln}
    assert "bitcast double %1 to double" in lines["%2"]
    assert "bitcast double %7 to double" in lines["%8"]
    for kept in ("%4", "%6", "%9", "%11"):
        assert "canonicalize" in lines[kept], kept
    assert jit.prune_canonicalize("define void @g() {\n  ret void\n}") is None


@pytest.mark.parametrize("op, identity", [("mul", "1"), ("div", "1"), ("mul", "-1"),
                                         ("sub", "0"), ("add", "-0")])  # fmt: skip
def test_arithmetic_with_an_identity_still_quiets_nans(op: str, identity: str) -> None:
    inst = new_instance(f"""(module
      (func (export "f32") (param f32) (result i32)
        local.get 0 f32.const {identity} f32.{op} i32.reinterpret_f32)
      (func (export "f64") (param f64) (result i64)
        local.get 0 f64.const {identity} f64.{op} i64.reinterpret_f64)
      (func (export "demote") (param f32) (result i32)
        local.get 0 f64.promote_f32 f32.demote_f64 i32.reinterpret_f32))""")
    assert call(inst, "f32", f32_from_bits(0x7FA00000)) & 0x7FC00000 == 0x7FC00000
    assert call(inst, "f64", f64_from_bits(0x7FF4000000000000)) >> 51 & 0xFFF == 0xFFF
    assert call(inst, "demote", f32_from_bits(0x7FA00000)) & 0x7FC00000 == 0x7FC00000


def test_moves_keep_signalling_nans() -> None:
    inst = new_instance("""(module (memory 1) (global $g (mut f32) (f32.const 0))
      (func (export "f") (param f32) (result f32)
        i32.const 8 local.get 0 f32.store
        i32.const 8 f32.load global.set $g global.get $g f32.neg f32.abs))""")
    assert f32_to_bits(call(inst, "f", f32_from_bits(0xFFA00001))) == 0x7FA00001
    assert f64_to_bits(f64_from_bits(0x7FF4000000000001)) == 0x7FF4000000000001


def test_object_files_record_every_call_site() -> None:
    cm = compile_wat("""(module
      (func $a (param i32) (result i32) local.get 0 call $b call $b)
      (func $b (param i32) (result i32) local.get 0))""")
    obj, *shared_glue = module_objects(cm, LLVM.options)  # the functions, then llvm/glue.py's
    assert shared_glue
    info = read_object(obj)
    assert info.sizes[func_symbol(0)] > 0 and info.sizes[func_symbol(1)] > 0
    assert [pc for _, pc in info.call_sites[0]] == [1, 2]
    offsets = [off for off, _ in info.call_sites[0]]
    assert offsets == sorted(offsets) and 0 < offsets[0] < offsets[1] <= info.sizes["w_f0"]


@pytest.mark.parametrize("addr", [0, 65535 - 8, 65535 - 7, 65536 - 8, 65536 - 7, 65536,
                                  0xFFFFFFFF, 0xFFFFFFF8])  # fmt: skip
@pytest.mark.parametrize("offset", [0, 1, 8, 0xFFFFFFFF])
def test_bounds_at_the_edges_match_interp(addr: int, offset: int) -> None:
    text = f"""(module (memory 1 2)
      (func (export "ld") (param i32) (result i64) local.get 0 i64.load offset={offset})
      (func (export "st") (param i32) local.get 0 i32.const 7 i32.store8 offset={offset})
      (func (export "grow") (result i32) i32.const 1 memory.grow))"""
    ours, theirs = both(text)
    for name in ("ld", "st", "grow", "ld", "st"):
        args = () if name == "grow" else (addr,)
        assert outcome(ours, name, *args) == outcome(theirs, name, *args, backend=INTERP)


@pytest.mark.parametrize("addr", [65536 - 20 + k for k in range(0, 21, 2)] + [65535, 0xFFFFFFF0])
def test_merged_bounds_checks_trap_after_the_same_stores(addr: int) -> None:
    """Accesses from one address with several offsets: LLVM drops the checks an earlier
    wider one implies, but a trap still comes after exactly the stores before it."""
    text = """(module (memory 1 2)
      (func (export "f") (param $a i32) (result i32)
        (i32.store8 offset=3 (local.get $a) (i32.const 1))
        (i64.store offset=4 (local.get $a) (i64.const 0x0202020202020202))
        (i32.store offset=0 (local.get $a) (i32.const 0x03030303))
        (i32.add (i32.load offset=12 (local.get $a)) (i32.load16_u offset=2 (local.get $a))))
      (func (export "peek") (param i32) (result i64) local.get 0 i64.load)
      (func (export "grow") (result i32) i32.const 1 memory.grow))"""
    ours, theirs = both(text)
    for name in ("f", "grow", "f"):
        args = () if name == "grow" else (addr,)
        assert outcome(ours, name, *args) == outcome(theirs, name, *args, backend=INTERP)
        for at in range(65536 - 24, 65536, 8):
            assert outcome(ours, "peek", at) == outcome(theirs, "peek", at, backend=INTERP)
        for at in range(2 * 65536 - 24, 2 * 65536, 8):
            assert outcome(ours, "peek", at) == outcome(theirs, "peek", at, backend=INTERP)


def test_native_code_runs_without_the_gil() -> None:
    # xorshift: no closed form, so LLVM keeps the loop
    inst = new_instance("""(module (func (export "spin") (param i32) (result i32)
      (local i32) i32.const 1 local.set 1
      loop
        local.get 1 local.get 1 i32.const 13 i32.shl i32.xor local.set 1
        local.get 1 local.get 1 i32.const 17 i32.shr_u i32.xor local.set 1
        local.get 1 local.get 1 i32.const 5 i32.shl i32.xor local.set 1
        local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0
      end local.get 1))""")
    done = threading.Event()
    result: list[int] = []
    expected = call(inst, "spin", 1000)

    def work() -> None:
        result.append(call(inst, "spin", 300_000_000))
        done.set()

    t = threading.Thread(target=work)
    t.start()
    ticks = 0
    while not done.is_set():
        ticks += 1
    t.join()
    assert len(result) == 1 and expected != 0
    assert ticks > 100_000, "the main thread did not run while native code did"
