"""Evaluation of constant expressions (global, table and segment initialisers).

Constant expressions are tiny and run once per instantiation, so a direct
evaluator is simpler and faster here than going through a tier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import UnsupportedFeature
from ..syntax.module import Expr
from .gcref import I31_MASK, externalize, internalize
from .gctypes import MAX_ARRAY_LENGTH, array_field, default_of, struct_fields
from .trap import Trap, TrapCode
from .values import MASK32, MASK64, f32_from_bits, f64_from_bits

if TYPE_CHECKING:
    from .instance import ModuleInstance


def _i32_add(a: int, b: int) -> int:
    return (a + b) & MASK32


def _i32_sub(a: int, b: int) -> int:
    return (a - b) & MASK32


def _i32_mul(a: int, b: int) -> int:
    return (a * b) & MASK32


def _i64_add(a: int, b: int) -> int:
    return (a + b) & MASK64


def _i64_sub(a: int, b: int) -> int:
    return (a - b) & MASK64


def _i64_mul(a: int, b: int) -> int:
    return (a * b) & MASK64


_BINARY = {
    "i32.add": _i32_add, "i32.sub": _i32_sub, "i32.mul": _i32_mul,
    "i64.add": _i64_add, "i64.sub": _i64_sub, "i64.mul": _i64_mul,
}  # fmt: skip


def eval_const(expr: Expr, inst: ModuleInstance) -> Any:
    """Value of a validated constant expression in the context of ``inst``."""
    stack: list[Any] = []
    push = stack.append
    for instr in expr:
        name = instr[0].name
        if name == "i32.const":
            push(instr[1] & MASK32)
        elif name == "i64.const":
            push(instr[1] & MASK64)
        elif name == "f32.const":
            push(f32_from_bits(instr[1]))
        elif name == "f64.const":
            push(f64_from_bits(instr[1]))
        elif name == "v128.const":
            push(int.from_bytes(instr[1], "little"))
        elif name == "global.get":
            push(inst.globals[instr[1]].value)
        elif name == "ref.null":
            push(None)
        elif name == "ref.func":
            push(inst.funcs[instr[1]])
        elif name in _BINARY:
            b = stack.pop()
            a = stack.pop()
            push(_BINARY[name](a, b))
        else:
            _gc_const(instr, name, stack, inst)
    return stack[-1]


def _gc_const(instr: Any, name: str, stack: list[Any], inst: ModuleInstance) -> None:
    """The GC instructions allowed in constant expressions (values made by the tier's
    heap, so they are the tier's own objects)."""
    push = stack.append
    if name == "ref.i31":
        push(stack.pop() & I31_MASK)
    elif name == "any.convert_extern":
        push(internalize(stack.pop()))
    elif name == "extern.convert_any":
        push(externalize(stack.pop()))
    elif name.startswith(("struct.", "array.")):
        cid = inst.module.canon(instr[1])
        heap = inst.store.gc_heap()
        if name == "struct.new":
            n = len(struct_fields(cid))
            vals = stack[len(stack) - n :] if n else []
            del stack[len(stack) - n :]
            push(heap.new_struct(cid, vals))
        elif name == "struct.new_default":
            push(heap.new_struct(cid, [default_of(f.storage) for f in struct_fields(cid)]))
        elif name == "array.new_fixed":
            n = instr[2]
            vals = stack[len(stack) - n :] if n else []
            del stack[len(stack) - n :]
            push(heap.new_array(cid, vals))
        elif name in ("array.new", "array.new_default"):
            n = stack.pop()
            v = stack.pop() if name == "array.new" else default_of(array_field(cid).storage)
            lengths = inst.__dict__.get("array_lengths")
            if lengths is not None:  # instantiation meters fuel (exec.initfuel)
                lengths.append(n)
            if n > MAX_ARRAY_LENGTH:
                raise Trap.of(TrapCode.ALLOCATION_TOO_LARGE)
            push(heap.new_array(cid, [v] * n))
        else:
            raise UnsupportedFeature(name, "in a constant expression")
    else:
        raise UnsupportedFeature(name, "in a constant expression")


NOT_CONSTANT = object()


def constant_of(expr: Expr) -> Any:
    """The value of a one-instruction expression that needs no instance (a constant
    or a null), else NOT_CONSTANT."""
    if len(expr) == 1 and expr[0][0].name in ("i32.const", "i64.const", "f32.const",
                                              "f64.const", "v128.const", "ref.null"):
        return eval_const(expr, None)  # type: ignore[arg-type]
    return NOT_CONSTANT


def func_index_of(expr: Expr) -> int | None:
    """``i`` for the expression ``ref.func i``, else None."""
    if len(expr) == 1 and expr[0][0].name == "ref.func":
        return expr[0][1]  # type: ignore[no-any-return]
    return None


def compile_const(expr: Expr) -> Callable[[ModuleInstance], Any]:
    """A function computing ``expr`` for an instance, specialised for the common
    single-instruction forms so instantiation does no interpretation for them."""
    value = constant_of(expr)
    if value is not NOT_CONSTANT:
        return lambda inst: value
    idx = func_index_of(expr)
    if idx is not None:
        return lambda inst: inst.funcs[idx]
    if len(expr) == 1 and expr[0][0].name == "global.get":
        gidx = expr[0][1]
        return lambda inst: inst.globals[gidx].value
    return lambda inst: eval_const(expr, inst)
