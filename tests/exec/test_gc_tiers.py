"""GC and typed references in every tier: what the spec suite leaves out.

Each test runs on every tier that executes GC code (through the runtime core, as
core_helpers drives a backend): the order in which operands and checks trap, reads
deferred past writes, packed storage, i31 wrapping, casts across modules, GC
constants in globals and segments, and the values the runtime core keeps.
"""

from __future__ import annotations

from typing import Any

import pytest

from core_helpers import call_on, compile_wat, instance_on
from nanoproc.internal.exec.gcref import I31, ArrayRef, HostAny, StructRef
from nanoproc.internal.exec.store import StoreState
from nanoproc.internal.exec.trap import Trap, TrapCode
from nanoproc.internal.interp import InterpBackend

BACKENDS: dict[str, Any] = {"interp": InterpBackend()}
try:
    from nanoproc.internal.llvm import LLVMBackend

    BACKENDS["llvm"] = LLVMBackend(opt_level=1)
except ImportError:  # pragma: no cover - llvmlite missing: the llvm tests skip elsewhere
    pass


@pytest.fixture(params=sorted(BACKENDS), name="tier")
def tier_fixture(request: pytest.FixtureRequest) -> Any:
    return BACKENDS[request.param]


def run(tier: Any, wat: str, name: str, *args: Any, store: StoreState | None = None) -> Any:
    inst = instance_on(tier, wat, store=store)
    return call_on(tier, inst, name, *args)


def trap_of(tier: Any, wat: str, name: str, *args: Any) -> TrapCode | None:
    with pytest.raises(Trap) as info:
        run(tier, wat, name, *args)
    return info.value.trap_code


ORDER = """(module
  (type $s (struct (field (mut i32))))
  (type $a (array (mut i32)))
  (func (export "struct.set") (param $s (ref null $s)) (param $d i32)
    (struct.set $s 0 (local.get $s) (i32.div_u (i32.const 1) (local.get $d))))
  (func (export "array.set") (param $d i32)
    (array.set $a (array.new_default $a (i32.const 1)) (i32.const 5)
                  (i32.div_u (i32.const 1) (local.get $d))))
  (func (export "array.set-null") (param $d i32)
    (array.set $a (ref.null $a) (i32.div_u (i32.const 1) (local.get $d)) (i32.const 0)))
  (func (export "struct.new") (param $d i32) (result i32)
    (struct.get $s 0 (struct.new $s (i32.div_u (i32.const 1) (local.get $d)))))
  (func (export "array.new") (param $n i32) (param $d i32) (result i32)
    (array.len (array.new $a (i32.div_u (i32.const 1) (local.get $d)) (local.get $n))))
)"""


def test_operands_trap_before_the_instruction_checks(tier: Any) -> None:
    # The value operand is evaluated (and traps) before the null or bounds check.
    assert trap_of(tier, ORDER, "struct.set", None, 0) is TrapCode.INTEGER_DIVISION_BY_ZERO
    assert trap_of(tier, ORDER, "struct.set", None, 1) is TrapCode.NULL_REFERENCE
    assert trap_of(tier, ORDER, "array.set", 0) is TrapCode.INTEGER_DIVISION_BY_ZERO
    assert trap_of(tier, ORDER, "array.set", 1) is TrapCode.ARRAY_OUT_OF_BOUNDS
    assert trap_of(tier, ORDER, "array.set-null", 0) is TrapCode.INTEGER_DIVISION_BY_ZERO
    assert trap_of(tier, ORDER, "array.set-null", 1) is TrapCode.NULL_REFERENCE
    assert trap_of(tier, ORDER, "struct.new", 0) is TrapCode.INTEGER_DIVISION_BY_ZERO
    assert run(tier, ORDER, "struct.new", 1) == 1
    assert trap_of(tier, ORDER, "array.new", 0x7FFF_FFFF, 0) is TrapCode.INTEGER_DIVISION_BY_ZERO
    assert trap_of(tier, ORDER, "array.new", 0x7FFF_FFFF, 1) is TrapCode.ALLOCATION_TOO_LARGE
    assert run(tier, ORDER, "array.new", 3, 1) == 3


READS = """(module
  (type $s (struct (field (mut i32))))
  (type $a (array (mut i64)))
  (global $g (mut (ref null $s)) (ref.null $s))
  (func $bump (struct.set $s 0 (global.get $g) (i32.add (struct.get $s 0 (global.get $g)) (i32.const 10))))
  (func (export "struct") (result i32)
    (local $s (ref $s))
    (local.set $s (struct.new $s (i32.const 1)))
    (global.set $g (local.get $s))
    ;; the read is on the stack when the set and the call change the field
    (struct.get $s 0 (local.get $s))
    (struct.set $s 0 (local.get $s) (i32.const 5))
    (struct.get $s 0 (local.get $s))
    (call $bump)
    (struct.get $s 0 (local.get $s))
    (i32.add) (i32.add))  ;; 1 + 5 + 15
  (func (export "array") (result i64)
    (local $a (ref $a))
    (local.set $a (array.new $a (i64.const 7) (i32.const 3)))
    (array.get $a (local.get $a) (i32.const 1))
    (array.set $a (local.get $a) (i32.const 1) (i64.const 100))
    (array.fill $a (local.get $a) (i32.const 0) (i64.const 1) (i32.const 3))
    (array.get $a (local.get $a) (i32.const 1))
    (i64.add))  ;; 7 + 1
)"""


def test_reads_are_not_deferred_past_writes(tier: Any) -> None:
    assert run(tier, READS, "struct") == 21
    assert run(tier, READS, "array") == 8


PACKED = """(module
  (type $s (struct (field (mut i8)) (field (mut i16))))
  (type $a (array (mut i8)))
  (func (export "s") (param i32) (result i32 i32 i32 i32)
    (local $x (ref $s))
    (local.set $x (struct.new $s (local.get 0) (local.get 0)))
    (struct.get_s $s 0 (local.get $x)) (struct.get_u $s 0 (local.get $x))
    (struct.get_s $s 1 (local.get $x)) (struct.get_u $s 1 (local.get $x)))
  (func (export "a") (param i32) (result i32 i32 i32)
    (local $x (ref $a))
    (local.set $x (array.new $a (local.get 0) (i32.const 2)))
    (array.set $a (local.get $x) (i32.const 1) (i32.add (local.get 0) (i32.const 1)))
    (array.get_s $a (local.get $x) (i32.const 0)) (array.get_u $a (local.get $x) (i32.const 0))
    (array.get_u $a (local.get $x) (i32.const 1)))
  (func (export "i31") (param i32) (result i32 i32)
    (i31.get_s (ref.i31 (local.get 0))) (i31.get_u (ref.i31 (local.get 0))))
)"""


def test_packed_storage_and_i31_wrap(tier: Any) -> None:
    assert run(tier, PACKED, "s", 0x1234_80FF) == (0xFFFF_FFFF, 0xFF, 0xFFFF_80FF, 0x80FF)
    assert run(tier, PACKED, "s", 0x7F) == (0x7F, 0x7F, 0x7F, 0x7F)
    assert run(tier, PACKED, "a", 0x180) == (0xFFFF_FF80, 0x80, 0x81)
    assert run(tier, PACKED, "a", 0xFF) == (0xFFFF_FFFF, 0xFF, 0x00)
    assert run(tier, PACKED, "i31", 0xC000_0001) == (0xC000_0001, 0x4000_0001)
    assert run(tier, PACKED, "i31", 0x3FFF_FFFF) == (0x3FFF_FFFF, 0x3FFF_FFFF)
    assert run(tier, PACKED, "i31", 0x8000_0000) == (0, 0)


FLOATS = """(module
  (type $s (struct (field (mut f32)) (field f64)))
  (type $a (array (mut f32)))
  (data $d "\\01\\00\\a0\\7f")
  (func (export "s") (param f32 f64) (result f32 f64)
    (local $x (ref $s))
    (local.set $x (struct.new $s (local.get 0) (local.get 1)))
    (struct.get $s 0 (local.get $x)) (struct.get $s 1 (local.get $x)))
  (func (export "nan") (result i32)
    (i32.reinterpret_f32 (array.get $a (array.new_data $a $d (i32.const 0) (i32.const 1))
                                       (i32.const 0))))
)"""


def test_float_fields_keep_their_bits(tier: Any) -> None:
    assert run(tier, FLOATS, "s", 1.5, -2.25) == (1.5, -2.25)
    assert run(tier, FLOATS, "nan") == 0x7FA0_0001  # a signalling NaN read from data


CAST_A = """(module
  (rec (type $t0 (sub (struct (field i32)))) (type $t1 (sub $t0 (struct (field i32) (field i64)))))
  (func (export "make0") (result anyref) (struct.new $t0 (i32.const 1)))
  (func (export "make1") (result anyref) (struct.new $t1 (i32.const 2) (i64.const 3)))
)"""

CAST_B = """(module
  (rec (type $t0 (sub (struct (field i32)))) (type $t1 (sub $t0 (struct (field i32) (field i64)))))
  (type $other (struct (field i32)))
  (func (export "is0") (param anyref) (result i32) (ref.test (ref $t0) (local.get 0)))
  (func (export "is1") (param anyref) (result i32) (ref.test (ref $t1) (local.get 0)))
  (func (export "isother") (param anyref) (result i32) (ref.test (ref $other) (local.get 0)))
  (func (export "get0") (param anyref) (result i32) (struct.get $t0 0 (ref.cast (ref $t0) (local.get 0))))
)"""


def test_casts_use_canonical_types_across_modules(tier: Any) -> None:
    store = StoreState(None)
    a = instance_on(tier, CAST_A, store=store)
    b = instance_on(tier, CAST_B, store=store)
    s0 = call_on(tier, a, "make0")
    s1 = call_on(tier, a, "make1")
    assert isinstance(s0, StructRef) and isinstance(s1, StructRef)
    assert [call_on(tier, b, f, s0) for f in ("is0", "is1", "isother")] == [1, 0, 0]
    assert [call_on(tier, b, f, s1) for f in ("is0", "is1", "isother")] == [1, 1, 0]
    assert call_on(tier, b, "get0", s1) == 2
    with pytest.raises(Trap) as info:
        call_on(tier, b, "get0", 5)  # an i31 is no struct
    assert info.value.trap_code is TrapCode.CAST_FAILURE


CONSTS = """(module
  (type $s (struct (field i32) (field (ref null $s))))
  (type $a (array (ref null $s)))
  (global $one (ref $s) (struct.new $s (i32.const 1) (ref.null $s)))
  (global $two (ref $s) (struct.new $s (i32.const 2) (global.get $one)))
  (global $arr (ref $a) (array.new_fixed $a 2 (global.get $two) (global.get $one)))
  (global $i (ref i31) (ref.i31 (i32.const -1)))
  (global $ext externref (extern.convert_any (global.get $i)))
  (global $back anyref (any.convert_extern (global.get $ext)))
  (table $t 3 (ref null $s) (struct.new $s (i32.const 2) (ref.null $s)))
  (elem $e (ref null $s) (item (struct.new_default $s)) (item (global.get $one)))
  (func (export "sum") (result i32)
    (i32.add (struct.get $s 0 (struct.get $s 1 (global.get $two)))
             (struct.get $s 0 (array.get $a (global.get $arr) (i32.const 0)))))
  (func (export "i") (result i32) (i31.get_s (ref.cast i31ref (global.get $back))))
  (func (export "ext") (result externref) (global.get $ext))
  (func (export "table") (result i32)
    (struct.get $s 0 (table.get $t (i32.const 2))))
  (func (export "elem") (result i32)
    (struct.get $s 0 (array.get $a (array.new_elem $a $e (i32.const 0) (i32.const 2)) (i32.const 0))))
)"""


def test_gc_constant_expressions(tier: Any) -> None:
    inst = instance_on(tier, CONSTS)
    assert call_on(tier, inst, "sum") == 3
    assert call_on(tier, inst, "i") == 0xFFFF_FFFF
    assert call_on(tier, inst, "ext") == I31(-1)
    assert call_on(tier, inst, "table") == 2
    assert call_on(tier, inst, "elem") == 0
    # each instance has its own objects
    other = instance_on(tier, CONSTS)
    assert inst.globals[0].value is not other.globals[0].value


CONVERT = """(module
  (type $s (struct))
  (func (export "in") (param externref) (result anyref) (any.convert_extern (local.get 0)))
  (func (export "out") (param anyref) (result externref) (extern.convert_any (local.get 0)))
  (func (export "round") (param externref) (result externref)
    (extern.convert_any (any.convert_extern (local.get 0))))
  (func (export "is_i31") (param externref) (result i32)
    (ref.test i31ref (any.convert_extern (local.get 0))))
  (func (export "struct") (result externref) (extern.convert_any (struct.new $s)))
  (func (export "is_struct") (param externref) (result i32)
    (ref.test (ref $s) (any.convert_extern (local.get 0))))
)"""


def test_extern_any_conversions(tier: Any) -> None:
    inst = instance_on(tier, CONVERT)
    host = object()
    internal = call_on(tier, inst, "in", host)
    assert isinstance(internal, HostAny) and internal.obj is host
    assert call_on(tier, inst, "out", internal) is host
    assert call_on(tier, inst, "round", host) is host
    assert call_on(tier, inst, "in", I31(7)) == 7  # an externalized i31 is an i31 again
    assert call_on(tier, inst, "out", 7) == I31(7)
    assert call_on(tier, inst, "is_i31", 7) == 0  # a host int is a host object
    assert call_on(tier, inst, "is_i31", I31(7)) == 1
    s = call_on(tier, inst, "struct")
    assert isinstance(s, StructRef)
    assert call_on(tier, inst, "is_struct", s) == 1
    assert call_on(tier, inst, "is_struct", host) == 0


NULLS = """(module
  (type $s (struct (field (mut i32))))
  (type $a (array (mut i32)))
  (func (export "struct.get") (result i32) (struct.get $s 0 (ref.null $s)))
  (func (export "struct.set") (struct.set $s 0 (ref.null $s) (i32.const 1)))
  (func (export "array.get") (result i32) (array.get $a (ref.null $a) (i32.const 0)))
  (func (export "array.len") (result i32) (array.len (ref.null $a)))
  (func (export "array.fill") (array.fill $a (ref.null $a) (i32.const 0) (i32.const 0) (i32.const 0)))
  (func (export "array.copy") (array.copy $a $a (ref.null $a) (i32.const 0)
                                 (array.new_default $a (i32.const 1)) (i32.const 0) (i32.const 0)))
  (func (export "i31.get_s") (result i32) (i31.get_s (ref.null i31)))
  (func (export "i31.get_u") (result i32) (i31.get_u (ref.null i31)))
  (func (export "ref.cast") (result anyref) (ref.cast (ref any) (ref.null any)))
)"""


@pytest.mark.parametrize("op", ["struct.get", "struct.set", "array.get", "array.len", "array.fill",
                                "array.copy", "i31.get_s", "i31.get_u"])
def test_null_references_trap(tier: Any, op: str) -> None:
    assert trap_of(tier, NULLS, op) is TrapCode.NULL_REFERENCE


COPY_ORDER = """(module (type $a (array (mut i64)))
  (func (export "f") (param $d i32)
    (array.copy $a $a (array.new_default $a (i32.const 2)) (local.get $d)
                      (ref.null $a) (i32.const 0) (i32.const 1))))"""


def test_array_copy_checks_both_nulls_before_bounds(tier: Any) -> None:
    """The spec's order (wasmtime checks the destination's bounds before the source's
    null: docs/api-differences.md; fuzz case gc:1207004174)."""
    assert trap_of(tier, COPY_ORDER, "f", 0) is TrapCode.NULL_REFERENCE
    assert trap_of(tier, COPY_ORDER, "f", 5) is TrapCode.NULL_REFERENCE


def test_failed_cast_of_null(tier: Any) -> None:
    assert trap_of(tier, NULLS, "ref.cast") is TrapCode.CAST_FAILURE


def test_arrays_are_array_refs(tier: Any) -> None:
    arr = run(tier, "(module (type $a (array i8)) (func (export \"f\") (result anyref)"
                    " (array.new_default $a (i32.const 3))))", "f")
    assert isinstance(arr, ArrayRef)


def test_compiled_module_instantiates_in_two_stores(tier: Any) -> None:
    cm = compile_wat(CONSTS)
    for _ in range(2):
        inst = instance_on(tier, cm)
        assert call_on(tier, inst, "sum") == 3


LONE_ACCESS = """(module
  (type $a (array (mut i32)))
  (global $g (ref $a) (array.new_default $a (i32.const 2)))
  (func (export "get") (param $i i32) (result i32) (array.get $a (global.get $g) (local.get $i)))
  (func (export "set") (param $i i32) (array.set $a (global.get $g) (local.get $i) (i32.const 7)))
)"""


def test_an_array_access_alone_in_its_function_traps_out_of_bounds(tier: Any) -> None:
    """Found by campaign 20261211 (gc:20261271793831): a function whose only GC
    instructions were array.get/array.set lacked the interp tier's helpers, so an
    index out of bounds raised NameError ('AOOB') instead of trapping."""
    assert trap_of(tier, LONE_ACCESS, "get", 2) is TrapCode.ARRAY_OUT_OF_BOUNDS
    assert trap_of(tier, LONE_ACCESS, "set", 5) is TrapCode.ARRAY_OUT_OF_BOUNDS
    inst = instance_on(tier, LONE_ACCESS)
    call_on(tier, inst, "set", 1)
    assert call_on(tier, inst, "get", 1) == 7
