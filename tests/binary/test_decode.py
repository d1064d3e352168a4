"""Decoder unit tests on hand-written modules: structure, errors, laziness, inputs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from binary_builder import HEADER, body, func_module, module, name, s, section, u, vec

from nanoproc.internal.binary import decode_body, decode_const_expr, decode_module
from nanoproc.internal.errors import DecodeError
from nanoproc.internal.syntax import ops
from nanoproc.internal.syntax.module import Module
from nanoproc.internal.syntax.ops import BY_NAME, Catch
from nanoproc.internal.syntax.types import (
    EXTERNREF,
    F32,
    FUNCREF,
    I8,
    I16,
    I32,
    I64,
    V128,
    ArrayType,
    FieldType,
    FuncType,
    Limits,
    RefType,
    StructType,
    SubType,
)


def error(data: bytes, *, lazy: bool = False) -> DecodeError:
    with pytest.raises(DecodeError) as e:
        m = decode_module(data, lazy=lazy)
        for f in m.funcs:
            decode_body(f)
    return e.value


def instrs(code: bytes, *, extra: bytes = b"", types: bytes = b"\x60\x00\x00") -> list[tuple]:
    m = decode_module(func_module(body(code), types=types, extra=extra), lazy=False)
    return m.funcs[0].instrs


# ---------------------------------------------------------------- header and sections
def test_empty_module() -> None:
    assert decode_module(HEADER) == Module()


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        (b"", "unexpected end", 0),
        (b"\x00as", "unexpected end", 3),
        (b"\x00asm\x01\x00", "unexpected end", 6),
        (b"asm\x00\x01\x00\x00\x00", "magic header not detected", 0),
        (b"\x00asm\x02\x00\x00\x00", "unknown binary version", 4),
        (HEADER + b"\x0e\x01\x00", "malformed section id", 8),
        (HEADER + b"\x01", "unexpected end of section or function", 9),
        (HEADER + b"\x01\x05\x00", "length out of bounds", 9),
        (HEADER + b"\x01\x02\x00\x00", "section size mismatch", 10),
        (HEADER + b"\x06\x01\x00\x05\x01\x00", "unexpected content after last section", 11),
        (HEADER + b"\x01\x01\x00\x01\x01\x00", "unexpected content after last section", 11),
        (HEADER + b"\x0d\x01\x00\x05\x01\x00", "unexpected content after last section", 11),
    ],
)
def test_module_level_errors(data: bytes, message: str, offset: int) -> None:
    e = error(data)
    assert e.reason.startswith(message)
    assert e.offset == offset
    s2 = error_stream(data)
    assert (s2.reason, s2.offset) == (e.reason, e.offset)


def error_stream(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as e:
        decode_module(io.BytesIO(data), lazy=False)
    return e.value


def test_tag_section_sits_between_memory_and_global() -> None:
    data = module(
        section(1, vec(b"\x60\x01\x7f\x00")),
        section(5, vec(b"\x00\x01")),
        section(13, vec(b"\x00\x00")),
        section(6, vec(b"\x7f\x00\x41\x05\x0b")),
    )
    m = decode_module(data)
    assert [t.type.typeidx for t in m.tags] == [0]
    assert m.globals[0].init == [(ops.I32_CONST, 5)]
    assert "zero byte expected" in str(error(module(section(13, vec(b"\x01\x00")))))


def test_custom_sections_remember_their_place() -> None:
    custom = section(0, name("c") + b"xy")
    data = module(custom, section(1, vec()), custom, section(7, vec()), custom)
    m = decode_module(data)
    assert [(c.name, c.data, c.after) for c in m.customs] == [
        ("c", b"xy", 0),
        ("c", b"xy", 1),
        ("c", b"xy", 7),
    ]


def test_custom_section_errors() -> None:
    assert error(module(b"\x00\x00")).reason == "unexpected end of section or function"
    assert error(module(section(0, b"\x02\xc0\x80"))).reason == "malformed UTF-8 encoding"
    assert error(module(b"\x00\x01\x05abcde")).reason == "unexpected end of section or function"


# ---------------------------------------------------------------- types
def test_type_section_forms() -> None:
    types = vec(
        b"\x60" + vec(b"\x7f", b"\x70", b"\x63\x00", b"\x64\x6e") + vec(b"\x7b"),
        b"\x4e" + vec(b"\x5f" + vec(b"\x78\x00", b"\x77\x01", b"\x7d\x01")),  # rec of one
        b"\x50" + vec(u(0)) + b"\x5e\x64\x01\x01",  # sub (non-final) with a supertype
        b"\x4f" + vec() + b"\x5e\x7e\x00",  # sub final, no supertypes
        b"\x4e" + vec(),  # empty recursion group
    )
    m = decode_module(module(section(1, types)))
    st = m.deftypes
    assert st[0] == SubType(
        FuncType((I32, FUNCREF, RefType(True, 0), RefType(False, "any")), (V128,))
    )
    assert m.types[1].explicit and st[1].comp == StructType(
        (FieldType(I8), FieldType(I16, True), FieldType(F32, True))
    )
    assert st[2] == SubType(ArrayType(FieldType(RefType(False, 1), True)), final=False, supers=(0,))
    assert st[3] == SubType(ArrayType(FieldType(I64)), final=True, supers=())
    assert not m.types[0].explicit and m.types[4].subtypes == ()


@pytest.mark.parametrize(
    ("types", "message"),
    [
        (b"\x5e\x78\x02", "malformed mutability"),
        (b"\x60\x01\x75\x00", "malformed reference type"),
        (b"\x60\x01\xff\x7f\x00", "integer representation too long"),
        (b"\x5e\x76\x00", "malformed storage type"),
        (b"\x61\x00\x00", "malformed definition type"),
        (b"\x60\x01\x64\x75\x00", "malformed heap type"),
    ],
)
def test_type_errors(types: bytes, message: str) -> None:
    assert error(module(section(1, vec(types)))).reason == message


@pytest.mark.parametrize(
    ("flags", "limits"),
    [
        (b"\x00\x01", Limits(1)),
        (b"\x01\x01\x02", Limits(1, 2)),
        (b"\x04\x80\x80\x80\x80\x10", Limits(2**32, None, addr64=True)),
        (b"\x05\x00" + u(2**40), Limits(0, 2**40, addr64=True)),
    ],
)
def test_limits(flags: bytes, limits: Limits) -> None:
    assert decode_module(module(section(5, vec(flags)))).memories[0].type.limits == limits


@pytest.mark.parametrize(
    "flags", [b"\x02\x00", b"\x03\x00\x00", b"\x08\x00", b"\x81\x00", b"\x10\x00"]
)
def test_limits_flags_outside_wasm3_are_malformed(flags: bytes) -> None:
    # 0x02/0x03: shared (threads), 0x08: custom page size, 0x81: a LEB-looking flag byte.
    assert error(module(section(5, vec(flags)))).reason == "malformed limits flags"


def test_tables_with_and_without_initialiser() -> None:
    data = module(
        section(1, vec(b"\x60\x00\x00")),
        section(4, vec(b"\x70\x00\x01", b"\x40\x00\x64\x70\x00\x01\xd2\x00\x0b")),
    )
    m = decode_module(data)
    assert m.tables[0].init is None and m.tables[0].type.elem == FUNCREF
    assert m.tables[1].type.elem == RefType(False, "func")
    assert m.tables[1].init == [(ops.REF_FUNC, 0)]
    # The reference tries the 0x40 form, then a plain table type: bad reference type.
    assert (
        error(module(section(4, vec(b"\x40\x01\x70\x00\x01")))).reason == "malformed reference type"
    )


def test_imports_of_every_kind() -> None:
    data = module(
        section(1, vec(b"\x60\x00\x00")),
        section(2, vec(
            name("m") + name("f") + b"\x00\x00",
            name("m") + name("t") + b"\x01\x6f\x00\x01",
            name("m") + name("mem") + b"\x02\x04\x01",
            name("m") + name("g") + b"\x03\x7e\x01",
            name("m") + name("e") + b"\x04\x00\x00",
        )),
    )  # fmt: skip
    m = decode_module(data)
    assert [i.kind for i in m.imports] == ["func", "table", "memory", "global", "tag"]
    assert m.imports[0].desc == 0
    assert m.imports[1].desc.elem == EXTERNREF  # type: ignore[union-attr]
    assert m.imports[2].desc.limits == Limits(1, addr64=True)  # type: ignore[union-attr]
    assert m.imports[3].desc.mutable  # type: ignore[union-attr]
    assert m.imports[4].desc.typeidx == 0  # type: ignore[union-attr]
    bad = module(section(2, vec(name("m") + name("x") + b"\x05")))
    assert error(bad).reason == "malformed import kind"


def test_exports_and_start() -> None:
    data = func_module(body(b""), extra=section(7, vec(name("e") + b"\x00\x00")) + section(8, u(0)))
    m = decode_module(data)
    assert (m.exports[0].name, m.exports[0].kind, m.exports[0].index) == ("e", "func", 0)
    assert m.start == 0
    bad = func_module(body(b""), extra=section(7, vec(name("e") + b"\x05\x00")))
    assert error(bad).reason == "malformed export kind"


# ---------------------------------------------------------------- segments
ELEM_PRELUDE = (
    section(1, vec(b"\x60\x00\x00")),
    section(3, vec(b"\x00")),
    section(4, vec(b"\x70\x00\x01")),
)
CODE = section(10, vec(u(2) + b"\x00\x0b"))
OFFSET = b"\x41\x00\x0b"


@pytest.mark.parametrize(
    ("seg", "mode", "type_", "table", "funcidx", "explicit"),
    [
        (b"\x00" + OFFSET + vec(b"\x00"), "active", RefType(False, "func"), 0, True, False),
        (b"\x01\x00" + vec(b"\x00"), "passive", RefType(False, "func"), 0, True, False),
        (
            b"\x02\x00" + OFFSET + b"\x00" + vec(b"\x00"),
            "active",
            RefType(False, "func"),
            0,
            True,
            True,
        ),
        (b"\x03\x00" + vec(b"\x00"), "declarative", RefType(False, "func"), 0, True, False),
        (b"\x04" + OFFSET + vec(b"\xd2\x00\x0b"), "active", FUNCREF, 0, False, False),
        (b"\x05\x70" + vec(b"\xd0\x70\x0b"), "passive", FUNCREF, 0, False, False),
        (b"\x06\x00" + OFFSET + b"\x70" + vec(b"\xd2\x00\x0b"), "active", FUNCREF, 0, False, True),
        (
            b"\x07\x64\x70" + vec(b"\xd2\x00\x0b"),
            "declarative",
            RefType(False, "func"),
            0,
            False,
            False,
        ),
    ],
)
def test_element_segment_forms(
    seg: bytes, mode: str, type_: RefType, table: int, funcidx: bool, explicit: bool
) -> None:
    m = decode_module(module(*ELEM_PRELUDE, section(9, vec(seg)), CODE))
    e = m.elems[0]
    assert (e.mode, e.type, e.table, e.funcidx_encoding, e.explicit_table) == (
        mode, type_, table, funcidx, explicit,
    )  # fmt: skip
    assert (e.offset is not None) == (mode == "active")
    assert len(e.init) == 1 and e.init[0][0][0] in (ops.REF_FUNC, ops.REF_NULL)


@pytest.mark.parametrize(
    ("seg", "message"),
    [
        (b"\x08", "malformed elements segment kind"),
        (b"\x01\x01" + vec(), "malformed element kind"),
        (b"\x05\x7f" + vec(), "malformed reference type"),
        (b"\x05\x70" + vec(b"\xf3\x00\x0b"), "illegal opcode f3"),
    ],
)
def test_element_segment_errors(seg: bytes, message: str) -> None:
    assert error(module(*ELEM_PRELUDE, section(9, vec(seg)), CODE)).reason == message


def test_data_segment_forms_and_data_count() -> None:
    data = module(
        section(5, vec(b"\x00\x01", b"\x00\x01")),
        section(12, u(3)),
        section(
            11,
            vec(
                b"\x00" + OFFSET + vec(b"a"),
                b"\x01" + vec(b"b", b"c"),
                b"\x02\x01" + OFFSET + vec(),
            ),
        ),
    )
    m = decode_module(data)
    assert m.data_count == 3
    assert [(d.mode, d.init, d.memory, d.explicit_memory) for d in m.datas] == [
        ("active", b"a", 0, False), ("passive", b"bc", 0, False), ("active", b"", 1, True),
    ]  # fmt: skip
    assert error(module(section(11, vec(b"\x03")))).reason == "malformed data segment kind"
    mismatch = module(section(12, u(2)), section(11, vec(b"\x01\x00")))
    assert error(mismatch).reason == "data count and data section have inconsistent lengths"


# ---------------------------------------------------------------- code
def test_function_and_code_counts_must_agree() -> None:
    only_funcs = module(section(1, vec(b"\x60\x00\x00")), section(3, vec(b"\x00")))
    assert error(only_funcs).reason == "function and code section have inconsistent lengths"
    only_code = module(section(10, vec(u(2) + b"\x00\x0b")))
    assert error(only_code).reason == "function and code section have inconsistent lengths"


def test_locals_groups_are_kept() -> None:
    m = decode_module(
        func_module(body(b"", locals_=vec(b"\x02\x7f", b"\x00\x7e", b"\x01\x63\x00")))
    )
    assert m.funcs[0].locals == [(2, I32), (0, I64), (1, RefType(True, 0))]
    assert m.funcs[0].local_types() == [I32, I32, RefType(True, 0)]


def test_too_many_locals() -> None:
    many = vec(b"\xff\xff\xff\xff\x0f\x7f", b"\x01\x7e")
    assert error(func_module(body(b"", locals_=many))).reason == "too many locals"
    assert error(func_module(body(b"", locals_=many)), lazy=True).reason == "too many locals"


def test_offsets_are_absolute() -> None:
    code = b"\x41\x01\x1a\x01"  # i32.const 1; drop; nop
    data = func_module(body(code))
    start = data.index(body(code))
    for lazy in (True, False):
        f = decode_module(data, lazy=lazy).funcs[0]
        assert f.code_offset == start
        assert f.instrs == [(ops.I32_CONST, 1), (BY_NAME["drop"],), (ops.NOP,)]
        assert list(f.offsets or ()) == [start + 1, start + 3, start + 4]
    streamed = decode_module(io.BytesIO(data)).funcs[0]
    decode_body(streamed)
    assert list(streamed.offsets or ()) == [start + 1, start + 3, start + 4]


def test_lazy_bodies_fail_on_first_use() -> None:
    data = func_module(body(b"\xff"))
    m = decode_module(data)  # the module structure is fine
    assert m.funcs[0].body is None
    with pytest.raises(DecodeError, match="illegal opcode ff"):
        _ = m.funcs[0].instrs
    assert error(data).reason == "illegal opcode ff"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (b"\x02\x40\x0b", [(ops.BLOCK, None), (ops.END,)]),
        (
            b"\x03\x7f\x41\x00\x0b\x1a",
            [(ops.LOOP, I32), (ops.I32_CONST, 0), (ops.END,), (BY_NAME["drop"],)],
        ),
        (b"\x02\x00\x0b", [(ops.BLOCK, 0), (ops.END,)]),
        (b"\x02\x80\x00\x0b", [(ops.BLOCK, 0), (ops.END,)]),  # padded s33 type index
        (b"\x02\x63\x6e\x0b", [(ops.BLOCK, RefType(True, "any")), (ops.END,)]),
        (
            b"\x41\x00\x04\x40\x05\x0b",
            [(ops.I32_CONST, 0), (ops.IF, None), (ops.ELSE,), (ops.END,)],
        ),
    ],
)
def test_blocks(code: bytes, expected: list[tuple]) -> None:
    assert instrs(code) == expected


@pytest.mark.parametrize(
    "code",
    [
        b"\x05",  # else at function level
        b"\x02\x40\x05\x0b",  # else in a block
        b"\x41\x00\x04\x40\x05\x05\x0b",  # two elses
    ],
)
def test_misplaced_else(code: bytes) -> None:
    assert error(func_module(body(code))).reason == "END opcode expected"


def test_body_end_checks() -> None:
    # end before the declared size: the rest is not instructions
    assert error(func_module(b"\x00\x0b\x01")).reason == "section size mismatch"
    # no end within the body but more bodies follow: read on, as the reference does
    two = module(
        section(1, vec(b"\x60\x00\x00")),
        section(3, vec(b"\x00", b"\x00")),
        section(10, vec(u(2) + b"\x00\x01", u(3) + b"\x00\x05\x0b")),
    )
    assert error(two).reason == "END opcode expected"
    assert error(two, lazy=True).reason == "END opcode expected"


def test_memarg() -> None:
    load = BY_NAME["i32.load"]
    assert instrs(b"\x41\x00\x28\x02\x10\x1a")[1] == (load, (2, 16, 0))
    multi = instrs(
        b"\x41\x00\x28\x42\x01\x80\x01\x1a", extra=section(5, vec(b"\x00\x01", b"\x00\x01"))
    )
    assert multi[1] == (load, (2, 128, 1))
    big = instrs(b"\x42\x00\x29\x03" + u(2**40) + b"\x1a")
    assert big[1] == (BY_NAME["i64.load"], (3, 2**40, 0))
    assert (
        error(func_module(body(b"\x41\x00\x28\x80\x01\x00\x1a"))).reason == "malformed memop flags"
    )


def test_immediates_of_every_kind() -> None:
    code = b"".join([
        b"\x41" + s(-123456), b"\x1a",
        b"\x42" + s(-(2**63)), b"\x1a",
        b"\x43\x00\x00\xc0\x7f", b"\x1a",  # f32 NaN bits kept
        b"\x44" + bytes(range(8)), b"\x1a",
        b"\x02\x40\x41\x00\x0e" + vec(b"\x00", b"\x01") + b"\x00\x0b",
        b"\x41\x00\x41\x00\x41\x00\x1c" + vec(b"\x7f") + b"\x1a",
        b"\xd0\x6f\x1a", b"\xd0\x00\x1a",
        b"\xfd\x0c" + bytes(range(16)), b"\xfd\x0d" + bytes(range(16)), b"\x1a",
        b"\xfd\x0c" + bytes(16) + b"\xfd\x15\x0f\x1a",
        b"\xfd\x80\x02",  # i8x16.relaxed_swizzle (0x100) needs a 2-byte sub-opcode; stack is junk
    ])  # fmt: skip
    got = instrs(code, types=b"\x60\x00\x00")
    assert got[0] == (ops.I32_CONST, -123456)
    assert got[2] == (ops.I64_CONST, -(2**63))
    assert got[4] == (ops.F32_CONST, 0x7FC00000)
    assert got[6] == (ops.F64_CONST, int.from_bytes(bytes(range(8)), "little"))
    assert (BY_NAME["br_table"], (0, 1), 0) in got
    assert (BY_NAME["select_t"], (I32,)) in got
    assert (ops.REF_NULL, "extern") in got and (ops.REF_NULL, 0) in got
    assert (ops.V128_CONST, bytes(range(16))) in got
    assert (BY_NAME["i8x16.shuffle"], bytes(range(16))) in got
    assert (BY_NAME["i8x16.extract_lane_s"], 15) in got
    assert got[-1] == (BY_NAME["i8x16.relaxed_swizzle"],)


def test_gc_and_exception_immediates() -> None:
    code = b"".join([
        b"\x1f\x40" + vec(b"\x00\x00\x00", b"\x01\x00\x00", b"\x02\x00", b"\x03\x00") + b"\x0b",
        b"\xd0\x6e\xfb\x18\x03\x00\x6e\x6c\x1a",  # br_on_cast 0 anyref (ref null i31)
        b"\xd0\x6e\xfb\x15\x6c\x1a",  # ref.test (ref null i31)
        b"\xd0\x6e\xfb\x16\x6c\x1a",  # ref.cast (ref i31)
    ])  # fmt: skip
    got = instrs(code, extra=section(13, vec(b"\x00\x00")))
    assert got[0] == (
        ops.TRY_TABLE,
        None,
        (Catch("catch", 0, 0), Catch("catch_ref", 0, 0), Catch("catch_all", None, 0),
         Catch("catch_all_ref", None, 0)),
    )  # fmt: skip
    assert (BY_NAME["br_on_cast"], (0, RefType(True, "any"), RefType(True, "i31"))) in got
    assert (BY_NAME["ref.test null"], RefType(True, "i31")) in got
    assert (BY_NAME["ref.cast"], RefType(False, "i31")) in got
    bad_catch = func_module(body(b"\x1f\x40" + vec(b"\x04\x00") + b"\x0b"))
    assert error(bad_catch).reason == "malformed catch clause"
    bad_flags = func_module(body(b"\xd0\x6e\xfb\x18\x04\x00\x6e\x6c\x1a"))
    assert error(bad_flags).reason == "malformed br_on_cast flags"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (b"\x27", "illegal opcode 27"),  # 0x06 is the legacy try
        (b"\xfc\x12", "illegal opcode fc 12"),
        (b"\xfb\x80\x01", "illegal opcode fb 80"),
        (b"\xfd\xff\xff\xff\xff\x0f", "illegal opcode fd ffffffff"),
        (b"\xfc\x80\x80\x80\x80\x10", "integer too large"),
    ],
)
def test_illegal_opcodes(code: bytes, message: str) -> None:
    assert error(func_module(body(code))).reason == message


@pytest.mark.parametrize(
    "code",
    [
        b"\xfc\x09\x00",
        b"\x41\x00\x41\x00\x41\x00\xfc\x08\x00\x00",
        b"\x41\x00\x41\x00\xfb\x09\x00\x00\x1a",
    ],
)
def test_data_count_required(code: bytes) -> None:
    def build(data_count: bytes) -> bytes:
        return module(
            section(1, vec(b"\x60\x00\x00", b"\x5e\x78\x00")),
            section(3, vec(b"\x00")),
            section(5, vec(b"\x00\x01")),
            data_count,
            section(10, vec(u(len(body(code))) + body(code))),
            section(11, vec(b"\x01" + vec(b"x"))),
        )

    assert error(build(b"")).reason == "data count section required"
    assert error(build(b""), lazy=True).reason == "data count section required"
    assert len(decode_module(build(section(12, u(1))), lazy=False).funcs[0].instrs) > 0


def test_deep_nesting_does_not_recurse() -> None:
    depth = 100_000
    code = b"\x02\x40" * depth + b"\x0b" * depth
    got = instrs(code)
    assert len(got) == 2 * depth


def test_const_expr_helper() -> None:
    assert decode_const_expr(b"\x41\x7f\x0b") == ([(ops.I32_CONST, -1)], 3)
    assert decode_const_expr(b"\x23\x00\x41\x01\x6a\x0b", 0)[0][2] == (BY_NAME["i32.add"],)
    with pytest.raises(DecodeError, match="unexpected end"):
        decode_const_expr(b"\x41\x00")


# ---------------------------------------------------------------- names
def test_name_section_is_parsed_and_kept_raw() -> None:
    payload = b"".join([
        section(0, name("mod")),
        section(1, vec(u(0) + name("f"))),
        section(2, vec(u(0) + vec(u(0) + name("x")))),
        section(4, vec(u(0) + name("t"))),
        section(10, vec(u(1) + vec(u(0) + name("fld")))),
        section(11, vec(u(0) + name("exn"))),
        section(42, b"\x01\x02"),  # unknown subsection: skipped
    ])  # fmt: skip
    data = func_module(body(b"")) + section(0, name("name") + payload)
    m = decode_module(data)
    assert m.customs[-1].name == "name" and m.customs[-1].data == payload
    assert m.names is not None
    assert (m.names.module, m.names.funcs, m.names.locals) == ("mod", {0: "f"}, {0: {0: "x"}})
    assert (m.names.types, m.names.fields, m.names.tags) == ({0: "t"}, {1: {0: "fld"}}, {0: "exn"})


@pytest.mark.parametrize(
    "payload",
    [
        b"\x01\x05\x01\x00\x01",
        b"\x01\x03\x01\x00\x02\xc0\x80",
        b"\x01\x01\x00\x01\x01\x00",
        b"\x00\x09",
    ],
)
def test_malformed_name_section_is_ignored(payload: bytes) -> None:
    m = decode_module(module(section(0, name("name") + payload)))
    assert m.names is None
    assert m.customs[0].data == payload


# ---------------------------------------------------------------- inputs
def test_every_input_kind_gives_the_same_module(tmp_path: Path) -> None:
    data = func_module(body(b"\x41\x2a\x1a"), extra=section(7, vec(name("f") + b"\x00\x00")))
    path = tmp_path / "m.wasm"
    path.write_bytes(data)
    ref = decode_module(data, lazy=False)
    with path.open("rb") as f:
        from_file = decode_module(f, lazy=False)
    for m in (
        decode_module(bytearray(data), lazy=False),
        decode_module(memoryview(data), lazy=False),
        from_file,
    ):
        assert m.funcs[0].instrs == ref.funcs[0].instrs
        assert m.exports == ref.exports


def test_streaming_lazy_body_overrun_matches_bytes() -> None:
    # A body that overruns into the data section: both drivers read on and agree.
    data = module(
        section(1, vec(b"\x60\x00\x00")),
        section(3, vec(b"\x00")),
        section(5, vec(b"\x00\x01")),
        section(10, vec(u(3) + b"\x00\x41\x01")),
        section(11, vec(b"\x01" + vec(b"\x0b"))),
    )
    by_bytes = error(data, lazy=True)
    with pytest.raises(DecodeError) as e:
        m = decode_module(io.BytesIO(data))
        decode_body(m.funcs[0])
    assert (e.value.reason, e.value.offset) == (by_bytes.reason, by_bytes.offset)


def test_huge_declared_section_from_a_stream() -> None:
    data = HEADER + b"\x0b\xff\xff\xff\xff\x0f"
    assert error_stream(data).reason == "length out of bounds"
    assert error(data).reason == "length out of bounds"


def test_two_byte_immediates() -> None:
    # The body loop inlines one- and two-byte LEB128s; check both, padded ones included.
    code = b"".join([
        b"\x41\xc8\x01\x1a",  # i32.const 200
        b"\x41\xb8\x7e\x1a",  # i32.const -200
        b"\x41\xff\x7f\x1a",  # i32.const -1 (padded)
        b"\x41\x80\x00\x1a",  # i32.const 0 (padded)
        b"\x41\x00\x28\x02\xac\x02\x1a",  # i32.load offset=300
        b"\x41\x00\x28\x02\x80\x00\x1a",  # i32.load offset=0 (padded)
        b"\x10\x80\x00",  # call 0 (padded)
    ])  # fmt: skip
    got = instrs(code)
    load = BY_NAME["i32.load"]
    assert [ins for ins in got if ins[0] is not BY_NAME["drop"]] == [
        (ops.I32_CONST, 200), (ops.I32_CONST, -200), (ops.I32_CONST, -1), (ops.I32_CONST, 0),
        (ops.I32_CONST, 0), (load, (2, 300, 0)), (ops.I32_CONST, 0), (load, (2, 0, 0)), (ops.CALL, 0),
    ]  # fmt: skip
