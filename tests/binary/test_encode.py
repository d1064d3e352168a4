"""Encoder tests: recorded encoding choices, custom/name sections, every operator."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from binary_builder import HEADER, body, func_module, module, name, section, u, vec
from binary_spec_cases import wasm_tools
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nanoproc.internal.binary import decode_module
from nanoproc.internal.binary.encode import encode_module
from nanoproc.internal.syntax import ops
from nanoproc.internal.syntax.module import (
    Custom,
    Data,
    Elem,
    Export,
    Func,
    Global,
    Memory,
    Module,
    Names,
    Table,
    Tag,
)
from nanoproc.internal.syntax.ops import BY_NAME, CATCH_KINDS, OPS, Catch, Op
from nanoproc.internal.syntax.types import (
    ABSTRACT_HEAP_TYPES,
    FUNCREF,
    I32,
    I64,
    NUM_TYPES,
    FuncType,
    GlobalType,
    Limits,
    MemType,
    RecType,
    RefType,
    StructType,
    SubType,
    TableType,
    TagType,
)

VOID = RecType((SubType(FuncType()),))
REF_FUNC = RefType(False, "func")


def one_func(**fields: object) -> Module:
    """One type ``[] -> []`` and one empty function, plus the given module fields."""
    return Module(types=[VOID], funcs=[Func(0, body=[])], **fields)  # type: ignore[arg-type]


def test_empty_module() -> None:
    assert encode_module(Module()) == HEADER


def test_minimal_function() -> None:
    assert encode_module(one_func()) == func_module(body(b""))


def test_locals_groups_and_canonical_lebs() -> None:
    padded = func_module(body(b"\x41\xff\x7f\x1a", locals_=b"\x02\x80\x00\x7f\x01\x7e"))
    m = decode_module(padded)
    assert m.funcs[0].locals == [(0, I32), (1, I64)]
    assert encode_module(m) == func_module(body(b"\x41\x7f\x1a", locals_=b"\x02\x00\x7f\x01\x7e"))


@pytest.mark.parametrize(
    ("elem", "flags_and_rest"),
    [
        (Elem("active", REF_FUNC, [[(ops.REF_FUNC, 0)]], 0, [(ops.I32_CONST, 0)], True, False),
         b"\x00\x41\x00\x0b\x01\x00"),
        (Elem("passive", REF_FUNC, [[(ops.REF_FUNC, 0)]], funcidx_encoding=True), b"\x01\x00\x01\x00"),
        (Elem("active", REF_FUNC, [[(ops.REF_FUNC, 0)]], 0, [(ops.I32_CONST, 0)], True, True),
         b"\x02\x00\x41\x00\x0b\x00\x01\x00"),
        (Elem("declarative", REF_FUNC, [[(ops.REF_FUNC, 0)]], funcidx_encoding=True), b"\x03\x00\x01\x00"),
        (Elem("active", FUNCREF, [[(ops.REF_FUNC, 0)]], 0, [(ops.I32_CONST, 0)]),
         b"\x04\x41\x00\x0b\x01\xd2\x00\x0b"),
        (Elem("passive", FUNCREF, [[(ops.REF_NULL, "func")]]), b"\x05\x70\x01\xd0\x70\x0b"),
        (Elem("active", FUNCREF, [], 1, [(ops.I32_CONST, 0)]), b"\x06\x01\x41\x00\x0b\x70\x00"),
        (Elem("declarative", REF_FUNC, [[(ops.REF_FUNC, 0)]]), b"\x07\x64\x70\x01\xd2\x00\x0b"),
        # funcidx_encoding cannot express a nullable type or a non-ref.func item
        (Elem("passive", FUNCREF, [[(ops.REF_FUNC, 0)]], funcidx_encoding=True),
         b"\x05\x70\x01\xd2\x00\x0b"),
        (Elem("passive", REF_FUNC, [[(ops.GLOBAL_GET, 0)]], funcidx_encoding=True),
         b"\x05\x64\x70\x01\x23\x00\x0b"),
        # an implicit table 0 requires the form's implicit type
        (Elem("active", RefType(True, "extern"), [], 0, [(ops.I32_CONST, 0)]),
         b"\x06\x00\x41\x00\x0b\x6f\x00"),
    ],
)  # fmt: skip
def test_element_segment_forms(elem: Elem, flags_and_rest: bytes) -> None:
    encoded = encode_module(Module(elems=[elem]))
    assert encoded == module(section(9, vec(flags_and_rest)))
    again = decode_module(encoded).elems[0]
    assert (again.mode, again.type, again.init, again.table) == (
        elem.mode,
        elem.type,
        elem.init,
        elem.table,
    )


def test_data_segment_forms_and_data_count() -> None:
    m = Module(
        memories=[Memory(MemType(Limits(1)))],
        datas=[
            Data("active", b"a", 0, [(ops.I32_CONST, 0)]),
            Data("passive", b"b"),
            Data("active", b"", 0, [(ops.I32_CONST, 0)], explicit_memory=True),
            Data("active", b"", 3, [(ops.I32_CONST, 0)]),
        ],
    )
    datas = vec(
        b"\x00\x41\x00\x0b\x01a",
        b"\x01\x01b",
        b"\x02\x00\x41\x00\x0b\x00",
        b"\x02\x03\x41\x00\x0b\x00",
    )
    assert encode_module(m) == module(section(5, vec(b"\x00\x01")), section(11, datas))
    m.data_count = 4
    assert encode_module(m) == module(
        section(5, vec(b"\x00\x01")), section(12, u(4)), section(11, datas)
    )


def test_types_tables_tags_globals() -> None:
    m = Module(
        types=[
            RecType((SubType(FuncType((I32,), ())),), explicit=True),
            RecType((SubType(StructType(), final=False), SubType(StructType(), final=True, supers=(1,)))),
        ],
        tables=[Table(TableType(FUNCREF, Limits(1, 2, addr64=True))),
                Table(TableType(REF_FUNC, Limits(0)), [(ops.REF_FUNC, 0)])],
        tags=[Tag(TagType(0))],
        globals=[Global(GlobalType(RefType(True, 1), True), [(ops.REF_NULL, 1)])],
        exports=[Export("t", "tag", 0)],
        start=None,
    )  # fmt: skip
    expected = module(
        section(
            1, vec(b"\x4e\x01\x60\x01\x7f\x00", b"\x4e\x02\x50\x00\x5f\x00\x4f\x01\x01\x5f\x00")
        ),
        section(4, vec(b"\x70\x05\x01\x02", b"\x40\x00\x64\x70\x00\x00\xd2\x00\x0b")),
        section(13, vec(b"\x00\x00")),
        section(6, vec(b"\x63\x01\x01\xd0\x01\x0b")),
        section(7, vec(name("t") + b"\x04\x00")),
    )
    assert encode_module(m) == expected


def test_instruction_choices() -> None:
    m = one_func()
    m.memories = [Memory(MemType(Limits(1))), Memory(MemType(Limits(1)))]
    m.funcs[0].body = [
        (ops.I32_CONST, 0),
        (BY_NAME["i32.load"], (2, 200, 1)),  # explicit memory: flag bit 6
        (BY_NAME["drop"],),
        (ops.REF_NULL, "any"),
        (BY_NAME["ref.test"], RefType(True, "i31")),  # the reftype's nullability picks 0xFB 21
        (BY_NAME["drop"],),
    ]
    code = b"\x41\x00\x28\x42\x01\xc8\x01\x1a\xd0\x6e\xfb\x15\x6c\x1a"
    assert encode_module(m) == func_module(
        body(code), extra=section(5, vec(b"\x00\x01", b"\x00\x01"))
    )


def test_custom_sections_go_back_where_they_were() -> None:
    c = section(0, name("c") + b"!")
    data = module(c, section(1, vec(b"\x60\x00\x00")), c, section(3, vec(b"\x00")), c,
                  section(10, vec(u(2) + b"\x00\x0b")), c)  # fmt: skip
    assert encode_module(decode_module(data)) == data


def test_empty_sections_are_kept_only_as_custom_anchors() -> None:
    c = section(0, name("c") + b"!")
    anchored = module(section(1, vec()), c, section(2, vec()))
    assert encode_module(decode_module(anchored)) == module(section(1, vec()), c)
    m = Module(customs=[Custom("x", b"", after=9), Custom("y", b"", after=5)])
    # sorted by anchor, the empty memory and element sections written out to anchor them
    assert encode_module(m) == module(
        section(5, vec()), section(0, name("y")), section(9, vec()), section(0, name("x"))
    )


def test_names_are_written_after_everything_unless_raw() -> None:
    names = Names(
        module="m", funcs={0: "f"}, locals={0: {1: "b", 0: "a"}}, labels={0: {0: "l"}},
        types={0: "t"}, tables={0: "tb"}, memories={0: "mem"}, globals={0: "g"}, elems={0: "e"},
        datas={0: "d"}, fields={0: {0: "x"}}, tags={0: "exn"},
    )  # fmt: skip
    m = one_func(names=names)
    encoded = encode_module(m)
    back = decode_module(encoded)
    assert back.names == names
    assert back.customs[-1].name == "name" and back.customs[-1].after == 10
    locals_sub = section(2, vec(u(0) + vec(u(0) + name("a"), u(1) + name("b"))))  # sorted indices
    assert locals_sub in back.customs[-1].data
    raw = Custom("name", section(1, vec(u(0) + name("raw"))), after=10)
    m.customs = [raw]
    assert decode_module(encode_module(m)).names == Names(funcs={0: "raw"})


# ---------------------------------------------------------------- every operator
_U32 = st.integers(0, 2**32 - 1)
_HEAP = st.one_of(st.sampled_from(sorted(ABSTRACT_HEAP_TYPES)), _U32)
_VALTYPE = st.one_of(
    st.sampled_from(list(NUM_TYPES.values())),
    st.builds(RefType, st.booleans(), _HEAP),
)
_CATCH = st.sampled_from(CATCH_KINDS).flatmap(
    lambda k: st.builds(Catch, st.just(k), _U32 if k in ("catch", "catch_ref") else st.none(), _U32)
)
_IMM: dict[str, st.SearchStrategy[object]] = {
    "block": st.one_of(st.none(), _VALTYPE, _U32),
    "labels": st.lists(_U32, max_size=4).map(tuple),
    "memarg": st.tuples(st.integers(0, 63), st.integers(0, 2**64 - 1), _U32),
    "i32": st.integers(-(2**31), 2**31 - 1),
    "i64": st.integers(-(2**63), 2**63 - 1),
    "f32": st.integers(0, 2**32 - 1),
    "f64": st.integers(0, 2**64 - 1),
    "v128": st.binary(min_size=16, max_size=16),
    "shuffle": st.binary(min_size=16, max_size=16),
    "lane": st.integers(0, 255),
    "heap": _HEAP,
    "valtypes": st.lists(_VALTYPE, max_size=3).map(tuple),
    "catches": st.lists(_CATCH, max_size=3).map(tuple),
    "brcast": st.tuples(
        _U32, st.builds(RefType, st.booleans(), _HEAP), st.builds(RefType, st.booleans(), _HEAP)
    ),
}
for _k in "label func type table memory global local data elem tag field u32".split():
    _IMM[_k] = _U32


def _instr(op: Op) -> st.SearchStrategy[list[tuple[object, ...]]]:
    """One instruction of ``op`` with random immediates, made well-nested."""
    if op is ops.END:
        return st.just([])
    if op is ops.ELSE:
        return st.just([(ops.IF, None), (ops.ELSE,), (ops.END,)])
    if op is ops.CATCH_ALL:
        return st.just([(ops.TRY, None), (ops.CATCH_ALL,), (ops.END,)])
    if op is ops.CATCH:
        return st.just([(ops.TRY, None), (ops.CATCH, 0), (ops.END,)])
    if op is ops.DELEGATE:
        return st.just([(ops.TRY, None), (ops.DELEGATE, 0)])
    if op.imms == ("reftype",):
        imm = st.builds(RefType, st.just(op.code in (21, 23)), _HEAP)
        return imm.map(lambda rt: [(op, rt)])
    parts = st.tuples(*(_IMM[k] for k in op.imms)).map(lambda imms: (op, *imms))
    if op in ops.BLOCK_STARTS:
        return parts.map(lambda ins: [ins, (ops.END,)])
    return parts.map(lambda ins: [ins])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(OPS).flatmap(_instr), min_size=1, max_size=20))
def test_random_instructions_round_trip(chunks: list[list[tuple[object, ...]]]) -> None:
    code = [ins for chunk in chunks for ins in chunk]
    m = one_func(data_count=0)
    m.funcs[0].body = code
    back = decode_module(encode_module(m), lazy=False)
    assert back.funcs[0].instrs == code


_EXTREMES: dict[str, tuple[object, object]] = {
    "block": (None, 2**32 - 1),
    "labels": ((), (0, 2**32 - 1)),
    "memarg": ((0, 0, 0), (63, 2**64 - 1, 2**32 - 1)),
    "i32": (-(2**31), 2**31 - 1),
    "i64": (-(2**63), 2**63 - 1),
    "f32": (0, 2**32 - 1),
    "f64": (0, 2**64 - 1),
    "v128": (bytes(16), b"\xff" * 16),
    "shuffle": (bytes(16), b"\xff" * 16),
    "lane": (0, 255),
    "heap": ("noexn", 2**32 - 1),
    "valtypes": ((), (RefType(False, 2**32 - 1), I64)),
    "catches": ((), (Catch("catch_ref", 2**32 - 1, 0), Catch("catch_all", None, 2**32 - 1))),
    "brcast": ((0, RefType(False, "any"), RefType(False, 0)),
               (2**32 - 1, RefType(True, 2**32 - 1), RefType(True, "none"))),
}  # fmt: skip


@pytest.mark.parametrize(
    "op", [op for op in OPS if op not in (ops.END, ops.ELSE, ops.CATCH, ops.CATCH_ALL, ops.DELEGATE)],
    ids=lambda op: op.name,
)
def test_every_operator_round_trips_at_the_extremes(op: Op) -> None:
    # Deterministic boundary values for every operator (the property above samples).
    for which in (0, 1):
        imms: list[object] = []
        for kind in op.imms:
            if kind == "reftype":
                imms.append(RefType(op.code in (21, 23), ("any", 2**32 - 1)[which]))
            else:
                imms.append(_EXTREMES.get(kind, (0, 2**32 - 1))[which])
        code = [(op, *imms)] + ([(ops.END,)] if op in ops.BLOCK_STARTS else [])
        m = one_func(data_count=0)
        m.funcs[0].body = code
        assert decode_module(encode_module(m), lazy=False).funcs[0].instrs == code


def test_wasm_tools_reads_every_operator(tmp_path: Path) -> None:
    """An independent decoder (wasm-tools print, which does not validate) sees the
    same mnemonic for every operator we encode."""
    body_: list[tuple[object, ...]] = []
    expected: list[str] = []
    for op in OPS:
        if op in (ops.END, ops.ELSE) or op in ops.LEGACY_EXCEPTIONS:
            continue  # (the legacy exception ops: tests/spec/test_spec_formats.py)
        imms: list[object] = []
        for kind in op.imms:
            imms.append({
                "block": None, "labels": (0,), "memarg": (0, 0, 0), "v128": bytes(16),
                "shuffle": bytes(16), "heap": "any", "valtypes": (I32,), "catches": (),
                "brcast": (0, RefType(True, "any"), RefType(True, "any")),
                "reftype": RefType(op.code in (21, 23), "any"),
            }.get(kind, 0))  # fmt: skip
        body_.append((op, *imms))
        expected.append(op.name)
        if op in ops.BLOCK_STARTS:
            body_.append((ops.END,))
            expected.append("end")
    m = one_func(data_count=0)
    m.funcs[0].body = body_
    path = tmp_path / "ops.wasm"
    path.write_bytes(encode_module(m))
    out = subprocess.run(
        [wasm_tools(), "print", str(path)], capture_output=True, text=True, check=True
    )
    text = out.stdout.split("(func", 1)[1]
    seen = [w for w in re.findall(r"^\s+([a-z0-9_.]+)", text, re.M)]
    assert seen == expected
