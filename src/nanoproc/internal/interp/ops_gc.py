"""GC instructions: structs, arrays, i31, casts and the extern/any conversions.

Objects are those of :mod:`.gcobjects` (one class per canonical type, named
``SC<cid>``/``AC<cid>`` in the code's globals). Accesses are inline attribute reads
and writes: a null reference raises AttributeError or TypeError inside generated
code, which :mod:`.frames` turns into the null-reference trap, the way other traps
are left to Python's own checks. Array bounds are checked inline (IndexError would
read as a memory trap); bulk operations and allocations of a computed length call
the helpers below.
"""

from __future__ import annotations

import re
from typing import Any

from ..exec.fuelrules import known_operand
from ..exec.gcref import I31_MASK, ArrayRef, StructRef, externalize, internalize
from ..exec.gctypes import MAX_ARRAY_LENGTH, array_field, default_of, is_final, struct_fields
from ..exec.trap import Trap, TrapCode
from ..exec.values import f32_from_bits, f64_from_bits
from ..syntax.module import Instr
from ..syntax.types import F32, F64, I32, I64, V128, PackedType, RefType, StorageType
from ..valid import canon_kind, is_subtype_canon
from .control import CONTROL, ControlFlow
from .exprs import Val, combine
from .gcobjects import array_class, new, struct_class
from .translate import MASK, Translator, register

# ---------------------------------------------------------------- helpers (run time)


def array_oob() -> Any:
    raise Trap.of(TrapCode.ARRAY_OUT_OF_BOUNDS)


def cast_failure() -> Any:
    raise Trap.of(TrapCode.CAST_FAILURE)


def _null() -> Any:
    raise Trap.of(TrapCode.NULL_REFERENCE)


def _length(n: int) -> int:
    if n > MAX_ARRAY_LENGTH:
        raise Trap.of(TrapCode.ALLOCATION_TOO_LARGE)
    return n


def array_new(cls: Any, v: Any, n: int) -> Any:
    obj = new(cls)
    obj.a = [v] * _length(n)
    return obj


def _decode(cid: int, data: bytes) -> list[Any]:
    """Elements of a numeric array from their little-endian bytes."""
    st = array_field(cid).storage
    if isinstance(st, PackedType):
        if st.bits == 8:
            return list(data)
        return [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]
    size = 4 if st in (I32, F32) else 16 if st is V128 else 8
    ints = [int.from_bytes(data[i : i + size], "little") for i in range(0, len(data), size)]
    if st is F32:
        return [f32_from_bits(b) for b in ints]
    if st is F64:
        return [f64_from_bits(b) for b in ints]
    return ints


def _elem_size(cls: Any) -> int:
    st = array_field(cls.cid).storage
    if isinstance(st, PackedType):
        return st.bits // 8
    return 4 if st in (I32, F32) else 16 if st is V128 else 8


def array_new_data(cls: Any, inst: Any, seg: int, s: int, n: int) -> Any:
    size = _elem_size(cls)
    data = inst.datas[seg]
    if s + n * size > len(data):
        raise Trap.of(TrapCode.MEMORY_OUT_OF_BOUNDS)
    obj = new(cls)
    obj.a = _decode(cls.cid, data[s : s + _length(n) * size])
    return obj


def array_new_elem(cls: Any, inst: Any, seg: int, s: int, n: int) -> Any:
    refs = inst.elems[seg]
    if s + n > len(refs):
        raise Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)
    obj = new(cls)
    obj.a = refs[s : s + _length(n)]
    return obj


def array_fill(arr: Any, d: int, v: Any, n: int) -> None:
    if arr is None:
        _null()
    a = arr.a
    if d + n > len(a):
        raise Trap.of(TrapCode.ARRAY_OUT_OF_BOUNDS)
    if n:
        a[d : d + n] = [v] * n


def array_copy(dst: Any, d: int, src: Any, s: int, n: int) -> None:
    if dst is None or src is None:
        _null()
    da = dst.a
    sa = src.a
    if d + n > len(da) or s + n > len(sa):
        raise Trap.of(TrapCode.ARRAY_OUT_OF_BOUNDS)
    if n:
        da[d : d + n] = sa[s : s + n]


def array_init_data(arr: Any, inst: Any, seg: int, d: int, s: int, n: int) -> None:
    if arr is None:
        _null()
    a = arr.a
    size = _elem_size(arr.__class__)
    data = inst.datas[seg]
    if d + n > len(a):
        raise Trap.of(TrapCode.ARRAY_OUT_OF_BOUNDS)
    if s + n * size > len(data):
        raise Trap.of(TrapCode.MEMORY_OUT_OF_BOUNDS)
    if n:
        a[d : d + n] = _decode(arr.cid, data[s : s + n * size])


def array_init_elem(arr: Any, inst: Any, seg: int, d: int, s: int, n: int) -> None:
    if arr is None:
        _null()
    a = arr.a
    refs = inst.elems[seg]
    if d + n > len(a):
        raise Trap.of(TrapCode.ARRAY_OUT_OF_BOUNDS)
    if s + n > len(refs):
        raise Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)
    if n:
        a[d : d + n] = refs[s : s + n]


def func_isa(fi: Any, cid: int) -> bool:
    c = fi.canon
    return bool(c == cid or (isinstance(c, int) and is_subtype_canon(c, cid)))


GC_HELPERS: dict[str, Any] = {
    "AOOB": array_oob,
    "CASTFAIL": cast_failure,
    "ANEW": array_new,
    "ANEWD": array_new_data,
    "ANEWE": array_new_elem,
    "AFILL": array_fill,
    "ACOPY": array_copy,
    "AINITD": array_init_data,
    "AINITE": array_init_elem,
    "FUNCISA": func_isa,
    "INTERN": internalize,
    "EXTERN": externalize,
    "NEW": new,
    "STRUCTREF": StructRef,
    "ARRAYREF": ArrayRef,
    "GCOBJ": (StructRef, ArrayRef),
}
"""Globals the generated GC code uses (added to each function's constants)."""


# ---------------------------------------------------------------- translation helpers


def _use(tr: Translator) -> None:
    tr.consts.update(GC_HELPERS)


def _struct_cls(tr: Translator, typeidx: int) -> tuple[int, str]:
    cid = tr.art.canon(typeidx)
    name = f"SC{cid}"
    tr.consts[name] = struct_class(cid)
    _use(tr)
    return cid, name


def _array_cls(tr: Translator, typeidx: int) -> tuple[int, str]:
    cid = tr.art.canon(typeidx)
    name = f"AC{cid}"
    tr.consts[name] = array_class(cid)
    _use(tr)
    return cid, name


def _stored(tr: Translator, v: Val, st: StorageType) -> str:
    """Code of ``v`` as a field of storage type ``st`` holds it."""
    if isinstance(st, PackedType):
        return f"({v.code} & {(1 << st.bits) - 1})"
    if v.width:
        return tr.exact(v).code
    return v.code


def _default_code(st: StorageType) -> str:
    d = default_of(st)
    return repr(d)


def _width(st: StorageType) -> int:
    if st is I64:
        return 64
    if st is I32 or isinstance(st, PackedType):
        return 32
    return 0


def _loaded(code: str, st: StorageType, signed: bool, *parts: Val) -> Val:
    """The entry for a field read ``code`` (a packed one extended to i32)."""
    if isinstance(st, PackedType):
        bits = st.bits
        if signed:
            sign = 1 << (bits - 1)
            code = f"((({code}) ^ {sign}) - {sign}) & {MASK[32]}"
            v = combine(f"({code})", *parts, width=32, bits=32)
        else:
            v = combine(code, *parts, width=32, bits=bits)
    else:
        w = _width(st)
        v = combine(code, *parts, width=w, bits=w or 64)
    return v


def _trapping(tr: Translator, v: Val) -> Val:
    """Mark ``v`` as a read of mutable state that may trap (null, bounds) here."""
    v.state = True
    if not v.trap:
        v.trap = True
        v.pc = tr.out.pc
    return v


def _in_order(tr: Translator, vals: list[Val]) -> list[Val]:
    """Operands made safe for code that checks before it evaluates them all: each
    operand that may trap is evaluated now, in order, and each is simple (named twice)."""
    return [tr.materialize(v) if v.trap else tr.simple(v) for v in vals]


# ---------------------------------------------------------------- structs
@register("struct.new")
def _struct_new(tr: Translator, ins: Instr) -> None:
    cid, cls = _struct_cls(tr, ins[1])
    fields = struct_fields(cid)
    vals = tr.popn(len(fields))
    tr.flush(traps=True)
    vals = [tr.materialize(v) if v.trap else v for v in vals]
    codes = [_stored(tr, v, f.storage) for v, f in zip(vals, fields)]
    obj = tr.result(f"NEW({cls})", traps=False, effects=False)
    for i, c in enumerate(codes):
        tr.out.emit(f"{obj.code}.f{i} = {c}")
    tr.push(obj)


@register("struct.new_default")
def _struct_new_default(tr: Translator, ins: Instr) -> None:
    cid, cls = _struct_cls(tr, ins[1])
    obj = tr.result(f"NEW({cls})", traps=False, effects=False)
    for i, f in enumerate(struct_fields(cid)):
        tr.out.emit(f"{obj.code}.f{i} = {_default_code(f.storage)}")
    tr.push(obj)


def _struct_get(tr: Translator, ins: Instr, signed: bool) -> None:
    cid = tr.art.canon(ins[1])
    i = ins[2]
    st = struct_fields(cid)[i].storage
    ref = tr.pop()
    tr.push(_trapping(tr, _loaded(f"{ref.code}.f{i}", st, signed, ref)))


@register("struct.get")
def _struct_get_plain(tr: Translator, ins: Instr) -> None:
    _struct_get(tr, ins, False)


@register("struct.get_s")
def _struct_get_s(tr: Translator, ins: Instr) -> None:
    _struct_get(tr, ins, True)


@register("struct.get_u")
def _struct_get_u(tr: Translator, ins: Instr) -> None:
    _struct_get(tr, ins, False)


@register("struct.set")
def _struct_set(tr: Translator, ins: Instr) -> None:
    cid = tr.art.canon(ins[1])
    i = ins[2]
    st = struct_fields(cid)[i].storage
    v = tr.pop()
    ref = tr.pop()
    tr.flush(traps=True, effects=True)
    # Python evaluates the value before the target: the reference goes first.
    ref = tr.simple(ref)
    tr.stmt(f"{ref.code}.f{i} = {_stored(tr, v, st)}", operands=[ref, v])


# ---------------------------------------------------------------- arrays
def _length_operand(tr: Translator) -> tuple[Val, int | None]:
    """Pop the length operand of an array operation (it costs fuel: docs/fuel.md)."""
    known = known_operand(tr.art.module, tr.body, tr.out.pc)
    n = tr.exact(tr.pop())
    return (tr.simple(n) if tr.fuel else n), known


@register("array.new")
def _array_new(tr: Translator, ins: Instr) -> None:
    cid, cls = _array_cls(tr, ins[1])
    st = array_field(cid).storage
    n, known = _length_operand(tr)
    v = tr.pop()
    # An allocation writes no state (structure.EFFECTS omits it): pending reads stay
    # pending, or one arm of an if would evaluate them on its path only.
    r = tr.result(f"ANEW({cls}, {_stored(tr, v, st)}, {n.code})", effects=False)
    tr.charge_length(n, known)
    tr.push(r)


@register("array.new_default")
def _array_new_default(tr: Translator, ins: Instr) -> None:
    cid, cls = _array_cls(tr, ins[1])
    st = array_field(cid).storage
    n, known = _length_operand(tr)
    r = tr.result(f"ANEW({cls}, {_default_code(st)}, {n.code})", effects=False)
    tr.charge_length(n, known)
    tr.push(r)


@register("array.new_fixed")
def _array_new_fixed(tr: Translator, ins: Instr) -> None:
    cid, cls = _array_cls(tr, ins[1])
    st = array_field(cid).storage
    vals = tr.popn(ins[2])
    tr.flush(traps=True)
    vals = [tr.materialize(v) if v.trap else v for v in vals]
    codes = [_stored(tr, v, st) for v in vals]
    obj = tr.result(f"NEW({cls})", traps=False, effects=False)
    tr.out.emit(f"{obj.code}.a = [{', '.join(codes)}]")
    tr.push(obj)


@register("array.new_data")
def _array_new_data(tr: Translator, ins: Instr) -> None:
    _, cls = _array_cls(tr, ins[1])
    n, known = _length_operand(tr)
    s = tr.exact(tr.pop())
    r = tr.result(f"ANEWD({cls}, INST, {ins[2]}, {s.code}, {n.code})", effects=False)
    tr.charge_length(n, known)
    tr.push(r)


@register("array.new_elem")
def _array_new_elem(tr: Translator, ins: Instr) -> None:
    _, cls = _array_cls(tr, ins[1])
    n, known = _length_operand(tr)
    s = tr.exact(tr.pop())
    r = tr.result(f"ANEWE({cls}, INST, {ins[2]}, {s.code}, {n.code})", effects=False)
    tr.charge_length(n, known)
    tr.push(r)


def _elems(tr: Translator, ref: Val) -> str:
    """A temporary holding ``ref``'s element list (the null check happens here)."""
    t = tr.temp()
    tr.out.emit(f"{t} = {ref.code}.a")
    return t


def _array_get(tr: Translator, ins: Instr, signed: bool) -> None:
    cid = tr.art.canon(ins[1])
    st = array_field(cid).storage
    i = tr.exact(tr.pop())
    ref = tr.pop()
    tr.flush(traps=True)
    ref, i = _in_order(tr, [ref, i])
    a = _elems(tr, ref)
    _use(tr)
    code = f"({a}[{i.code}] if {i.code} < len({a}) else AOOB())"
    tr.push(_trapping(tr, _loaded(code, st, signed, i)))


@register("array.get")
def _array_get_plain(tr: Translator, ins: Instr) -> None:
    _array_get(tr, ins, False)


@register("array.get_s")
def _array_get_s(tr: Translator, ins: Instr) -> None:
    _array_get(tr, ins, True)


@register("array.get_u")
def _array_get_u(tr: Translator, ins: Instr) -> None:
    _array_get(tr, ins, False)


@register("array.set")
def _array_set(tr: Translator, ins: Instr) -> None:
    cid = tr.art.canon(ins[1])
    st = array_field(cid).storage
    v = tr.pop()
    i = tr.exact(tr.pop())
    ref = tr.pop()
    tr.flush(traps=True, effects=True)
    ref, i, v = _in_order(tr, [ref, i, v])
    a = _elems(tr, ref)
    _use(tr)
    tr.out.emit(f"if {i.code} >= len({a}): AOOB()")
    tr.out.emit(f"{a}[{i.code}] = {_stored(tr, v, st)}")


@register("array.len")
def _array_len(tr: Translator, ins: Instr) -> None:
    ref = tr.pop()
    v = combine(f"len({ref.code}.a)", ref, width=32, bits=32)
    if not v.trap:
        v.trap = True
        v.pc = tr.out.pc
    tr.push(v)


@register("array.fill")
def _array_fill(tr: Translator, ins: Instr) -> None:
    cid = tr.art.canon(ins[1])
    _use(tr)
    st = array_field(cid).storage
    n, known = _length_operand(tr)
    v = tr.pop()
    d = tr.exact(tr.pop())
    ref = tr.pop()
    tr.stmt(f"AFILL({ref.code}, {d.code}, {_stored(tr, v, st)}, {n.code})",
            operands=[ref, d, v, n])
    tr.charge_length(n, known)


@register("array.copy")
def _array_copy(tr: Translator, ins: Instr) -> None:
    _use(tr)
    n, known = _length_operand(tr)
    s = tr.exact(tr.pop())
    src = tr.pop()
    d = tr.exact(tr.pop())
    dst = tr.pop()
    tr.stmt(f"ACOPY({dst.code}, {d.code}, {src.code}, {s.code}, {n.code})",
            operands=[dst, d, src, s, n])
    tr.charge_length(n, known)


@register("array.init_data")
def _array_init_data(tr: Translator, ins: Instr) -> None:
    _use(tr)
    n, known = _length_operand(tr)
    s = tr.exact(tr.pop())
    d = tr.exact(tr.pop())
    ref = tr.pop()
    tr.stmt(f"AINITD({ref.code}, INST, {ins[2]}, {d.code}, {s.code}, {n.code})",
            operands=[ref, d, s, n])
    tr.charge_length(n, known)


@register("array.init_elem")
def _array_init_elem(tr: Translator, ins: Instr) -> None:
    _use(tr)
    n, known = _length_operand(tr)
    s = tr.exact(tr.pop())
    d = tr.exact(tr.pop())
    ref = tr.pop()
    tr.stmt(f"AINITE({ref.code}, INST, {ins[2]}, {d.code}, {s.code}, {n.code})",
            operands=[ref, d, s, n])
    tr.charge_length(n, known)


# ---------------------------------------------------------------- i31 and conversions
_LITERAL = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")
_OPERATORS = frozenset("()+-*&|^~<> ")


def _literal_expr(code: str) -> bool:
    """Whether ``code`` is made of integer literals and operators only (no names), so
    CPython folds it into one constant. Linear time: no backtracking pattern."""
    return bool(code) and set(_LITERAL.sub("", code)) <= _OPERATORS


@register("ref.i31")
def _ref_i31(tr: Translator, ins: Instr) -> None:
    v = tr.pop()
    if v.const is not None:
        # a named constant: a literal would make Python warn about ``is`` (ref.is_null)
        name = f"I31_{v.const & I31_MASK}"
        tr.consts[name] = v.const & I31_MASK
        tr.push(Val(name, simple=True))
        return
    ref = combine(f"({v.code} & {I31_MASK})", v)
    if _literal_expr(v.code):
        # literals only: CPython would fold the expression into a constant and warn
        # about ``<constant> is None``; a temporary holds it instead
        ref = tr.materialize(ref)
    tr.push(ref)


@register("i31.get_s")
def _i31_get_s(tr: Translator, ins: Instr) -> None:
    v = tr.pop()
    r = combine(f"((({v.code} ^ 0x40000000) - 0x40000000) & {MASK[32]})", v, width=32,
                bits=32)  # fmt: skip
    tr.push(_null_checked(tr, r))


@register("i31.get_u")
def _i31_get_u(tr: Translator, ins: Instr) -> None:
    v = tr.pop()
    tr.push(_null_checked(tr, combine(f"({v.code} | 0)", v, width=32, bits=31)))


def _null_checked(tr: Translator, v: Val) -> Val:
    if not v.trap:
        v.trap = True
        v.pc = tr.out.pc
    return v


@register("ref.eq")
def _ref_eq(tr: Translator, ins: Instr) -> None:
    b = tr.pop()
    a = tr.pop()
    tr.push(combine(f"({a.code} == {b.code})", a, b, width=32, bits=1, isbool=True))


@register("any.convert_extern")
def _any_convert_extern(tr: Translator, ins: Instr) -> None:
    _use(tr)
    v = tr.pop()
    tr.push(combine(f"INTERN({v.code})", v))


@register("extern.convert_any")
def _extern_convert_any(tr: Translator, ins: Instr) -> None:
    _use(tr)
    v = tr.pop()
    tr.push(combine(f"EXTERN({v.code})", v))


# ---------------------------------------------------------------- casts
def _canon_ref(tr: Translator, rt: RefType) -> RefType:
    if isinstance(rt.heap, int):
        return RefType(rt.nullable, tr.art.canon(rt.heap))
    return rt


def _named(tr: Translator, v: Val) -> Val:
    """``v`` as a variable (tests name it several times; a literal would make Python
    warn about ``is`` with a literal)."""
    return v if v.code.isidentifier() else tr.materialize(v)


def test_code(tr: Translator, v: str, rt: RefType) -> str:
    """A Python condition: does the value named ``v`` match ``rt`` (canonical heap)?"""
    _use(tr)
    heap = rt.heap
    if isinstance(heap, int):
        if canon_kind(heap) == "func":
            cond = f"({v} is not None and FUNCISA({v}, {heap}))"
        else:
            cls = struct_class(heap) if canon_kind(heap) == "struct" else array_class(heap)
            name = f"{'SC' if canon_kind(heap) == 'struct' else 'AC'}{heap}"
            tr.consts[name] = cls
            if is_final(heap):
                cond = f"({v}.__class__ is {name})"
            else:
                cond = f"({heap} in getattr({v}.__class__, 'supers', ()))"
    elif heap in ("any", "func", "extern", "exn"):
        cond = f"({v} is not None)"
    elif heap == "eq":
        cond = f"({v}.__class__ is int or isinstance({v}, GCOBJ))"
    elif heap == "i31":
        cond = f"({v}.__class__ is int)"
    elif heap == "struct":
        cond = f"isinstance({v}, STRUCTREF)"
    elif heap == "array":
        cond = f"isinstance({v}, ARRAYREF)"
    else:  # none, nofunc, noextern, noexn: only null
        cond = "False"
    if rt.nullable:
        cond = f"({v} is None or {cond})"
    return cond


@register("ref.test")
def _ref_test(tr: Translator, ins: Instr) -> None:
    rt = _canon_ref(tr, ins[1])
    v = _named(tr, tr.pop())
    tr.push(combine(test_code(tr, v.code, rt), v, width=32, bits=1, isbool=True))


@register("ref.cast")
def _ref_cast(tr: Translator, ins: Instr) -> None:
    rt = _canon_ref(tr, ins[1])
    v = _named(tr, tr.pop())
    r = combine(f"({v.code} if {test_code(tr, v.code, rt)} else CASTFAIL())", v)
    if not r.trap:
        r.trap = True
        r.pc = tr.out.pc
    tr.push(r)


def _br_on_cast(tr: ControlFlow, ins: Instr, pc: int, on_fail: bool) -> int:
    assert isinstance(tr, Translator)
    label, _rt1, rt2 = ins[1]
    ref = _named(tr, tr.pop())
    target = tr.label(label)
    c = target.c
    if c.kind == "func":
        n = len(tr.ftype.results)
    else:
        n = c.nparams if c.kind == "loop" else c.nresults
    n -= 1
    if n:
        top = tr.popn(n)
        tr.stack.extend(tr.simple(v) for v in top)
    tr.flush(traps=True)
    tr.flush_fuel()
    cond = test_code(tr, ref.code, _canon_ref(tr, rt2))
    tr.out.emit(f"if {'not ' if on_fail else ''}{cond}:")
    tr.out.indent += 1
    saved = list(tr.stack)
    tr.stack.append(ref)
    tr.branch(target, pc)
    tr.stack = saved
    tr.out.indent -= 1
    tr.push(ref)
    return pc + 1


def _br_on_cast_ok(tr: ControlFlow, ins: Instr, pc: int) -> int:
    return _br_on_cast(tr, ins, pc, False)


def _br_on_cast_fail(tr: ControlFlow, ins: Instr, pc: int) -> int:
    return _br_on_cast(tr, ins, pc, True)


CONTROL["br_on_cast"] = _br_on_cast_ok
CONTROL["br_on_cast_fail"] = _br_on_cast_fail
