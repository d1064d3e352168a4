"""Variables, parametric instructions, memory, tables and references.

Memory ``m`` is the per-instance global ``M<m>``: a memoryview exactly as long as
the memory, rebound after growth, so ``struct`` accessors and indexing raise on
out-of-bounds addresses by themselves (the error becomes the trap at the API
boundary). ``MEM<m>`` is the MemoryInst (size, grow), ``T<t>`` a table's element
list and ``TAB<t>`` the TableInst, ``G<g>`` a mutable global's GlobalInst and
``g<g>`` an immutable global's value.
"""

from __future__ import annotations

from ..exec.fuelrules import known_operand
from ..syntax.module import Instr
from .exprs import NO_SLOT, Val, combine, name_val, simple_val
from .translate import HANDLERS, MASK, Handler, Translator, register, trap_pc


# ---------------------------------------------------------------- variables
@register("nop")
def _nop(tr: Translator, ins: Instr) -> None:
    pass


_WIDTHS = {"i32": 32, "i64": 64}


def _width(t: object) -> int:
    return _WIDTHS.get(getattr(t, "name", ""), 0)


@register("local.get")
def _local_get(tr: Translator, ins: Instr) -> None:
    x = ins[1]
    r = tr.local_facts[x]
    if r is None:
        r = _local_facts(tr, x)
    tr.stack.append(simple_val(r[0], r[1], NO_SLOT, True, r[2], r[3], None, False))


def _local_facts(tr: Translator, x: int) -> tuple[str, frozenset[int], int, int]:
    """Local ``x``'s name, the set of it, its width and bits, made once per function
    (local.get/set are a third of the instructions translated)."""
    w = _WIDTHS.get(getattr(tr.local_types[x], "name", ""), 0)
    r = tr.local_facts[x] = (f"l{x}", frozenset((x,)), w, w or 64)
    return r


def _set_local(tr: Translator, x: int, v: Val) -> None:
    if v.width:
        v = tr.exact(v)
    r = tr.local_facts[x]
    if r is None:
        r = _local_facts(tr, x)
    out = tr.out
    mark = len(out.lines)
    tr.flush(traps=v.trap, writes=r[1])
    if len(out.lines) == mark and tr.retarget(v, r[0]):
        return
    out.emit(f"{r[0]} = {v.code}", v.pc if v.trap else -1)


@register("local.set")
def _local_set(tr: Translator, ins: Instr) -> None:
    _set_local(tr, ins[1], tr.pop())


@register("local.tee")
def _local_tee(tr: Translator, ins: Instr) -> None:
    x = ins[1]
    v = tr.pop()
    _set_local(tr, x, v)
    out = name_val(f"l{x}", local=x)
    out.isbool = v.isbool
    if v.width:
        out.width = v.width
        out.bits = v.bits if v.exact else v.width
    tr.push(out)


@register("global.get")
def _global_get(tr: Translator, ins: Instr) -> None:
    g = ins[1]
    gt = tr.art.global_types[g]
    width = _width(gt.type)
    if gt.mutable:
        tr.push(Val(f"G{g}.value", state=True, width=width, bits=width or 64))
    else:
        tr.push(Val(f"g{g}", simple=True, width=width, bits=width or 64))


@register("global.set")
def _global_set(tr: Translator, ins: Instr) -> None:
    v = tr.pop()
    if v.width:
        v = tr.exact(v)
    tr.stmt(f"G{ins[1]}.value = {v.code}", traps=v.trap, operands=[v])


@register("drop")
def _drop(tr: Translator, ins: Instr) -> None:
    v = tr.pop()
    if v.trap:
        tr.stmt(v.code, effects=False, operands=[v])


@register("select")
def _select(tr: Translator, ins: Instr) -> None:
    c = tr.pop()
    b = tr.pop()
    a = tr.pop()
    # Python evaluates only the chosen operand, after the condition: operands that
    # may trap must be evaluated first, in order.
    if a.trap or b.trap:
        if a.trap:
            a = tr.materialize(a)
        if b.trap:
            b = tr.materialize(b)
    width = a.width or b.width
    if width:
        a = tr.exact(a)
        b = tr.exact(b)
    tr.push(combine(f"({a.code} if {tr.cond(c)} else {b.code})", a, b, c, width=width,
                    bits=max(a.bits, b.bits), isbool=a.isbool and b.isbool))


# ---------------------------------------------------------------- memory
def _address(tr: Translator, ins: Instr) -> tuple[str, Val]:
    """The effective address expression (base + offset) and the base entry."""
    a = tr.exact(tr.pop())
    off = ins[1][1]
    if a.const is not None:
        return str(a.const + off), a
    return (f"({a.code} + {off})" if off else a.code), a


_LOADS = {
    # name: (template, width, exact, bits)
    "i32.load": ("LI32(M{m}, {ea})[0]", 32, True, 32),
    "i64.load": ("LI64(M{m}, {ea})[0]", 64, True, 64),
    "f32.load": ("LF32(M{m}, {ea})", 0, True, 64),
    "f64.load": ("LF64(M{m}, {ea})[0]", 0, True, 64),
    "i32.load8_u": ("M{m}[{ea}]", 32, True, 8),
    "i32.load8_s": ("((M{m}[{ea}] ^ 0x80) - 0x80)", 32, False, 8),
    "i32.load16_u": ("LU16(M{m}, {ea})[0]", 32, True, 16),
    "i32.load16_s": ("((LU16(M{m}, {ea})[0] ^ 0x8000) - 0x8000)", 32, False, 16),
    "i64.load8_u": ("M{m}[{ea}]", 64, True, 8),
    "i64.load8_s": ("((M{m}[{ea}] ^ 0x80) - 0x80)", 64, False, 8),
    "i64.load16_u": ("LU16(M{m}, {ea})[0]", 64, True, 16),
    "i64.load16_s": ("((LU16(M{m}, {ea})[0] ^ 0x8000) - 0x8000)", 64, False, 16),
    "i64.load32_u": ("LI32(M{m}, {ea})[0]", 64, True, 32),
    "i64.load32_s": ("((LI32(M{m}, {ea})[0] ^ 0x80000000) - 0x80000000)", 64, False, 32),
}


ADDR = "ea"
"""The local holding the address of a cast-view load while it tests its alignment.
A fresh temporary per load made big functions' frames hundreds of slots long
(boolector's f519: 1,366 of its 1,567 locals), which each call zeroes and clears
(~1.3 ns a slot) and CPython's compiler tracks."""


_CAST_LOADS = {
    # name: (cast view prefix, log2 of the width, struct accessor)
    "i32.load": ("MI", 2, "LI32"),
    "i64.load": ("MQ", 3, "LI64"),
    "f64.load": ("MD", 3, "LF64"),
}


def _always_traps(tr: Translator, ins: Instr) -> bool:
    """Whether the access is out of bounds whatever the address: its offset and width
    pass the largest size the memory can ever have. wasmtime compiles such an access
    as a trap and stores the fuel before it, like ``unreachable`` (docs/fuel.md)."""
    _, offset, m = ins[1]
    if not tr.fuel:
        return False
    most = tr.art.mem_max_bytes[m]
    # wasmtime decides this only for offsets of 32 bits (memory64 ones above go the
    # dynamic way), except that nothing can ever be in a memory of at most 0 bytes
    return most == 0 or (offset <= 0xFFFFFFFF and offset + ins[0].width > most)


def _sync_before_trap(tr: Translator) -> None:
    """Evaluate what may trap earlier, then store the fuel (an access that always traps
    comes next)."""
    tr.flush(traps=True)
    tr.sync_fuel()


def _make_load(template: str, width: int, exact: bool, bits: int, name: str) -> Handler:
    cast = _CAST_LOADS.get(name)

    def handler(tr: Translator, ins: Instr) -> None:
        always = _always_traps(tr, ins)
        if always:
            _sync_before_trap(tr)
        ea, a = _address(tr, ins)
        m = ins[1][2]
        if cast is not None and tr.art.mem_castable[m]:
            # Aligned accesses index a cast view (one subscript instead of a struct
            # call and a tuple); others fall back to struct.
            view, shift, accessor = cast
            align = (1 << shift) - 1
            tr.cast_memories.add(m)
            if a.simple and not ins[1][1] and a.const is None:
                code = (f"({view}{m}[{ea} >> {shift}] if not {ea} & {align} "
                        f"else {accessor}(M{m}, {ea})[0])")
            else:
                # One name for every such address (not a fresh temporary each): it
                # is read only right after its assignment, inside this expression
                # (a nested load's finishes before), and every Python local costs
                # each call of the function a slot to clear (see ADDR).
                code = (f"({view}{m}[{ADDR} >> {shift}] if not ({ADDR} := {ea}) & {align} "
                        f"else {accessor}(M{m}, {ADDR})[0])")
        else:
            code = template.format(m=m, ea=ea)
        v = combine(code, a, exact=exact, width=width, bits=bits)
        v.state = True
        if not v.trap:
            v.trap = True
            v.pc = tr.out.pc
        tr.push(tr.materialize(v) if always else v)

    return handler


for _name, _spec in _LOADS.items():
    HANDLERS[_name] = _make_load(*_spec, _name)


_STORES = {
    # name: (template, value mask or None)
    "i32.store": ("SI32(M{m}, {ea}, {v})", None),
    "i64.store": ("SI64(M{m}, {ea}, {v})", None),
    "f32.store": ("SF32(M{m}, {ea}, {v})", None),
    "f64.store": ("SF64(M{m}, {ea}, {v})", None),
    "i32.store8": ("M{m}[{ea}] = {v}", 0xFF),
    "i64.store8": ("M{m}[{ea}] = {v}", 0xFF),
    "i32.store16": ("SU16(M{m}, {ea}, {v})", 0xFFFF),
    "i64.store16": ("SU16(M{m}, {ea}, {v})", 0xFFFF),
    "i64.store32": ("SI32(M{m}, {ea}, {v})", 0xFFFFFFFF),
}


def _make_store(template: str, vmask: int | None) -> Handler:
    subscript = "] = " in template

    def handler(tr: Translator, ins: Instr) -> None:
        if _always_traps(tr, ins):
            _sync_before_trap(tr)
        v = tr.pop()
        if vmask is not None:
            code = v.code if v.exact and v.bits <= vmask.bit_length() else f"({v.code} & {vmask:#x})"
        else:
            if v.width:
                v = tr.exact(v)
            code = v.code
        a = tr.pop()
        if subscript and a.trap and v.trap:
            # ``M[ea] = v`` evaluates v before ea: keep Wasm's order of traps.
            a = tr.materialize(a)
        tr.stack.append(a)
        ea, _ = _address(tr, ins)
        tr.flush(traps=True, effects=True)
        m = ins[1][2]
        pc = trap_pc([a, v])
        tr.out.emit(template.format(m=m, ea=ea, v=code), pc)

    return handler


for _name, _store in _STORES.items():
    HANDLERS[_name] = _make_store(*_store)


def _counted(tr: Translator, n: Val) -> Val:
    """The length operand of a bulk operation, evaluated once when fuel needs it too
    (these operations cost their length in fuel: docs/fuel.md)."""
    return tr.simple(n) if tr.fuel else n


def _literal_operand(tr: Translator) -> int | None:
    return known_operand(tr.art.module, tr.body, tr.out.pc)


def _mem_mask(tr: Translator, m: int) -> int:
    return 64 if tr.art.mem_addr64[m] else 32


@register("memory.size")
def _memory_size(tr: Translator, ins: Instr) -> None:
    m = ins[1]
    w = _mem_mask(tr, m)
    tr.push(Val(f"MEM{m}.pages", state=True, width=w, bits=w))


@register("memory.grow")
def _memory_grow(tr: Translator, ins: Instr) -> None:
    m = ins[1]
    w = _mem_mask(tr, m)
    known = _literal_operand(tr)
    n = _counted(tr, tr.exact(tr.pop()))
    r = tr.result(f"(MEM{m}.grow({n.code}) & {MASK[w]})", width=w, bits=w)
    tr.charge_length(n, known, grow=f"{r.code} != {MASK[w]}")
    tr.push(r)


@register("memory.fill")
def _memory_fill(tr: Translator, ins: Instr) -> None:
    n = _counted(tr, tr.exact(tr.pop()))
    val = tr.pop()
    d = tr.exact(tr.pop())
    tr.stmt(f"MFILL(M{ins[1]}, {d.code}, {val.code}, {n.code})")
    tr.charge_length(n, _literal_operand(tr))


@register("memory.copy")
def _memory_copy(tr: Translator, ins: Instr) -> None:
    n = _counted(tr, tr.exact(tr.pop()))
    s = tr.exact(tr.pop())
    d = tr.exact(tr.pop())
    tr.stmt(f"MCOPY(M{ins[1]}, {d.code}, M{ins[2]}, {s.code}, {n.code})")
    tr.charge_length(n, _literal_operand(tr))


@register("memory.init")
def _memory_init(tr: Translator, ins: Instr) -> None:
    n = _counted(tr, tr.exact(tr.pop()))
    s = tr.exact(tr.pop())
    d = tr.exact(tr.pop())
    tr.stmt(f"MINIT(INST, {ins[1]}, M{ins[2]}, {d.code}, {s.code}, {n.code})")
    tr.charge_length(n, _literal_operand(tr))


@register("data.drop")
def _data_drop(tr: Translator, ins: Instr) -> None:
    tr.stmt(f"DDROP(INST, {ins[1]})", traps=False)


# ---------------------------------------------------------------- tables
def _table_width(tr: Translator, t: int) -> int:
    return 64 if tr.art.table_addr64[t] else 32


@register("table.get")
def _table_get(tr: Translator, ins: Instr) -> None:
    i = tr.exact(tr.pop())
    v = combine(f"TGET(T{ins[1]}, {i.code})", i)
    v.state = True
    if not v.trap:
        v.trap = True
        v.pc = tr.out.pc
    tr.push(v)


@register("table.set")
def _table_set(tr: Translator, ins: Instr) -> None:
    v = tr.pop()
    i = tr.exact(tr.pop())
    tr.stmt(f"TSET(T{ins[1]}, {i.code}, {v.code})")


@register("table.size")
def _table_size(tr: Translator, ins: Instr) -> None:
    w = _table_width(tr, ins[1])
    tr.push(Val(f"len(T{ins[1]})", state=True, width=w, bits=w))


@register("table.grow")
def _table_grow(tr: Translator, ins: Instr) -> None:
    t = ins[1]
    w = _table_width(tr, t)
    known = _literal_operand(tr)
    n = _counted(tr, tr.exact(tr.pop()))
    init = tr.pop()
    r = tr.result(f"TGROW(TAB{t}, {init.code}, {n.code}, {MASK[w]})", width=w, bits=w)
    tr.charge_length(n, known, grow=f"{r.code} != {MASK[w]}")
    tr.push(r)


@register("table.fill")
def _table_fill(tr: Translator, ins: Instr) -> None:
    n = _counted(tr, tr.exact(tr.pop()))
    v = tr.pop()
    i = tr.exact(tr.pop())
    tr.stmt(f"TFILL(T{ins[1]}, {i.code}, {v.code}, {n.code})")
    tr.charge_length(n, _literal_operand(tr))


@register("table.copy")
def _table_copy(tr: Translator, ins: Instr) -> None:
    n = _counted(tr, tr.exact(tr.pop()))
    s = tr.exact(tr.pop())
    d = tr.exact(tr.pop())
    tr.stmt(f"TCOPY(T{ins[1]}, {d.code}, T{ins[2]}, {s.code}, {n.code})")
    tr.charge_length(n, _literal_operand(tr))


@register("table.init")
def _table_init(tr: Translator, ins: Instr) -> None:
    n = _counted(tr, tr.exact(tr.pop()))
    s = tr.exact(tr.pop())
    d = tr.exact(tr.pop())
    tr.stmt(f"TINIT(INST, {ins[1]}, T{ins[2]}, {d.code}, {s.code}, {n.code})")
    tr.charge_length(n, _literal_operand(tr))


@register("elem.drop")
def _elem_drop(tr: Translator, ins: Instr) -> None:
    tr.stmt(f"EDROP(INST, {ins[1]})", traps=False)


# ---------------------------------------------------------------- references
@register("ref.null")
def _ref_null(tr: Translator, ins: Instr) -> None:
    tr.push(Val("None", simple=True))


@register("ref.is_null")
def _ref_is_null(tr: Translator, ins: Instr) -> None:
    v = tr.pop()
    tr.push(combine(f"({v.code} is None)", v, width=32, bits=1, isbool=True))


@register("ref.func")
def _ref_func(tr: Translator, ins: Instr) -> None:
    tr.funcrefs.add(ins[1])
    tr.push(Val(f"F{ins[1]}", simple=True))


@register("ref.as_non_null")
def _ref_as_non_null(tr: Translator, ins: Instr) -> None:
    v = tr.pop()
    r = combine(f"NONNULL({v.code})", v)
    if not r.trap:
        r.trap = True
        r.pc = tr.out.pc
    tr.push(r)
