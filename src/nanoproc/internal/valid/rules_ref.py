"""Typing rules: references, casts and the GC instructions (structs, arrays, i31, extern)."""

from __future__ import annotations

from typing import Any

from ..syntax.module import Instr
from ..syntax.types import I32, ArrayType, NumType, PackedType, RefType, StorageType, unpacked
from .context import Invalid
from .stack import Checker, rule
from .subtyping import diff_reftype, match_storage, match_valtype, top_heap


# ---------------------------------------------------------------- references
@rule("ref.null")
def _ref_null(v: Checker, ins: Instr) -> None:
    v.push(RefType(True, v.ctx.heap(ins[1])))


@rule("ref.is_null")
def _ref_is_null(v: Checker, ins: Instr) -> None:
    v.pop_ref()
    v.push(I32)


@rule("ref.as_non_null")
def _ref_as_non_null(v: Checker, ins: Instr) -> None:
    v.push(RefType(False, v.pop_ref().heap))


@rule("ref.func")
def _ref_func(v: Checker, ins: Instr) -> None:
    x = ins[1]
    v.ctx.func(x)
    if x not in v.ctx.refs:
        raise Invalid(f"undeclared function reference {x}")
    v.push(RefType(False, v.ctx.func_type_ids[x]))


@rule("br_on_null")
def _br_on_null(v: Checker, ins: Instr) -> None:
    labels = v.label(ins[1])
    rt = v.pop_ref()
    v.pop_vals(labels)
    v.push_vals(labels)
    v.push(RefType(False, rt.heap))


@rule("br_on_non_null")
def _br_on_non_null(v: Checker, ins: Instr) -> None:
    labels = v.label(ins[1])
    if not labels or type(labels[-1]) is not RefType:
        raise Invalid("type mismatch: br_on_non_null's label must end in a reference type")
    rt = v.pop_ref()
    if not match_valtype(RefType(False, rt.heap), labels[-1]):
        raise v.mismatch([labels[-1]], [rt])
    rest = labels[:-1]
    v.pop_vals(rest)
    v.push_vals(rest)


def _top_of(rt: RefType) -> RefType:
    """``(ref null top)`` of ``rt``'s hierarchy: the operand a cast or test accepts."""
    return RefType(True, top_heap(rt.heap))


@rule("ref.test")
def _ref_test(v: Checker, ins: Instr) -> None:
    rt = v.ctx.ref(ins[1])
    v.pop(_top_of(rt))
    v.push(I32)


@rule("ref.cast")
def _ref_cast(v: Checker, ins: Instr) -> None:
    rt = v.ctx.ref(ins[1])
    v.pop(_top_of(rt))
    v.push(rt)


def _br_on_cast(v: Checker, ins: Instr, on_fail: bool) -> None:
    label, rt1_, rt2_ = ins[1]
    rt1 = v.ctx.ref(rt1_)
    rt2 = v.ctx.ref(rt2_)
    labels = v.label(label)
    if not match_valtype(rt2, rt1):
        raise Invalid("type mismatch: br_on_cast's target type must match its source type")
    if not labels or type(labels[-1]) is not RefType:
        raise Invalid("type mismatch: br_on_cast's label must end in a reference type")
    branch, fall = (diff_reftype(rt1, rt2), rt2) if on_fail else (rt2, diff_reftype(rt1, rt2))
    if not match_valtype(branch, labels[-1]):
        raise v.mismatch([labels[-1]], [branch])
    v.pop(rt1)
    rest = labels[:-1]
    v.pop_vals(rest)
    v.push_vals(rest)
    v.push(fall)


@rule("br_on_cast")
def _br_on_cast_ok(v: Checker, ins: Instr) -> None:
    _br_on_cast(v, ins, False)


@rule("br_on_cast_fail")
def _br_on_cast_fail(v: Checker, ins: Instr) -> None:
    _br_on_cast(v, ins, True)


@rule("any.convert_extern")
def _any_convert_extern(v: Checker, ins: Instr) -> None:
    rt = v.pop(RefType(True, "extern"))
    v.push(RefType(getattr(rt, "nullable", False), "any"))


@rule("extern.convert_any")
def _extern_convert_any(v: Checker, ins: Instr) -> None:
    rt = v.pop(RefType(True, "any"))
    v.push(RefType(getattr(rt, "nullable", False), "extern"))


# ---------------------------------------------------------------- structs
def _field(v: Checker, x: int, i: Any) -> tuple[StorageType, bool]:
    st = v.ctx.structtype(x)
    if not (isinstance(i, int) and 0 <= i < len(st.fields)):
        raise Invalid(f"unknown field {i}")
    f = st.fields[i]
    return f.storage, f.mutable


def _defaultable(t: StorageType) -> bool:
    return not isinstance(t, RefType) or t.nullable


@rule("struct.new")
def _struct_new(v: Checker, ins: Instr) -> None:
    x = ins[1]
    st = v.ctx.structtype(x)
    v.pop_vals([unpacked(f.storage) for f in st.fields])
    v.push(RefType(False, v.ctx.type_ids[x]))


@rule("struct.new_default")
def _struct_new_default(v: Checker, ins: Instr) -> None:
    x = ins[1]
    st = v.ctx.structtype(x)
    if not all(_defaultable(f.storage) for f in st.fields):
        raise Invalid("type mismatch: struct.new_default needs defaultable fields")
    v.push(RefType(False, v.ctx.type_ids[x]))


@rule("struct.get", "struct.get_s", "struct.get_u")
def _struct_get(v: Checker, ins: Instr) -> None:
    x = ins[1]
    storage, _ = _field(v, x, ins[2])
    if (ins[0].name == "struct.get") == isinstance(storage, PackedType):
        raise Invalid(f"type mismatch: {ins[0].name} on a {storage} field")
    v.pop(RefType(True, v.ctx.type_ids[x]))
    v.push(unpacked(storage))


@rule("struct.set")
def _struct_set(v: Checker, ins: Instr) -> None:
    x = ins[1]
    storage, mutable = _field(v, x, ins[2])
    if not mutable:
        raise Invalid("immutable field")
    v.pop_vals((RefType(True, v.ctx.type_ids[x]), unpacked(storage)))


# ---------------------------------------------------------------- arrays
def _array(v: Checker, x: int, mutable: bool = False) -> tuple[ArrayType, RefType]:
    at = v.ctx.arraytype(x)
    if mutable and not at.field.mutable:
        raise Invalid("immutable array")
    return at, RefType(True, v.ctx.type_ids[x])


def _numeric(at: ArrayType) -> None:
    if not isinstance(at.field.storage, (NumType, PackedType)):
        raise Invalid("array type is not numeric or vector")


def _elem_fits(v: Checker, y: int, at: ArrayType) -> None:
    if not match_storage(v.ctx.elem(y), at.field.storage):
        raise Invalid("type mismatch: element segment does not match the array's element type")


@rule("array.new")
def _array_new(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1])
    v.pop_vals((unpacked(at.field.storage), I32))
    v.push(RefType(False, ref.heap))


@rule("array.new_default")
def _array_new_default(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1])
    if not _defaultable(at.field.storage):
        raise Invalid("type mismatch: array.new_default needs a defaultable element type")
    v.pop(I32)
    v.push(RefType(False, ref.heap))


@rule("array.new_fixed")
def _array_new_fixed(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1])
    v.pop_n(unpacked(at.field.storage), ins[2])
    v.push(RefType(False, ref.heap))


@rule("array.new_data")
def _array_new_data(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1])
    _numeric(at)
    v.ctx.data(ins[2])
    v.pop_vals((I32, I32))
    v.push(RefType(False, ref.heap))


@rule("array.new_elem")
def _array_new_elem(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1])
    _elem_fits(v, ins[2], at)
    v.pop_vals((I32, I32))
    v.push(RefType(False, ref.heap))


@rule("array.get", "array.get_s", "array.get_u")
def _array_get(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1])
    storage = at.field.storage
    if (ins[0].name == "array.get") == isinstance(storage, PackedType):
        raise Invalid(f"type mismatch: {ins[0].name} on an array of {storage}")
    v.pop_vals((ref, I32))
    v.push(unpacked(storage))


@rule("array.set")
def _array_set(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1], mutable=True)
    v.pop_vals((ref, I32, unpacked(at.field.storage)))


@rule("array.fill")
def _array_fill(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1], mutable=True)
    v.pop_vals((ref, I32, unpacked(at.field.storage), I32))


@rule("array.copy")
def _array_copy(v: Checker, ins: Instr) -> None:
    dst, dref = _array(v, ins[1], mutable=True)
    src, sref = _array(v, ins[2])
    if not match_storage(src.field.storage, dst.field.storage):
        raise Invalid("array types do not match")
    v.pop_vals((dref, I32, sref, I32, I32))


@rule("array.init_data")
def _array_init_data(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1], mutable=True)
    _numeric(at)
    v.ctx.data(ins[2])
    v.pop_vals((ref, I32, I32, I32))


@rule("array.init_elem")
def _array_init_elem(v: Checker, ins: Instr) -> None:
    at, ref = _array(v, ins[1], mutable=True)
    _elem_fits(v, ins[2], at)
    v.pop_vals((ref, I32, I32, I32))
