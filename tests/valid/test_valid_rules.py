"""The validator on hand-built modules: the tricky typing rules, one by one."""

from __future__ import annotations

import pytest
from valid_build import I, bad, const_global, export_func, ft, func_module, ok, rec, sub

from nanoproc.internal.errors import DecodeError, ValidationError
from nanoproc.internal.syntax.module import (
    Data,
    Elem,
    Export,
    Func,
    Global,
    Import,
    Memory,
    Module,
    Table,
    Tag,
)
from nanoproc.internal.syntax.ops import OPS, Catch
from nanoproc.internal.syntax.types import (
    ANYREF,
    EXTERNREF,
    F32,
    FUNCREF,
    I8,
    I32,
    I64,
    V128,
    ArrayType,
    FieldType,
    FuncType,
    GlobalType,
    Limits,
    MemType,
    RefType,
    StructType,
    SubType,
    TableType,
    TagType,
)
from nanoproc.internal.valid import validate_module
from nanoproc.internal.valid.stack import handler_for


def test_every_op_is_typed() -> None:
    """Each op has a fixed signature or a registered rule (the table drives the checker)."""
    for op in OPS:
        h = handler_for(op)
        if op.rule is None and not op.lanes:
            assert h is None, op
        else:
            assert h is not None, op


# ---------------------------------------------------------------- operand stack
def test_fixed_signature_and_mismatch_message() -> None:
    ok(func_module([I("i32.const", 1), I("i32.const", 2), I("i32.add")], results=(I32,)))
    e = bad(
        func_module([I("i32.const", 1), I("i64.const", 2), I("i32.add")], results=(I32,)),
        "type mismatch",
    )
    assert e.reason == "type mismatch: instruction requires [i32 i32] but stack has [i32 i64]"
    bad(func_module([I("i32.add")], results=(I32,)), "type mismatch")
    # Operands of an enclosing block are out of reach.
    bad(
        func_module([I("i32.const", 1), I("block", I32), I("i32.eqz"), I("end")], results=(I32,)),
        "type mismatch",
    )
    # Leftover values at the end.
    bad(func_module([I("i32.const", 1)]), "type mismatch")


def test_unreachable_is_polymorphic() -> None:
    ok(func_module([I("unreachable"), I("i32.add")], results=(I32,)))
    ok(func_module([I("unreachable"), I("select")], results=(F32,)))
    ok(func_module([I("unreachable"), I("ref.as_non_null"), I("ref.is_null")], results=(I32,)))
    # (ref bot) from an unknown operand is still a reference, not a number.
    bad(
        func_module([I("unreachable"), I("ref.as_non_null"), I("i32.eqz")], results=(I32,)),
        "type mismatch",
    )
    # Values pushed after unreachable are checked.
    bad(
        func_module([I("unreachable"), I("i64.const", 0), I("i32.eqz")], results=(I32,)),
        "type mismatch",
    )
    # Huge array.new_fixed counts in dead code do not loop.
    arr = rec(sub(ArrayType(FieldType(I32)), final=True))
    ok(func_module([I("unreachable"), I("array.new_fixed", 0, 2**32 - 1), I("drop")],
                   types=[arr]))  # fmt: skip


def test_select() -> None:
    ok(func_module([I("i32.const", 1), I("i32.const", 2), I("i32.const", 0), I("select")],
                   results=(I32,)))  # fmt: skip
    refs = [I("ref.null", "func"), I("ref.null", "func"), I("i32.const", 0)]
    bad(func_module([*refs, I("select")], results=(FUNCREF,)), "type mismatch")
    ok(func_module([*refs, I("select_t", (FUNCREF,))], results=(FUNCREF,)))
    bad(func_module([*refs, I("select_t", (FUNCREF, FUNCREF))], results=(FUNCREF,)),
        "invalid result arity")  # fmt: skip
    bad(func_module([I("i32.const", 1), I("i64.const", 2), I("i32.const", 0), I("select")],
                    results=(I32,)), "type mismatch")  # fmt: skip


def test_blocks_with_type_index_and_if_without_else() -> None:
    pair = ft((I32, I32), (I64,))
    body = [I("i32.const", 1), I("i32.const", 2), I("block", 0), I("i32.add"),
            I("i64.extend_i32_u"), I("end")]  # fmt: skip
    ok(func_module(body, results=(I64,), types=[pair]))
    same = ft((I32,), (I32,))
    ok(func_module([I("i32.const", 1), I("i32.const", 1), I("if", 0), I("end")],
                   results=(I32,), types=[same]))  # fmt: skip
    bad(func_module([I("i32.const", 1), I("if", I32), I("i32.const", 1), I("end")],
                    results=(I32,)), "type mismatch")  # fmt: skip
    # br to a loop carries the loop's parameters.
    loop = [I("i32.const", 1), I("loop", 0), I("br", 0), I("end")]
    ok(func_module(loop, results=(I32,), types=[same]))
    bad(func_module([I("br", 1)]), "unknown label")


def test_br_table_arity_and_types() -> None:
    body = [I("block", I32), I("block", I64), I("i32.const", 0), I("i32.const", 0),
            I("br_table", (0,), 1), I("end"), I("drop"), I("i32.const", 1), I("end")]  # fmt: skip
    bad(func_module(body, results=(I32,)), "type mismatch")
    body = [I("block", I32), I("unreachable"), I("br_table", (0, 1), 0), I("end")]
    ok(func_module(body, results=(I32,)))


# ---------------------------------------------------------------- locals
def test_non_defaultable_locals() -> None:
    nn = RefType(False, "extern")
    params = (nn,)
    loc = [(1, nn)]
    bad(func_module([I("local.get", 1), I("drop")], params, locals_=loc), "uninitialized local")
    ok(func_module([I("local.get", 0), I("local.set", 1), I("local.get", 1), I("drop")],
                   params, locals_=loc))  # fmt: skip
    # Initialisation inside a block ends with the block.
    body = [I("block", None), I("local.get", 0), I("local.set", 1), I("end"),
            I("local.get", 1), I("drop")]  # fmt: skip
    bad(func_module(body, params, locals_=loc), "uninitialized local")
    # ... and in the then-branch does not carry to the else-branch.
    body = [I("i32.const", 0), I("if", None), I("local.get", 0), I("local.set", 1),
            I("else"), I("local.get", 1), I("drop"), I("end")]  # fmt: skip
    bad(func_module(body, params, locals_=loc), "uninitialized local")
    # Set in the function frame, used in a nested block: fine.
    body = [I("local.get", 0), I("local.tee", 1), I("drop"), I("block", None),
            I("local.get", 1), I("drop"), I("end")]  # fmt: skip
    ok(func_module(body, params, locals_=loc))
    bad(func_module([I("local.get", 5), I("drop")]), "unknown local")


# ---------------------------------------------------------------- canonical types
def _struct(*fields: FieldType, final: bool = True) -> rec:  # type: ignore[valid-type]
    return rec(sub(StructType(fields), final=final))


def test_equivalent_types_within_a_module() -> None:
    # Types 0 and 1 are separately defined but identical: they are the same type.
    s = _struct(FieldType(I32))
    m = func_module([I("local.get", 0)], (RefType(False, 0),), (RefType(False, 1),),
                    types=[s, s])  # fmt: skip
    mt = ok(m)
    assert mt.type_ids[0] == mt.type_ids[1]
    # Recursive groups compare by position inside the group.
    r = rec(sub(StructType((FieldType(RefType(True, 1)),))),
            sub(StructType((FieldType(RefType(True, 0)),))))  # fmt: skip
    r2 = rec(sub(StructType((FieldType(RefType(True, 3)),))),
             sub(StructType((FieldType(RefType(True, 2)),))))  # fmt: skip
    mt = ok(func_module([I("local.get", 0)], (RefType(False, 0),), (RefType(False, 2),),
                        types=[r, r2]))  # fmt: skip
    assert mt.type_ids[:2] == mt.type_ids[2:4]
    assert mt.type_ids[0] != mt.type_ids[1]
    # Same shape, but the second group's types point at the first group: not equal.
    r3 = rec(sub(StructType((FieldType(RefType(True, 1)),))),
             sub(StructType((FieldType(RefType(True, 0)),))))  # fmt: skip
    bad(func_module([I("local.get", 0)], (RefType(False, 0),), (RefType(False, 2),),
                    types=[r, r3]), "type mismatch")  # fmt: skip


def test_canonical_ids_across_modules() -> None:
    from nanoproc.internal.valid import is_subtype_canon, match_valtype

    base = rec(sub(StructType((FieldType(I32),)), final=False))
    derived = rec(sub(StructType((FieldType(I32), FieldType(I64))), 0))
    a = ok(Module(types=[base, derived]))
    # The same types at other indices (the supertype index shifts with them).
    shifted = rec(sub(StructType((FieldType(I32), FieldType(I64))), 1))
    b = ok(Module(types=[ft(), base, shifted]))
    assert a.type_ids == b.type_ids[1:]
    assert is_subtype_canon(b.type_ids[2], a.type_ids[0])
    assert not is_subtype_canon(a.type_ids[0], b.type_ids[2])
    assert match_valtype(b.canon_valtype(RefType(False, 2)), a.canon_valtype(RefType(True, 0)))
    assert not match_valtype(a.canon_valtype(RefType(True, 1)), RefType(False, a.type_ids[0]))
    # Global import matching: immutable globals are covariant, mutable ones invariant.
    from nanoproc.internal.valid import match_globaltype

    sub_t = b.canon_valtype(RefType(False, 2))
    sup_t = a.canon_valtype(RefType(True, 0))
    assert match_globaltype(GlobalType(sub_t), GlobalType(sup_t))
    assert not match_globaltype(GlobalType(sub_t, True), GlobalType(sup_t, True))
    assert match_globaltype(GlobalType(sup_t, True), GlobalType(sup_t, True))
    assert not match_globaltype(GlobalType(sup_t), GlobalType(sup_t, True))
    # Host types written in canonical ids intern to the same ids as module types.
    from nanoproc.internal.valid.canon import intern_canonical

    host = intern_canonical(SubType(FuncType((RefType(True, a.type_ids[1]),), (I32,))))
    m = ok(Module(types=[base, derived, ft((RefType(True, 1),), (I32,))]))
    assert host == m.type_ids[2]
    with pytest.raises(ValueError):
        intern_canonical(SubType(FuncType((RefType(True, 10**9),))))
    # A final type of the same structure is a different type.
    c = ok(Module(types=[rec(sub(StructType((FieldType(I32),)), final=True))]))
    assert c.type_ids[0] != a.type_ids[0]


def test_subtype_declarations() -> None:
    base = sub(StructType((FieldType(I32, mutable=True),)))
    ok(Module(types=[rec(base), rec(sub(StructType((FieldType(I32, True), FieldType(I64))), 0))]))
    bad(Module(types=[rec(sub(StructType((FieldType(I32),)), final=True)),
                      rec(sub(StructType((FieldType(I32),)), 0))]), "sub type")  # fmt: skip
    # Mutable fields are invariant.
    anyf = sub(StructType((FieldType(ANYREF, mutable=True),)))
    eqf = sub(StructType((FieldType(RefType(True, "eq"), mutable=True),)), 0)
    bad(Module(types=[rec(anyf), rec(eqf)]), "sub type")
    # Immutable fields are covariant.
    ok(Module(types=[rec(sub(StructType((FieldType(ANYREF),)))),
                     rec(sub(StructType((FieldType(RefType(True, "eq")),)), 0))]))  # fmt: skip
    # Kinds must agree; supertypes must come first.
    bad(Module(types=[rec(sub(FuncType())), rec(sub(StructType(), 0))]), "sub type")
    bad(Module(types=[rec(sub(StructType(), 1), sub(StructType()))]), "sub type")
    bad(Module(types=[rec(sub(StructType((FieldType(RefType(True, 5)),))))]), "unknown type")
    # Function subtyping: contravariant parameters, covariant results.
    f0 = sub(FuncType((RefType(True, "eq"),), (ANYREF,)))
    f1 = sub(FuncType((ANYREF,), (RefType(True, "eq"),)), 0)
    ok(Module(types=[rec(f0), rec(f1)]))
    bad(Module(types=[rec(f1.__class__(f1.comp, False, ())), rec(sub(f0.comp, 0))]), "sub type")


def test_call_ref_and_return_call_subtyping() -> None:
    sup = rec(sub(StructType()))
    derived = rec(sub(StructType((FieldType(I32),)), 0))
    callee = ft((), (RefType(False, 1),))  # type 2
    m = func_module(
        [I("return_call", 0)],
        results=(RefType(True, 0),),
        types=[sup, derived, callee],
        funcs=[Func(2, [], [I("i32.const", 1), I("struct.new", 1)])],
    )
    ok(m)
    callee2 = ft((), (RefType(True, 0),))
    m = func_module(
        [I("return_call", 0)],
        results=(RefType(False, 1),),
        types=[sup, derived, callee2],
        funcs=[Func(2, [], [I("struct.new_default", 0)])],
    )
    bad(m, "type mismatch")
    # call_ref takes a (ref null $t) of a function type.
    m = func_module(
        [I("ref.func", 0), I("call_ref", 0)],
        types=[ft()],
        funcs=[Func(0, [], [])],
        exports=[export_func("f", 0)],
    )
    ok(m)


# ---------------------------------------------------------------- references and casts
def test_ref_func_must_be_declared() -> None:
    body = [I("ref.func", 0), I("drop")]
    bad(func_module(body, types=[ft()], funcs=[Func(0, [], [])]), "undeclared function reference")
    ok(func_module(body, types=[ft()], funcs=[Func(0, [], [])],
                   elems=[Elem("declarative", FUNCREF, [[I("ref.func", 0)]])]))  # fmt: skip
    ok(func_module(body, types=[ft()], funcs=[Func(0, [], [])], exports=[export_func("f", 0)]))
    ok(func_module(body, types=[ft()], funcs=[Func(0, [], [])],
                   globals=[const_global(FUNCREF, I("ref.func", 0))]))  # fmt: skip
    bad(func_module([I("ref.func", 9), I("drop")]), "unknown function 9")


def test_ref_func_has_concrete_type() -> None:
    m = func_module([I("ref.func", 0)], results=(RefType(False, 0),), types=[ft()],
                    funcs=[Func(0, [], [])], exports=[export_func("f", 0)])  # fmt: skip
    ok(m)


def test_casts() -> None:
    s = rec(sub(StructType()))
    body = [I("local.get", 0), I("ref.cast", RefType(False, 0))]
    ok(func_module(body, (ANYREF,), (RefType(False, 0),), types=[s]))
    bad(func_module(body, (FUNCREF,), (RefType(False, 0),), types=[s]), "type mismatch")
    ok(func_module([I("local.get", 0), I("ref.test", RefType(True, "i31"))], (ANYREF,), (I32,)))
    # br_on_cast: [t* rt1] -> [t* rt1\rt2], label gets rt2.
    body = [I("block", RefType(False, 0)), I("local.get", 0),
            I("br_on_cast", (0, ANYREF, RefType(False, 0))), I("drop"), I("unreachable"),
            I("end")]  # fmt: skip
    ok(func_module(body, (ANYREF,), (RefType(False, 0),), types=[s]))
    # The fall-through type of br_on_cast_fail is rt2.
    body = [I("block", ANYREF), I("local.get", 0),
            I("br_on_cast_fail", (0, ANYREF, RefType(False, 0))), I("return"), I("end"),
            I("unreachable")]  # fmt: skip
    ok(func_module(body, (ANYREF,), (RefType(False, 0),), types=[s]))
    # rt2 must be a subtype of rt1.
    body = [I("block", ANYREF), I("local.get", 0),
            I("br_on_cast", (0, RefType(True, "i31"), ANYREF)), I("end")]  # fmt: skip
    bad(func_module(body, (ANYREF,), (ANYREF,)), "type mismatch")
    # br_on_null / br_on_non_null
    body = [I("block", None), I("local.get", 0), I("br_on_null", 0), I("drop"), I("end")]
    ok(func_module(body, (ANYREF,)))
    body = [I("block", RefType(False, "any")), I("local.get", 0), I("br_on_non_null", 0),
            I("unreachable"), I("end"), I("drop")]  # fmt: skip
    ok(func_module(body, (ANYREF,)))
    body = [I("block", RefType(False, "eq")), I("local.get", 0), I("br_on_non_null", 0),
            I("unreachable"), I("end"), I("drop")]  # fmt: skip
    bad(func_module(body, (ANYREF,)), "type mismatch")


def test_abstract_hierarchies_are_disjoint() -> None:
    for a, b in [("nofunc", "none"), ("none", "func"), ("noextern", "any"), ("noexn", "extern"),
                 ("i31", "struct"), ("exn", "any")]:  # fmt: skip
        bad(func_module([I("local.get", 0)], (RefType(True, a),), (RefType(True, b),)),
            "type mismatch")  # fmt: skip
    for a, b in [("none", "i31"), ("nofunc", "func"), ("noexn", "exn"), ("i31", "eq")]:
        ok(func_module([I("local.get", 0)], (RefType(True, a),), (RefType(True, b),)))
    ok(func_module([I("local.get", 0)], (RefType(True, "none"),), (RefType(True, 0),),
                   types=[rec(sub(ArrayType(FieldType(I8))))]))  # fmt: skip
    bad(func_module([I("local.get", 0)], (RefType(True, "nofunc"),), (RefType(True, 0),),
                    types=[rec(sub(ArrayType(FieldType(I8))))]), "type mismatch")  # fmt: skip
    bad(func_module([I("local.get", 0)], (ANYREF,), (RefType(False, "any"),)), "type mismatch")


def test_gc_struct_and_array_rules() -> None:
    s = rec(sub(StructType((FieldType(I8), FieldType(I64, mutable=True)))))
    ref = RefType(False, 0)
    ok(func_module([I("local.get", 0), I("struct.get_s", 0, 0)], (ref,), (I32,), types=[s]))
    bad(func_module([I("local.get", 0), I("struct.get", 0, 0)], (ref,), (I32,), types=[s]),
        "type mismatch")  # fmt: skip
    bad(func_module([I("local.get", 0), I("i32.const", 1), I("struct.set", 0, 0)], (ref,),
                    types=[s]), "immutable field")  # fmt: skip
    bad(func_module([I("local.get", 0), I("struct.get", 0, 7)], (ref,), (I32,), types=[s]),
        "unknown field")  # fmt: skip
    a = rec(sub(ArrayType(FieldType(I8))))
    b = rec(sub(ArrayType(FieldType(I8, mutable=True))))
    aref, bref = RefType(True, 0), RefType(True, 1)
    copy = [I("local.get", 1), I("i32.const", 0), I("local.get", 0), I("i32.const", 0),
            I("i32.const", 0)]  # fmt: skip
    ok(func_module([*copy, I("array.copy", 1, 0)], (aref, bref), types=[a, b]))
    bad(func_module([*copy, I("array.copy", 0, 1)], (bref, aref), types=[a, b]),
        "immutable array")  # fmt: skip
    c = rec(sub(ArrayType(FieldType(I32, mutable=True))))
    bad(func_module([*copy, I("array.copy", 1, 0)], (aref, RefType(True, 1)), types=[a, c]),
        "array types do not match")  # fmt: skip
    refs = rec(sub(ArrayType(FieldType(ANYREF))))
    bad(func_module([I("i32.const", 0), I("i32.const", 0), I("array.new_data", 0, 0),
                     I("drop")], types=[refs], datas=[Data("passive", b"")]),
        "array type is not numeric or vector")  # fmt: skip


# ---------------------------------------------------------------- exceptions
def test_try_table_catch_labels() -> None:
    tag_t = ft((I32,))
    tags = [Tag(TagType(0))]
    body = [I("block", I32), I("try_table", None, (Catch("catch", 0, 0),)), I("end"),
            I("i32.const", 0), I("end")]  # fmt: skip
    ok(func_module(body, results=(I32,), types=[tag_t], tags=tags))
    body_ref = [I("block", I32), I("try_table", None, (Catch("catch_ref", 0, 0),)), I("end"),
                I("i32.const", 0), I("end")]  # fmt: skip
    bad(func_module(body_ref, results=(I32,), types=[tag_t], tags=tags), "type mismatch")
    two = ft((), (I32, RefType(False, "exn")))
    body_ref = [I("block", 1), I("try_table", None, (Catch("catch_ref", 0, 0),)), I("end"),
                I("unreachable"), I("end"), I("drop")]  # fmt: skip
    ok(func_module(body_ref, results=(I32,), types=[tag_t, two], tags=tags))
    body = [I("block", None), I("try_table", None, (Catch("catch_all_ref", None, 0),)),
            I("end"), I("end")]  # fmt: skip
    bad(func_module(body, types=[tag_t], tags=tags), "type mismatch")
    # Catch labels are relative to the try_table's enclosing block.
    body = [I("try_table", None, (Catch("catch_all", None, 1),)), I("end")]
    bad(func_module(body), "unknown label")
    bad(Module(types=[ft((), (I32,))], tags=[Tag(TagType(0))]), "non-empty tag result type")
    e = bad(func_module([I("i64.const", 5), I("throw", 0)], types=[tag_t], tags=tags),
            "type mismatch")  # fmt: skip
    assert e.reason == "type mismatch: instruction requires [i32] but stack has [i64]"


# ---------------------------------------------------------------- memories and tables
def _mem(addr64: bool = False) -> Memory:
    return Memory(MemType(Limits(1, addr64=addr64)))


def test_memory_address_types() -> None:
    load = [I("i64.const", 0), I("i32.load", (2, 0, 0)), I("drop")]
    ok(func_module(load, memories=[_mem(True)]))
    bad(func_module(load, memories=[_mem(False)]), "type mismatch")
    bad(func_module([I("i32.const", 0), I("i32.load", (3, 0, 0)), I("drop")],
                    memories=[_mem()]), "alignment must not be larger than natural")  # fmt: skip
    bad(func_module([I("i32.const", 0), I("i32.load", (2, 2**32, 0)), I("drop")],
                    memories=[_mem()]), "offset out of range")  # fmt: skip
    ok(func_module([I("i64.const", 0), I("i32.load", (2, 2**32, 0)), I("drop")],
                   memories=[_mem(True)]))  # fmt: skip
    bad(func_module([I("i32.const", 0), I("i32.load", (2, 0, 1)), I("drop")],
                    memories=[_mem()]), "unknown memory 1")  # fmt: skip
    # memory.copy from i32 to i64 memory: the length is the smaller address type.
    copy = [I("i64.const", 0), I("i32.const", 0), I("i32.const", 0), I("memory.copy", 1, 0)]
    ok(func_module(copy, memories=[_mem(), _mem(True)]))
    copy64 = [I("i64.const", 0), I("i32.const", 0), I("i64.const", 0), I("memory.copy", 1, 0)]
    bad(func_module(copy64, memories=[_mem(), _mem(True)]), "type mismatch")
    ok(func_module([I("memory.size", 0)], results=(I64,), memories=[_mem(True)]))


def test_table_copy_and_init() -> None:
    t32 = Table(TableType(FUNCREF, Limits(1)))
    t64 = Table(TableType(FUNCREF, Limits(1, addr64=True)))
    copy = [I("i32.const", 0), I("i64.const", 0), I("i32.const", 0), I("table.copy", 0, 1)]
    ok(func_module(copy, tables=[t32, t64]))
    bad(func_module(copy, tables=[t64, t32]), "type mismatch")
    ext = Table(TableType(EXTERNREF, Limits(1)))
    bad(func_module([I("i32.const", 0), I("i32.const", 0), I("i32.const", 0),
                     I("table.copy", 0, 1)], tables=[t32, ext]), "type mismatch")  # fmt: skip
    bad(func_module([I("i32.const", 0), I("i32.const", 0), I("i32.const", 0),
                     I("table.init", 0, 0)]), "unknown table 0")  # fmt: skip
    # call_indirect needs a funcref table; its index uses the table's address type.
    ok(func_module([I("i64.const", 0), I("call_indirect", 0, 0)], types=[ft()], tables=[t64]))
    bad(func_module([I("i32.const", 0), I("call_indirect", 0, 0)], types=[ft()], tables=[ext]),
        "type mismatch")  # fmt: skip
    # A non-nullable table needs an initializer.
    nn = TableType(RefType(False, "func"), Limits(1))
    bad(Module(tables=[Table(nn)]), "type mismatch")


def test_data_and_elem_indices() -> None:
    mem = [_mem()]
    init = [I("i32.const", 0), I("i32.const", 0), I("i32.const", 0), I("memory.init", 1, 0)]
    bad(func_module(init, memories=mem, datas=[Data("passive", b"")]), "unknown data segment 1")
    ok(func_module(init, memories=mem, datas=[Data("passive", b""), Data("passive", b"x")]))
    bad(func_module([I("data.drop", 0)]), "unknown data segment 0")
    bad(func_module([I("elem.drop", 0)]), "unknown elem segment 0")


def test_limits() -> None:
    bad(Module(memories=[Memory(MemType(Limits(65537)))]), "memory size")
    ok(Module(memories=[Memory(MemType(Limits(65536)))]))
    ok(Module(memories=[Memory(MemType(Limits(65537, addr64=True)))]))
    bad(Module(memories=[Memory(MemType(Limits(2**48 + 1, addr64=True)))]), "memory size")
    bad(Module(memories=[Memory(MemType(Limits(2, 1)))]),
        "size minimum must not be greater than maximum")  # fmt: skip
    bad(Module(tables=[Table(TableType(FUNCREF, Limits(2**32)))]), "table size")
    ok(Module(tables=[Table(TableType(FUNCREF, Limits(2**32, addr64=True)))]))


# ---------------------------------------------------------------- lanes
def test_lane_indices() -> None:
    v = [I("v128.const", bytes(16))]
    ok(func_module([*v, I("i8x16.extract_lane_s", 15)], results=(I32,)))
    bad(func_module([*v, I("i8x16.extract_lane_s", 16)], results=(I32,)), "invalid lane index")
    bad(func_module([*v, I("i64x2.extract_lane", 2)], results=(I64,)), "invalid lane index")
    ok(func_module([*v, *v, I("i8x16.shuffle", bytes(range(16, 32)))], results=(V128,)))
    bad(func_module([*v, *v, I("i8x16.shuffle", bytes([32] * 16))], results=(V128,)),
        "invalid lane index")  # fmt: skip
    lane = [I("i32.const", 0), *v, I("v128.load8_lane", (0, 0, 0), 16)]
    bad(func_module(lane, results=(V128,), memories=[_mem()]), "invalid lane index")
    lane = [I("i32.const", 0), *v, I("v128.load16_lane", (2, 0, 0), 0)]
    bad(func_module(lane, results=(V128,), memories=[_mem()]),
        "alignment must not be larger than natural")  # fmt: skip


# ---------------------------------------------------------------- constant expressions
def test_constant_expressions() -> None:
    g0 = const_global(I32, I("i32.const", 1))
    ok(Module(globals=[g0, const_global(I32, I("global.get", 0), I("i32.const", 2),
                                        I("i32.mul"))]))  # fmt: skip
    bad(Module(globals=[const_global(I32, I("global.get", 1)), g0]), "unknown global")
    mut = const_global(I32, I("i32.const", 1), mutable=True)
    bad(Module(globals=[mut, const_global(I32, I("global.get", 0))]),
        "constant expression required")  # fmt: skip
    bad(Module(globals=[const_global(I32, I("i32.const", 1), I("i32.const", 2),
                                     I("i32.div_s"))]), "constant expression required")  # fmt: skip
    bad(Module(globals=[const_global(I32, I("i64.const", 1))]), "type mismatch")
    bad(Module(globals=[const_global(I32)]), "type mismatch")
    s = rec(sub(StructType((FieldType(I32),))))
    ok(Module(types=[s], globals=[const_global(RefType(False, 0), I("i32.const", 1),
                                               I("struct.new", 0))]))  # fmt: skip
    ok(Module(globals=[const_global(RefType(False, "i31"), I("i32.const", 1), I("ref.i31"))]))
    # Table initializers see imported globals only; data offsets see all of them.
    imp = Import("m", "g", "global", GlobalType(FUNCREF))
    tab = Table(TableType(FUNCREF, Limits(1)), [I("global.get", 0)])
    ok(Module(imports=[imp], tables=[tab]))
    tab = Table(TableType(FUNCREF, Limits(1)), [I("global.get", 1)])
    bad(Module(imports=[imp], tables=[tab], globals=[const_global(FUNCREF, I("ref.null", "func"))]),
        "unknown global")  # fmt: skip
    data = Data("active", b"", 0, [I("global.get", 0)])
    ok(Module(memories=[_mem()], globals=[g0], datas=[data]))
    bad(Module(memories=[_mem()], datas=[data]), "unknown global 0")


# ---------------------------------------------------------------- module-level rules
def test_exports_start_imports() -> None:
    bad(Module(types=[ft()], funcs=[Func(0, [], [])],
               exports=[export_func("a", 0), export_func("a", 0)]), "duplicate export name")  # fmt: skip
    bad(Module(exports=[export_func("a", 7)]), "unknown function 7")
    bad(Module(exports=[Export("m", "memory", 0)]), "unknown memory 0")
    bad(Module(types=[ft((I32,))], funcs=[Func(0, [], [I("drop")])], start=0), "start function")
    ok(Module(types=[ft()], funcs=[Func(0, [], [])], start=0))
    bad(Module(start=0), "unknown function 0")
    bad(Module(imports=[Import("m", "f", "func", 3)]), "unknown type 3")
    bad(Module(types=[rec(sub(StructType()))], imports=[Import("m", "f", "func", 0)]),
        "type mismatch")  # fmt: skip
    bad(Module(imports=[Import("m", "t", "table", TableType(RefType(True, 2), Limits(0)))]),
        "unknown type")  # fmt: skip


def test_element_segments() -> None:
    t = Table(TableType(FUNCREF, Limits(1)))
    seg = Elem("active", EXTERNREF, [[I("ref.null", "extern")]], 0, [I("i32.const", 0)])
    bad(Module(tables=[t], elems=[seg]), "type mismatch")
    seg = Elem("active", FUNCREF, [[I("ref.null", "func")]], 1, [I("i32.const", 0)])
    bad(Module(tables=[t], elems=[seg]), "unknown table 1")
    seg = Elem("passive", FUNCREF, [[I("ref.null", "extern")]])
    bad(Module(elems=[seg]), "type mismatch")


# ---------------------------------------------------------------- error reporting
def test_error_position() -> None:
    f = Func(
        0, [], [I("nop"), I("i32.const", 1), I("i64.eqz"), I("drop")], offsets=[10, 11, 13, 14]
    )
    with pytest.raises(ValidationError) as ei:
        validate_module(Module(types=[ft()], funcs=[Func(0, [], []), f]))
    assert ei.value.func == 1 and ei.value.offset == 13


def test_no_python_errors_escape() -> None:
    junk = [
        Module(imports=[Import("m", "x", "func", "zero")]),  # type: ignore[arg-type]
        Module(globals=[Global(GlobalType(I32), [("not an op",)])]),  # type: ignore[list-item]
        Module(types=[ft()], funcs=[Func(0, [], [I("i32.const")])]),
        Module(types=[ft()], funcs=[Func(0, [], [I("local.get", "x")])]),
        Module(exports=[Export("x", "thing", 0)]),
    ]
    for m in junk:
        with pytest.raises(ValidationError):
            validate_module(m)


def test_decode_errors_propagate() -> None:
    def lazy(f: Func) -> None:
        raise DecodeError("unexpected end", 42)

    with pytest.raises(DecodeError):
        validate_module(Module(types=[ft()], funcs=[Func(0, [], None, lazy=lazy)]))


def test_module_types_result() -> None:
    m = Module(
        types=[ft((I32,)), rec(sub(StructType()))],
        imports=[
            Import("m", "f", "func", 0),
            Import("m", "g", "global", GlobalType(RefType(True, 1))),
        ],
        funcs=[Func(0, [], [])],
        tags=[Tag(TagType(0))],
    )
    mt = ok(m)
    assert mt.func_type_ids == (mt.type_ids[0], mt.type_ids[0])
    assert mt.func_types[1] == FuncType((I32,))
    assert mt.global_types[0] == GlobalType(RefType(True, mt.type_ids[1]))
    assert mt.tag_type_ids == (mt.type_ids[0],)
    assert mt.canon_valtype(RefType(False, 1)) == RefType(False, mt.type_ids[1])
