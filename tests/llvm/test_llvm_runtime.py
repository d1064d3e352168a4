"""The llvm tier's runtime behaviour: values across the Python/native boundary, traps
and their backtraces (compared with the interp tier), host functions and their
exceptions, re-entry, stack exhaustion, and the runtime objects it shares with Python.
"""

from __future__ import annotations

import math
import struct
import threading

import pytest
from llvm_helpers import INTERP, LLVM, both, call, compile_wat, host_func, new_instance, outcome

from nanoproc.internal.errors import WasmtimeError
from nanoproc.internal.exec.entities import GlobalInst
from nanoproc.internal.exec.store import StoreState
from nanoproc.internal.exec.trap import Trap, TrapCode
from nanoproc.internal.exec.values import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from nanoproc.internal.interp import HostError
from nanoproc.internal.llvm.backend import LLVMBackend
from nanoproc.internal.syntax.types import EXTERNREF, F32, F64, FUNCREF, I32, I64, FuncType

IDENTITIES = """
(module
  (func (export "i32") (param i32) (result i32) local.get 0)
  (func (export "i64") (param i64) (result i64) local.get 0)
  (func (export "f32") (param f32) (result f32) local.get 0)
  (func (export "f64") (param f64) (result f64) local.get 0)
  (func (export "f32bits") (param f32) (result i32) local.get 0 i32.reinterpret_f32)
  (func (export "f32from") (param i32) (result f32) local.get 0 f32.reinterpret_i32)
  (func (export "multi") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    local.get 3 local.get 2 local.get 1 local.get 0)
  (func (export "ext") (param externref) (result externref) local.get 0)
  (func (export "fref") (param funcref) (result funcref) local.get 0))
"""

F32_BITS = [0, 0x80000000, 0x3F800000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7FA00000,
            0xFFA00001, 0x7F800001, 0x00000001, 0x7F7FFFFF]  # fmt: skip
F64_BITS = [0, 0x8000000000000000, 0x7FF0000000000000, 0x7FF8000000000000,
            0x7FF4000000000001, 0xFFF0000000000001, 0x0000000000000001]  # fmt: skip


def test_values_cross_the_boundary_bit_for_bit() -> None:
    inst = new_instance(IDENTITIES)
    for v in (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF):
        assert call(inst, "i32", v) == v
    for v in (0, 1, 1 << 63, (1 << 64) - 1):
        assert call(inst, "i64", v) == v
    for bits in F32_BITS:
        x = f32_from_bits(bits)
        assert f32_to_bits(call(inst, "f32", x)) == bits
        assert call(inst, "f32bits", x) == bits
        assert f32_to_bits(call(inst, "f32from", bits)) == bits
    for bits in F64_BITS:
        assert f64_to_bits(call(inst, "f64", f64_from_bits(bits))) == bits


def test_multi_value_results() -> None:
    inst = new_instance(IDENTITIES)
    r = call(inst, "multi", 7, 1 << 40, 1.5, -2.25)
    assert r == (-2.25, 1.5, 1 << 40, 7)


def test_references_keep_their_identity() -> None:
    inst = new_instance(IDENTITIES)
    obj = object()
    assert call(inst, "ext", obj) is obj
    assert call(inst, "ext", None) is None
    f = inst.exports["i32"]
    assert call(inst, "fref", f) is f
    assert call(inst, "fref", None) is None


TRAPS = [
    "i32.const 1 i32.const 0 i32.div_s drop",
    "i32.const 1 i32.const 0 i32.rem_u drop",
    "i32.const 0x80000000 i32.const -1 i32.div_s drop",
    "i64.const 0x8000000000000000 i64.const -1 i64.div_s drop",
    "i32.const 0x80000000 i32.const -1 i32.rem_s drop",
    "i32.const 65533 i32.load drop",
    "i32.const -1 i32.load8_u offset=1 drop",
    "i32.const 65536 i64.const 0 i64.store",
    "f32.const nan i32.trunc_f32_s drop",
    "f64.const 2147483648 i32.trunc_f64_s drop",
    "f64.const -1 i64.trunc_f64_u drop",
    "unreachable",
    "i32.const 5 call_indirect (type 0)",
    "i32.const 1 call_indirect (type 0)",
    "i32.const 0 i32.const 0 call_indirect (type 1)",
    "i32.const 9 table.get 0 drop",
    "i32.const 0 ref.null func i32.const 9 table.fill 0",
    "i32.const 0 i32.const 1 i32.const 70000 memory.fill",
    "i32.const 0 i32.const 65000 i32.const 1000 memory.copy",
    "ref.null func ref.as_non_null drop",
    "ref.null 0 call_ref 0",
]


@pytest.mark.parametrize("body", TRAPS)
def test_traps_match_interp(body: str) -> None:
    text = f"""
      (module (type (func)) (type (func (param i32)))
        (memory 1) (table 2 funcref) (elem (i32.const 0) func $ok)
        (func $ok)
        (func $f (export "f") {body})
        (func (export "outer") nop call $f))
    """
    ours, theirs = both(text)
    for name in ("f", "outer"):
        got = outcome(ours, name)
        want = outcome(theirs, name, backend=INTERP)
        assert got == want, (name, got, want)


def test_backtrace_of_nested_calls() -> None:
    ours, theirs = both("""
      (module $m (type $v (func)) (table 1 funcref) (elem (i32.const 0) $c)
        (func $a (export "a") call $b)
        (func $b i32.const 0 call_indirect (type $v))
        (func $c nop nop (drop (i32.div_u (i32.const 1) (i32.const 0)))))
    """)
    got = outcome(ours, "a")
    assert got == outcome(theirs, "a", backend=INTERP)
    assert [f for f, _ in got[3]] == [2, 1, 0]


def test_backtrace_through_a_function_that_never_returns() -> None:
    # LLVM must not drop the call site of a call to a function that always traps.
    ours, theirs = both("""
      (module (func $boom unreachable)
        (func (export "f") nop call $boom))
    """)
    assert outcome(ours, "f") == outcome(theirs, "f", backend=INTERP)


# ---------------------------------------------------------------- host functions
def _host_module(params: str, results: str) -> str:
    return f"""
      (module (import "h" "f" (func $h (param {params}) (result {results})))
        (func (export "call") (param {params}) (result {results})
          {" ".join(f"local.get {i}" for i in range(len(params.split())))} call $h))
    """


@pytest.mark.parametrize("params, results, args", [
    ("i32 i64", "i64", (0xFFFFFFFF, 1 << 63)),
    ("f32 f64", "f64", (f32_from_bits(0x7FA00001), f64_from_bits(0x7FF4000000000001))),
    ("f32", "f32", (f32_from_bits(0xFFA00000),)),
    ("externref funcref", "externref", ("an object", None)),
    ("i32", "i32 i64 f32 f64", (5,)),
])  # fmt: skip
def test_host_function_values(params: str, results: str, args: tuple[object, ...]) -> None:
    seen = []
    ptypes = [{"i32": I32, "i64": I64, "f32": F32, "f64": F64, "externref": EXTERNREF,
               "funcref": FUNCREF}[p] for p in params.split()]  # fmt: skip
    rtypes = [{"i32": I32, "i64": I64, "f32": F32, "f64": F64,
               "externref": EXTERNREF}[p] for p in results.split()]  # fmt: skip

    def fn(*a: object) -> object:
        seen.append(a)
        if len(rtypes) > 1:
            return (7, 1 << 40, f32_from_bits(0x7FA00001), -0.0)
        if rtypes[0] is EXTERNREF:
            return a[0]
        if rtypes[0] is F32:
            return a[0]
        return a[-1]

    h = host_func(FuncType(tuple(ptypes), tuple(rtypes)), fn)
    inst = new_instance(_host_module(params, results), [h])
    r = call(inst, "call", *args)
    assert len(seen) == 1
    for got, want in zip(seen[0], args):
        if isinstance(want, float):
            assert struct.pack("<d", got) == struct.pack("<d", want)  # NaN payloads too
        else:
            assert got == want
    expected = fn(*args)
    if isinstance(expected, tuple):
        assert r[:2] == expected[:2] and f32_to_bits(r[2]) == 0x7FA00001
        assert math.copysign(1.0, r[3]) == -1.0
    elif isinstance(expected, float):
        assert struct.pack("<d", r) == struct.pack("<d", expected)
    else:
        assert r == expected


def test_host_function_gets_its_caller() -> None:
    callers = []
    h = host_func(FuncType((I32,), ()), lambda inst, x: callers.append((inst, x)),
                  needs_caller=True)  # fmt: skip
    inst = new_instance("""
      (module (type $t (func (param i32))) (import "h" "f" (func $h (type $t)))
        (table 1 funcref) (elem (i32.const 0) $h)
        (func (export "direct") i32.const 1 call $h)
        (func (export "indirect") i32.const 2 i32.const 0 call_indirect (type $t)))
    """, [h])
    call(inst, "direct")
    call(inst, "indirect")
    assert callers == [(inst, 1), (inst, 2)]


def test_host_exception_comes_back_with_the_wasm_trap() -> None:
    def boom() -> None:
        raise ValueError("from the host")

    text = """(module $m (import "h" "f" (func $h))
                 (func $inner call $h) (func (export "f") nop call $inner))"""
    cm = compile_wat(text)
    results = []
    for backend in (LLVM, INTERP):
        inst = new_instance(cm, [host_func(FuncType((), ()), boom)], backend=backend)
        with pytest.raises(ValueError, match="from the host") as info:
            call(inst, "f", backend=backend)
        trap = info.value.wasm_trap  # type: ignore[attr-defined]
        results.append((trap.message, [(f.func_index, f.module_offset) for f in trap.frames]))
    assert results[0] == results[1]
    assert [f for f, _ in results[0][1]] == [1, 2]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_base_exceptions_cross_native_code_unchanged(exc: type[BaseException]) -> None:
    def boom() -> None:
        raise exc()

    inst = new_instance('(module (import "h" "f" (func $h)) (func (export "f") call $h)'
                        ' (func (export "g") (result i32) i32.const 3))',
                        [host_func(FuncType((), ()), boom)])  # fmt: skip
    with pytest.raises(exc):
        call(inst, "f")
    assert call(inst, "g") == 3  # the store is usable afterwards
    with pytest.raises(exc):
        call(inst, "f")


def test_host_error_keeps_a_host_zero_division_apart_from_wasm_traps() -> None:
    inst = new_instance('(module (import "h" "f" (func $h)) (func (export "f") call $h))',
                        [host_func(FuncType((), ()), lambda: 1 // 0)])  # fmt: skip
    fi = inst.exports["f"]
    with pytest.raises(HostError):
        fi.call()
    with pytest.raises(ZeroDivisionError):
        call(inst, "f")


# ---------------------------------------------------------------- re-entry
REENTER = """
  (module (import "h" "back" (func $back (param i32) (result i32)))
    (func (export "down") (param i32) (result i32)
      local.get 0 i32.eqz
      if (result i32) i32.const 0
      else local.get 0 i32.const 1 i32.sub call $back i32.const 1 i32.add end)
    (func (export "trap_at") (param i32) (result i32)
      local.get 0 i32.eqz
      if (result i32) unreachable
      else local.get 0 i32.const 1 i32.sub call $back end))
"""


def test_reentry_native_python_native() -> None:
    holder: dict[str, object] = {}

    def back(n: int) -> int:
        return call(holder["inst"], holder["target"], n)  # type: ignore[arg-type]

    inst = new_instance(REENTER, [host_func(FuncType((I32,), (I32,)), back)])
    holder.update(inst=inst, target="down")
    assert call(inst, "down", 200) == 200
    holder["target"] = "trap_at"
    with pytest.raises(Trap) as info:
        call(inst, "trap_at", 5)
    assert info.value.trap_code is TrapCode.UNREACHABLE
    assert len(info.value.frames) == 6  # one Wasm frame per level


# ---------------------------------------------------------------- stack
def test_runaway_recursion_is_a_trap() -> None:
    inst = new_instance('(module (func $f (export "f") call $f))')
    with pytest.raises(Trap) as info:
        call(inst, "f")
    assert info.value.trap_code is TrapCode.STACK_OVERFLOW
    assert info.value.message == "call stack exhausted"
    assert len(info.value.frames) > 1000


def test_recursion_with_large_frames_is_a_trap() -> None:
    locals_ = " ".join(["i64"] * 3000)
    gets = " ".join(f"local.get {i} i64.add" for i in range(1, 3000))
    inst = new_instance(f"""
      (module (func $f (export "f") (param i64) (result i64) (local {locals_})
        local.get 0 {gets} call $f))
    """)
    with pytest.raises(Trap) as info:
        call(inst, "f", 1)
    assert info.value.trap_code is TrapCode.STACK_OVERFLOW


def test_deep_but_finite_recursion_runs() -> None:
    inst = new_instance("""
      (module (func $d (export "d") (param i32) (result i32)
        local.get 0 i32.eqz if (result i32) i32.const 0
        else local.get 0 i32.const 1 i32.sub call $d i32.const 1 i32.add end))
    """)
    assert call(inst, "d", 5000) == 5000


def test_max_wasm_stack_limits_depth() -> None:
    text = """(module (func $d (export "d") (param i32) (result i32)
        local.get 0 i32.eqz if (result i32) i32.const 0
        else local.get 0 i32.const 1 i32.sub call $d i32.const 1 i32.add end))"""
    small = LLVMBackend(max_wasm_stack=16 * 1024, opt_level=LLVM.opt_level)
    inst = new_instance(compile_wat(text), backend=small)
    assert call(inst, "d", 50, backend=small) == 50
    with pytest.raises(Trap) as info:
        call(inst, "d", 20000, backend=small)
    assert info.value.trap_code is TrapCode.STACK_OVERFLOW


def test_recursion_through_the_host_is_a_trap() -> None:
    holder: dict[str, object] = {}

    def back(n: int) -> int:
        return call(holder["inst"], "down", n + 1)  # type: ignore[arg-type]

    inst = new_instance(REENTER, [host_func(FuncType((I32,), (I32,)), back)])
    holder["inst"] = inst
    with pytest.raises(Trap) as info:
        call(inst, "down", 1)
    assert info.value.trap_code is TrapCode.STACK_OVERFLOW


def test_small_thread_stack_traps_instead_of_crashing() -> None:
    inst = new_instance('(module (func $f (export "f") call $f))')
    caught: list[BaseException] = []

    def run() -> None:
        try:
            call(inst, "f")
        except BaseException as e:
            caught.append(e)

    old = threading.stack_size(512 * 1024)
    try:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
    assert isinstance(caught[0], Trap) and caught[0].trap_code is TrapCode.STACK_OVERFLOW


def test_tail_calls_run_in_constant_stack() -> None:
    inst = new_instance("""
      (module (type $t (func (param i64 i32) (result i32)))
        (table 1 funcref) (elem (i32.const 0) $odd)
        (func $even (export "even") (param i64 i32) (result i32)
          local.get 0 i64.eqz if (result i32) local.get 1
          else local.get 0 i64.const 1 i64.sub local.get 1 i32.const 1 i32.add
               i32.const 0 return_call_indirect (type $t) end)
        (func $odd (param i64 i32) (result i32)
          local.get 0 i64.eqz if (result i32) local.get 1
          else local.get 0 i64.const 1 i64.sub local.get 1 return_call $even end))
    """)
    assert call(inst, "even", 1_000_000, 0) == 500_000


# ---------------------------------------------------------------- shared runtime objects
def test_memory_is_shared_with_python_and_grows_either_side() -> None:
    inst = new_instance("""
      (module (memory (export "m") 1 10)
        (func (export "load") (param i32) (result i32) local.get 0 i32.load)
        (func (export "size") (result i32) memory.size)
        (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))
    """)
    mem = inst.memories[0]
    mem.view[100:104] = (1234).to_bytes(4, "little")
    assert call(inst, "load", 100) == 1234
    with pytest.raises(Trap):
        call(inst, "load", 65536)
    assert mem.grow(1) == 1
    mem.view[65536:65540] = (99).to_bytes(4, "little")
    assert call(inst, "load", 65536) == 99 and call(inst, "size") == 2
    assert call(inst, "grow", 3) == 2 and mem.pages == 5
    assert call(inst, "grow", 100) == 0xFFFFFFFF


def test_memory64_and_multi_memory_bounds() -> None:
    ours, theirs = both("""
      (module (memory $a i64 1) (memory $b 2)
        (func (export "a") (param i64) (result i32) local.get 0 i32.load $a offset=4)
        (func (export "b") (param i32) (result i32) local.get 0 i32.load $b)
        (func (export "copy") (param i32 i64 i32) local.get 0 local.get 1 local.get 2
          memory.copy $b $a))
    """)
    cases = [("a", (0,)), ("a", (65532,)), ("a", (65531,)), ("a", ((1 << 64) - 4,)),
             ("a", ((1 << 64) - 1,)), ("b", (131068,)), ("b", (131069,)),
             ("copy", (0, 0, 65536)), ("copy", (100000, 0, 65536)),
             ("copy", (0, (1 << 64) - 1, 2))]  # fmt: skip
    for name, args in cases:
        assert outcome(ours, name, *args) == outcome(theirs, name, *args, backend=INTERP)


def test_tables_are_shared_with_python() -> None:
    inst = new_instance("""
      (module (type $t (func (result i32))) (table (export "t") 2 funcref)
        (func $one (result i32) i32.const 1) (func $two (result i32) i32.const 2)
        (elem declare func $one $two)
        (func (export "call") (param i32) (result i32) local.get 0 call_indirect (type $t))
        (func (export "set") (param i32) local.get 0 ref.func $two table.set 0)
        (func (export "size") (result i32) table.size 0)
        (func (export "one") (result funcref) ref.func $one))
    """)
    tab = inst.tables[0]
    tab.elems[0] = call(inst, "one")
    assert call(inst, "call", 0) == 1
    call(inst, "set", 1)
    assert tab.elems[1] is inst.funcs[1] and call(inst, "call", 1) == 2
    assert tab.grow(3, tab.elems[0]) == 2
    assert call(inst, "size") == 5 and call(inst, "call", 4) == 1
    tab.elems[4] = host_func(FuncType((), (I32,)), lambda: 42)
    assert call(inst, "call", 4) == 42


def test_globals_are_shared_between_instances_and_python() -> None:
    store = StoreState(None)
    a = new_instance("""(module (global (export "g") (mut i64) (i64.const 5))
        (func (export "inc") global.get 0 i64.const 1 i64.add global.set 0))""", store=store)
    g = a.exports["g"]
    assert isinstance(g, GlobalInst) and g.value == 5
    b = new_instance("""(module (import "a" "g" (global $g (mut i64)))
        (func (export "get") (result i64) global.get $g))""", [g], store=store)
    call(a, "inc")
    assert g.value == 6 and call(b, "get") == 6
    g.value = 1 << 63
    assert call(b, "get") == 1 << 63


def test_store_used_by_another_thread_in_turn() -> None:
    inst = new_instance('(module (func (export "f") (param i32) (result i32) local.get 0))')
    results = []
    t = threading.Thread(target=lambda: results.append(call(inst, "f", 7)))
    t.start()
    t.join()
    assert results == [7] and call(inst, "f", 8) == 8


def test_a_store_is_claimed_by_the_thread_that_made_it() -> None:
    # Its first call on that thread runs at once; the first on another thread exits
    # once to claim the store, then runs there.
    inst = new_instance('(module (func (export "f") (param i32) (result i32) local.get 0))')
    ns = inst.store.tier_state
    real = ns.on_exit
    exits: list[str] = []

    def on_exit(e: BaseException) -> BaseException | None:
        exits.append(type(e).__name__)
        return real(e)

    ns.on_exit = on_exit  # read by an entry when it is made (the first call)
    assert call(inst, "f", 1) == 1 and exits == []
    results = []
    t = threading.Thread(target=lambda: results.append(call(inst, "f", 2)))
    t.start()
    t.join()
    assert results == [2] and exits == ["ExitThread"]
    assert call(inst, "f", 3) == 3 and exits == ["ExitThread", "ExitThread"]


def test_store_running_on_one_thread_refuses_another() -> None:
    entered = threading.Event()
    release = threading.Event()

    def wait() -> None:
        entered.set()
        release.wait(10)

    inst = new_instance('(module (import "h" "w" (func $w)) (func (export "f") call $w)'
                        ' (func (export "g")))', [host_func(FuncType((), ()), wait)])  # fmt: skip
    t = threading.Thread(target=lambda: call(inst, "f"))
    t.start()
    try:
        assert entered.wait(10)
        with pytest.raises(WasmtimeError, match="two threads"):
            call(inst, "g")
    finally:
        release.set()
        t.join()
    call(inst, "g")
