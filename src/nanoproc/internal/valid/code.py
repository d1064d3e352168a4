"""Checking function bodies and constant expressions."""

from __future__ import annotations

from ..errors import ValidationError
from ..syntax.module import Expr, Func, Instr
from ..syntax.ops import BY_NAME, GLOBAL_GET, REF_FUNC, REF_NULL
from ..syntax.types import RefType, ValType
from .context import Context, Invalid
from .fused import ModuleTables, check_body
from .stack import Checker
from .subtyping import match_valtype

MAX_LOCALS = 50_000
"""Implementation limit on a function's locals (as in wasmtime); the spec allows a limit."""

CONST_OPS = frozenset(
    BY_NAME[n]
    for n in (
        "i32.const i64.const f32.const f64.const v128.const ref.null ref.func ref.i31 "
        "global.get i32.add i32.sub i32.mul i64.add i64.sub i64.mul struct.new "
        "struct.new_default array.new array.new_default array.new_fixed "
        "any.convert_extern extern.convert_any"
    ).split()
)
"""Instructions allowed in constant expressions (Wasm 3.0, with extended constants)."""


def defaultable(t: ValType) -> bool:
    """Whether a local of type ``t`` starts with a default value (non-null refs do not)."""
    return not isinstance(t, RefType) or t.nullable


def check_const(ctx: Context, expr: Expr, t: ValType, nglobals: int) -> None:
    """Check that ``expr`` is a constant expression of type ``t`` (canonical).

    Only the first ``nglobals`` globals are visible; ``global.get`` must read an
    immutable one. Raises Invalid.
    """
    for ins in expr:
        op = ins[0]
        if op not in CONST_OPS:
            raise Invalid("constant expression required")
        if op is GLOBAL_GET:
            x = ins[1]
            if isinstance(x, int) and 0 <= x < nglobals and ctx.globals[x][1]:
                raise Invalid("constant expression required")
    if len(expr) == 1:
        # The common single-instruction case, without setting up a checker.
        have = _single_const_type(ctx, expr[0])
        if have is not None:
            if not match_valtype(have, t):
                raise Invalid(f"type mismatch: constant expression has type {have}, expected {t}")
            return
    Checker(ctx, [], [], (t,), nglobals).run(expr)


def _single_const_type(ctx: Context, ins: Instr) -> ValType | None:
    """Type of a lone ``t.const``, ``ref.null`` or ``ref.func``; None for anything else."""
    op = ins[0]
    if op is REF_FUNC:
        x = ins[1]
        ctx.func(x)
        return RefType(False, ctx.func_type_ids[x])
    if op is REF_NULL:
        return RefType(True, ctx.heap(ins[1]))
    if op.rule is None and not op.params and len(op.results) == 1:
        return op.results[0]
    return None


def _locals(ctx: Context, index: int, func: Func) -> tuple[list[ValType], list[bool], bool]:
    """Canonical types of the parameters and locals, which are initialised at entry,
    and whether all are (no non-defaultable local). Raises ValidationError."""
    locals_: list[ValType] = list(ctx.funcs[index].params)
    ok = [True] * len(locals_)
    all_ok = True
    try:
        total = len(locals_)
        for count, t in func.locals:
            total += count
            if total > MAX_LOCALS:
                raise Invalid("too many locals")
            ct = ctx.val(t)
            locals_.extend([ct] * count)
            d = defaultable(ct)
            ok.extend([d] * count)
            all_ok = all_ok and d
    except Invalid as e:
        raise ValidationError(e.message, func=index) from None
    return locals_, ok, all_ok


def check_func_fused(fast: ModuleTables, index: int, func: Func) -> int | None:
    """The fused check alone (:mod:`.fused`): the instruction count if the body, not
    decoded yet, is certainly valid; None if only the full check can tell."""
    locals_, _, all_ok = _locals(fast.ctx, index, func)
    return _fused(fast, index, func, locals_) if all_ok else None


def _fused(fast: ModuleTables, index: int, func: Func, locals_: list[ValType]) -> int | None:
    if func.body is not None:
        return None
    raw = getattr(func.lazy, "raw", None)
    where = raw(func) if raw is not None else None
    if where is None:
        return None
    return check_body(fast, locals_, fast.funcs[index][2], *where)


def check_func(ctx: Context, index: int, func: Func, fast: ModuleTables | None = None) -> int:
    """Check the body of function ``index``; return its instruction count.

    With ``fast`` (the module's tables for :mod:`.fused`), a body not decoded yet is
    first checked straight from its bytes; it is decoded and checked in full only if
    that check is not sure (an error, or something it leaves to the full checker).
    Raises ValidationError (with the function index and the instruction's offset) or
    the decoder's DecodeError from lazy body decoding.
    """
    locals_, ok, all_ok = _locals(ctx, index, func)
    if fast is not None and all_ok:
        n = _fused(fast, index, func, locals_)
        if n is not None:
            return n
    ft = ctx.funcs[index]
    instrs = func.instrs
    try:
        Checker(ctx, locals_, ok, ft.results, len(ctx.globals)).run(instrs)
    except Invalid as e:
        offsets = func.offsets
        pos = e.pos
        offset = None
        if offsets is not None and pos is not None and 0 <= pos < len(offsets):
            offset = offsets[pos]
        raise ValidationError(e.message, func=index, offset=offset) from None
    return len(instrs)
