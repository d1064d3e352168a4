"""WAT module parser: fields, abbreviations, type uses, immediates, names, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nanoproc.internal.errors import ParseError
from nanoproc.internal.syntax.module import Module
from nanoproc.internal.syntax.ops import BY_NAME, Catch
from nanoproc.internal.syntax.types import (
    FUNCREF,
    I32,
    I64,
    FieldType,
    FuncType,
    Limits,
    RefType,
    StructType,
)
from nanoproc.internal.text.wat import parse_wat


def op(name: str) -> object:
    return BY_NAME[name]


def body(text: str, fields: str = "") -> list[tuple[object, ...]]:
    m = parse_wat(f"(module {fields} (func {text}))")
    return m.funcs[-1].instrs


def err(text: str) -> str:
    with pytest.raises(ParseError) as info:
        parse_wat(text)
    return info.value.reason


def sigs(m: Module) -> list[FuncType]:
    return [st.comp for st in m.deftypes]  # type: ignore[misc]


def test_bare_fields_and_module_id() -> None:
    assert len(parse_wat("(func) (func)").funcs) == 2
    m = parse_wat("(module $m (func $f))")
    assert m.id == "m" and m.names is not None and m.names.module == "m"
    assert m.names.funcs == {0: "f"}
    assert "unexpected" in err("(module) (module)")


def test_implicit_types_are_appended_in_textual_order() -> None:
    m = parse_wat(
        """(module
          (type $a (func (param i32)))
          (import "m" "f" (func (param i64)))
          (type $b (func))
          (func (param i32) (call_indirect (param f32) (i32.const 0)))
          (func (result i32) (block (param i64) (result i32) unreachable))
          (table 0 funcref))"""
    )
    assert [(t.params, t.results) for t in sigs(m)] == [
        ((I32,), ()),
        ((), ()),
        ((I64,), ()),  # the import's type, after every explicit type
        ((BY_NAME["f32.const"].results[0],), ()),  # call_indirect, inside the first func
        ((), (I32,)),
        ((I64,), (I32,)),  # the block type
    ]
    assert m.imports[0].desc == 2
    assert [f.typeidx for f in m.funcs] == [0, 4]
    assert m.funcs[0].instrs[-1] == (op("call_indirect"), 3, 0)
    assert m.funcs[1].instrs[0] == (op("block"), 5)


def test_type_use_matches_only_plain_final_singletons() -> None:
    m = parse_wat(
        """(type (sub (func)))
           (rec (type (func)) (type (struct)))
           (type $plain (func))
           (func)"""
    )
    assert m.funcs[0].typeidx == 3
    # an explicit (rec ...) of one final function type is a plain function type
    assert parse_wat("(rec (type (func))) (func)").funcs[0].typeidx == 0


def test_type_use_with_inline_declarations_must_match() -> None:
    m = parse_wat("(type $t (func (param i32))) (func (type $t) (param $x i32) (local.get $x))")
    assert m.funcs[0].typeidx == 0 and len(m.deftypes) == 1
    assert "inline function type" in err("(type $t (func)) (func (type $t) (result i32) unreachable)")
    assert "inline function type" in err(
        "(type $t (func)) (func (block (type $t) (result i32) unreachable))"
    )
    assert "unknown type" in err("(func (type $nope))")
    # without inline declarations a numeric index passes through for the validator
    assert parse_wat("(func (type 7))").funcs[0].typeidx == 7


def test_import_ordering_and_duplicates() -> None:
    assert err('(func) (import "" "" (global i64))') == "import after function"
    assert err('(memory 0) (func (import "" ""))') == "import after memory"
    assert err('(global i32 (i32.const 0)) (table (import "" "") 0 funcref)') == "import after global"
    assert "duplicate func" in err('(import "" "" (func $f)) (func $f)')
    assert "duplicate local" in err("(func (param $x i32) (local $x i32))")
    assert "duplicate field" in err("(type (struct (field $a i32) (field $a i32)))")
    assert "unknown func" in err("(start $nope)")
    assert "multiple start" in err("(func $f) (start $f) (start $f)")
    assert "unknown module field" in err("(bogus)")


def test_inline_import_and_export_abbreviations() -> None:
    m = parse_wat(
        """(func $i (export "a") (import "m" "f") (param i32))
           (global (export "g") (export "h") (mut i32) (i32.const 1))
           (memory (export "mem") 1)
           (func (export "f") (result i32) (i32.const 0))"""
    )
    assert [(i.module, i.name, i.kind, i.desc) for i in m.imports] == [("m", "f", "func", 0)]
    assert [(e.name, e.kind, e.index) for e in m.exports] == [
        ("a", "func", 0),
        ("g", "global", 0),
        ("h", "global", 0),
        ("mem", "memory", 0),
        ("f", "func", 1),
    ]


def test_table_and_memory_abbreviations() -> None:
    m = parse_wat(
        """(func $f) (func $g)
           (table $t funcref (elem $f $g))
           (table i64 10 20 externref)
           (table 1 (ref null func) (ref.func $f))
           (table $r (ref func) (elem $g))
           (memory i64 (data "ab" "c"))
           (memory 1 2 shared (pagesize 1))"""
    )
    assert m.tables[0].type.limits == Limits(2, 2)
    assert m.tables[1].type.limits == Limits(10, 20, addr64=True)
    assert m.tables[2].init == [(op("ref.func"), 0)]
    e0, e1 = m.elems
    assert (e0.mode, e0.table, e0.funcidx_encoding, e0.explicit_table) == ("active", 0, True, True)
    assert e0.init == [[(op("ref.func"), 0)], [(op("ref.func"), 1)]]
    # a non-funcref table keeps its element type, so the list becomes expressions
    assert (e1.type, e1.table, e1.funcidx_encoding) == (RefType(False, "func"), 3, False)
    assert m.memories[0].type.limits == Limits(1, 1, addr64=True)
    assert m.datas[0].init == b"abc" and m.datas[0].offset == [(op("i64.const"), 0)]
    assert m.memories[1].type.limits == Limits(1, 2, False, True, 0)
    assert "page size" in err("(memory 1 (pagesize 3))")


def test_elem_segment_forms() -> None:
    m = parse_wat(
        """(table $t 1 funcref) (table $u 1 externref) (func $f)
           (elem (i32.const 0) $f)
           (elem (table $t) (offset (i32.const 0)) func $f)
           (elem (i32.const 0) funcref (ref.func $f) (item ref.null func))
           (elem (i32.const 0) (ref func) (ref.func $f))
           (elem (table $u) (i32.const 0) externref (ref.null extern))
           (elem $p func $f)
           (elem declare funcref (ref.func $f))"""
    )
    got = [(e.mode, e.table, e.funcidx_encoding, e.explicit_table, len(e.init)) for e in m.elems]
    assert got == [
        ("active", 0, True, False, 1),
        ("active", 0, True, True, 1),
        ("active", 0, False, False, 2),
        ("active", 0, False, True, 1),  # (ref func) cannot use the implicit-table form
        ("active", 1, False, True, 1),
        ("passive", 0, True, False, 1),
        ("declarative", 0, False, False, 1),
    ]
    assert m.elems[0].type == RefType(False, "func")
    assert m.elems[2].type == FUNCREF
    assert m.elems[2].init[1] == [(op("ref.null"), "func")]
    assert m.names is not None and m.names.elems == {5: "p"}


def test_data_segment_forms() -> None:
    m = parse_wat(
        """(memory $a 1) (memory $b 1)
           (data (i32.const 1) "x" "y")
           (data (memory $b) (offset (i32.const 2)) "z")
           (data $d "p")"""
    )
    d0, d1, d2 = m.datas
    assert (d0.mode, d0.memory, d0.init, d0.explicit_memory) == ("active", 0, b"xy", False)
    assert (d1.memory, d1.offset, d1.explicit_memory) == (1, [(op("i32.const"), 2)], True)
    assert (d2.mode, d2.init) == ("passive", b"p")
    assert m.data_count is None


def test_data_count_follows_data_index_uses_in_code() -> None:
    src = '(memory 1) (data "a") (data "b") (func {})'
    assert parse_wat(src.format("(data.drop 1)")).data_count == 2
    assert parse_wat(src.format("(memory.init 0 (i32.const 0) (i32.const 0) (i32.const 0))")).data_count == 2
    assert parse_wat(src.format("")).data_count is None


def test_folded_and_flat_instructions_agree() -> None:
    folded = body("(result i32) (i32.add (i32.const 1) (local.get 0)) drop (if (result i32) (i32.const 1) (then (i32.const 2)) (else (i32.const 3)))", "")
    flat = body("(result i32) i32.const 1 local.get 0 i32.add drop i32.const 1 if (result i32) i32.const 2 else i32.const 3 end")
    assert folded == flat
    assert folded[-6:] == [
        (op("i32.const"), 1),
        (op("if"), I32),
        (op("i32.const"), 2),
        (op("else"),),
        (op("i32.const"), 3),
        (op("end"),),
    ]


def test_labels() -> None:
    instrs = body("(block $a (loop $b (br $a) (br $b) (br 1) block $c br_table $c $b $a 0 end $c)) ")
    brs = [i for i in instrs if i[0] in (op("br"), op("br_table"))]
    assert brs == [(op("br"), 1), (op("br"), 0), (op("br"), 1), (op("br_table"), (0, 1, 2), 0)]
    # inner labels shadow outer ones of the same name
    assert body("(block $l (block $l (br $l)))")[2] == (op("br"), 0)
    assert "unknown label" in err("(func (block $a) (br $a))")
    assert "mismatching label" in err("(func block $a end $b)")
    assert "mismatching label" in err("(func i32.const 0 if $a else $b end)")
    assert "unexpected token else" in err("(func block else end)")
    assert "expected end" in err("(func block)")


def test_block_types() -> None:
    assert body("(block (result i32) unreachable)")[0] == (op("block"), I32)
    assert body("(block)")[0] == (op("block"), None)
    m = parse_wat("(func (block (result i32 i64) unreachable))")
    assert m.funcs[0].instrs[0] == (op("block"), 1)
    assert "unexpected token" in err("(func (block (param $x i32)))")


def test_text_order_immediates() -> None:
    fields = "(table $t0 1 funcref) (table $t1 1 funcref) (memory $m0 1) (memory $m1 1) (elem $e func) (data $d \"\")"
    instrs = body(
        """(call_indirect $t1 (type 0) (i32.const 0))
           (table.init $t1 $e (i32.const 0) (i32.const 0) (i32.const 0))
           (table.init $e (i32.const 0) (i32.const 0) (i32.const 0))
           (table.copy $t0 $t1 (i32.const 0) (i32.const 0) (i32.const 0))
           (table.copy (i32.const 0) (i32.const 0) (i32.const 0))
           (memory.init $m1 $d (i32.const 0) (i32.const 0) (i32.const 0))
           (memory.copy $m1 $m0 (i32.const 0) (i32.const 0) (i32.const 0))
           (memory.fill $m1 (i32.const 0) (i32.const 0) (i32.const 0))
           (drop (memory.size $m1))""",
        fields,
    )
    picked = [i for i in instrs if i[0] is not op("i32.const")]
    assert picked == [
        (op("call_indirect"), 0, 1),
        (op("table.init"), 0, 1),
        (op("table.init"), 0, 0),
        (op("table.copy"), 0, 1),
        (op("table.copy"), 0, 0),
        (op("memory.init"), 0, 1),
        (op("memory.copy"), 1, 0),
        (op("memory.fill"), 1),
        (op("memory.size"), 1),
        (op("drop"),),
    ]


def test_memargs() -> None:
    mems = "(memory 1) (memory $m 1)"
    assert body("(drop (i32.load (i32.const 0)))", mems)[1] == (op("i32.load"), (2, 0, 0))
    assert body("(drop (i64.load8_u $m offset=0x10 align=1 (i32.const 0)))", mems)[1] == (
        op("i64.load8_u"),
        (0, 16, 1),
    )
    assert body("(drop (i32.load 1 (i32.const 0)))", mems)[1] == (op("i32.load"), (2, 0, 1))
    assert "power of two" in err("(memory 1) (func (drop (i32.load align=3 (i32.const 0))))")
    assert "power of two" in err("(memory 1) (func (drop (i32.load align=0 (i32.const 0))))")
    assert "unknown operator" in err("(memory 1) (func (drop (i32.load offset=-1 (i32.const 0))))")


def test_lane_memory_instructions_read_memory_index_only_when_two_numbers_follow() -> None:
    mems = "(memory 1) (memory 1)"
    v = "(v128.const i64x2 0 0)"
    assert body(f"(drop (v128.load8_lane 3 (i32.const 0) {v}))", mems)[2] == (
        op("v128.load8_lane"),
        (0, 0, 0),
        3,
    )
    assert body(f"(drop (v128.load16_lane 1 offset=2 3 (i32.const 0) {v}))", mems)[2] == (
        op("v128.load16_lane"),
        (1, 2, 1),
        3,
    )


def test_simd_immediates() -> None:
    (instr, *_rest) = body("(drop (v128.const i16x8 -1 0 1 2 3 4 5 0xffff))")
    assert instr[1] == bytes.fromhex("ffff0000010002000300040005 00ffff".replace(" ", ""))
    instrs = body("(drop (v128.const f32x4 1 -0 nan inf))")
    assert instrs[0][1] == bytes.fromhex("0000803f" "00000080" "0000c07f" "0000807f")
    shuffle = body(f"(drop (i8x16.shuffle {' '.join(map(str, range(16)))} (v128.const i64x2 0 0) (v128.const i64x2 0 0)))")
    assert shuffle[2] == (op("i8x16.shuffle"), bytes(range(16)))
    assert body("(drop (i8x16.extract_lane_u 15 (v128.const i64x2 0 0)))")[1] == (
        op("i8x16.extract_lane_u"),
        15,
    )
    assert "wrong number of lane literals" in err("(func (drop (v128.const i32x4 1 2 3)))")
    assert "constant out of range" in err("(func (drop (v128.const i8x16 256 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)))")
    assert "unexpected token" in err("(func (drop (i8x16.extract_lane_s +1 (v128.const i64x2 0 0))))")


def test_reference_and_gc_instructions() -> None:
    fields = "(type $s (struct (field $x i32) (field $y (mut i64)))) (type $f (func))"
    instrs = body(
        """(drop (struct.get $s $y (struct.new_default $s)))
           (drop (ref.test (ref null $s) (ref.null none)))
           (drop (ref.cast (ref $f) (ref.null nofunc)))
           (drop (block (result anyref) (br_on_cast 0 anyref (ref $s) (ref.null any))))
           (drop (select (result i32) (i32.const 1) (i32.const 2) (i32.const 3)))
           (drop (select (i32.const 1) (i32.const 2) (i32.const 3)))""",
        fields,
    )
    assert instrs[1] == (op("struct.get"), 0, 1)
    assert instrs[4] == (BY_NAME["ref.test null"], RefType(True, 0))
    assert instrs[7] == (BY_NAME["ref.cast"], RefType(False, 1))
    assert instrs[11] == (op("br_on_cast"), (0, RefType(True, "any"), RefType(False, 0)))
    assert instrs[17] == (BY_NAME["select_t"], (I32,))
    assert instrs[22] == (BY_NAME["select"],)
    m = parse_wat(fields)
    assert m.deftypes[0].comp == StructType((FieldType(I32), FieldType(I64, True)))
    assert m.names is not None and m.names.fields == {0: {0: "x", 1: "y"}}
    assert "unknown field" in err(fields + "(func (drop (struct.get $s $z (struct.new_default $s))))")


def test_try_table_catch_labels_resolve_outside_the_block() -> None:
    instrs = body(
        "(block $out (try_table $in (catch $e $out) (catch_all_ref 0) (br $in)))",
        "(tag $e)",
    )
    assert instrs[1] == (
        op("try_table"),
        None,
        (Catch("catch", 0, 0), Catch("catch_all_ref", None, 0)),
    )
    assert instrs[2] == (op("br"), 0)


def test_constants() -> None:
    instrs = body(
        "(drop (i32.const 0xffffffff)) (drop (i64.const -1)) (drop (f32.const -nan:0x1)) (drop (f64.const 0x1p-1074))"
    )
    assert [i[1] for i in instrs[::2]] == [-1, -1, 0xFF800001, 1]
    assert "constant out of range" in err("(func (drop (i32.const 0x1_0000_0000)))")
    assert "unexpected token" in err("(func (drop (f32.const nan:canonical)))")
    assert "0x" in err("(func (drop (i32.const 0x)))")


def test_unknown_operators_and_old_names() -> None:
    for name in ("get_local 0", "i32.wrap/i64", "select_t", "current_memory"):
        assert "unknown operator" in err(f"(func {name})")


def test_names_and_locals() -> None:
    m = parse_wat(
        """(func $f (param $a i32) (param i64) (local $b f32) (local f64 f64) (local $c i32)
             (block $l (local.set $c (local.get $a))))"""
    )
    f = m.funcs[0]
    assert [(n, str(t)) for n, t in f.locals] == [(1, "f32"), (2, "f64"), (1, "i32")]
    assert f.instrs[1] == (op("local.get"), 0) and f.instrs[2] == (op("local.set"), 5)
    assert m.names is not None
    assert m.names.locals == {0: {0: "a", 2: "b", 5: "c"}}
    assert m.names.labels == {0: {0: "l"}}


def test_deep_nesting_parses_whatever_the_recursion_limit() -> None:
    """Folded instructions nest as deep as the text does (wasmtime has no limit
    either), independently of Python's recursion limit (issue 10)."""
    import sys

    depth = 20000
    old = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(200)
        m = parse_wat("(module (func " + "(block " * depth + ")" * depth + "))")
    finally:
        sys.setrecursionlimit(old)
    assert len(m.funcs[0].instrs) == 2 * depth  # each block and its end
    m = parse_wat("(func " + "block " * 5000 + "end " * 5000 + ")")
    assert len(m.funcs[0].instrs) == 10000
    # operands nest too
    m = parse_wat("(func (result i32) " + "(i32.eqz " * depth + "(i32.const 0)"
                  + ")" * depth + ")")
    assert len(m.funcs[0].instrs) == depth + 1


_SEED = """(module
  (type $t (func (param i32) (result i32)))
  (import "m" "f" (func $imp (type $t)))
  (table $tab 2 funcref) (memory $mem 1) (global $g (mut i32) (i32.const 0))
  (func $f (export "f") (type $t) (local $x i64)
    (block $b (result i32)
      (br_if $b (local.get 0) (i32.const 1))
      (call_indirect $tab (type $t) (i32.const 0) (i32.const 0))
      (i32.load offset=4 align=2 (i32.const 8))
      (v128.const f32x4 1 2.5 -nan 0x1p3) (drop) i32.add))
  (elem (table $tab) (i32.const 0) func $f $imp)
  (data (memory $mem) (i32.const 0) "a\\00b")
)"""


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_garbled_text_raises_only_parse_errors(data: st.DataObject) -> None:
    text = _SEED
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["cut", "insert", "delete"]))
        if action == "cut":
            text = text[:i]
        elif action == "insert":
            text = text[:i] + data.draw(st.sampled_from(list("()$\";@\\ 0x.-_") + ["nan:", "(;", ";;", "\n"])) + text[i:]
        else:
            text = text[:i] + text[i + data.draw(st.integers(1, 8)) :]
    try:
        parse_wat(text)
    except ParseError:
        pass


def test_mvp_segment_indices_page_sizes_and_empty_block_params() -> None:
    m = parse_wat(
        """(table 1 funcref) (table 1 funcref) (func $f) (elem 1 (i32.const 0) $f)
           (memory 1) (data 0 (i32.const 0) "") (memory (pagesize 1) (data "ab"))
           (func (block (param) (result i32) unreachable))"""
    )
    (e,) = m.elems
    assert (e.table, e.funcidx_encoding, e.explicit_table) == (1, True, True)
    assert m.datas[0].memory == 0
    assert m.memories[1].type.limits == Limits(2, 2, page_size_log2=0)
    assert m.funcs[1].instrs[0] == (op("block"), I32)


def test_every_operator_has_a_text_reader() -> None:
    from nanoproc.internal.syntax.ops import OPS
    from nanoproc.internal.text.instrs import _IMM, _SPECIAL, BLOCK_WORDS

    for o in OPS:
        if o.name not in _SPECIAL and o.name not in BLOCK_WORDS:
            assert all(k in _IMM for k in o.imms), o.name
