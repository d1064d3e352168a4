"""The printer (module -> WAT), checked against wasm-tools and exact arithmetic.

* Every instruction of the operator table, with sample immediates, is printed, read
  back by ``wasm-tools parse`` and compared byte for byte with an encoding written
  here from the binary spec (independent of the printer).
* Floats are read back from their text with exact rational arithmetic.
* Every valid module of the spec suite is decoded, printed (flat and folded),
  parsed by wasm-tools and compared with the original bytes (custom sections aside).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import struct
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from conftest import spec_dir, spec_files, wasm_tools
from nanoproc.internal.syntax.module import (
    Custom,
    Data,
    Elem,
    Export,
    Func,
    Global,
    Import,
    Memory,
    Module,
    Names,
    Table,
    Tag,
)
from nanoproc.internal.syntax.ops import (
    BLOCK_STARTS,
    BY_NAME,
    CATCH,
    CATCH_ALL,
    DELEGATE,
    ELSE,
    END,
    OPS,
    TRY,
    Catch,
    Op,
)
from nanoproc.internal.syntax.types import (
    ANYREF,
    EXTERNREF,
    F32,
    F64,
    FUNCREF,
    I8,
    I16,
    I32,
    I64,
    V128,
    ArrayType,
    FieldType,
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
from nanoproc.internal.text.print_floats import _reads_back_f32, format_f32, format_f64
from nanoproc.internal.text.printer import print_instr, print_module

# ---------------------------------------------------------------- binary helpers


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def sections(wasm: bytes) -> list[tuple[int, bytes]]:
    """(id, payload) of each section."""
    out, pos = [], 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, pos = read_uleb(wasm, pos + 1)
        out.append((sid, wasm[pos : pos + size]))
        pos += size
    return out


def strip_customs(wasm: bytes, only_name: bool = False) -> bytes:
    """The module without its custom sections (or only without the name section)."""
    out = bytearray(wasm[:8])
    for sid, payload in sections(wasm):
        if sid == 0:
            size, pos = read_uleb(payload, 0)
            if not only_name or payload[pos : pos + size] == b"name":
                continue
        out += bytes([sid]) + uleb(len(payload)) + payload
    return bytes(out)


def code_bodies(wasm: bytes) -> list[bytes]:
    """Each function body of the code section, without its size."""
    for sid, payload in sections(wasm):
        if sid == 10:
            count, pos = read_uleb(payload, 0)
            bodies = []
            for _ in range(count):
                size, pos = read_uleb(payload, pos)
                bodies.append(payload[pos : pos + size])
                pos += size
            return bodies
    return []


_ABSTRACT = {
    "nofunc": 0x73, "noextern": 0x72, "none": 0x71, "func": 0x70, "extern": 0x6F,
    "any": 0x6E, "eq": 0x6D, "i31": 0x6C, "struct": 0x6B, "array": 0x6A, "exn": 0x69,
    "noexn": 0x74,
}  # fmt: skip
_NUM = {I32: 0x7F, I64: 0x7E, F32: 0x7D, F64: 0x7C, V128: 0x7B}


def enc_heap(ht: Any) -> bytes:
    return bytes([_ABSTRACT[ht]]) if isinstance(ht, str) else sleb(ht)


def enc_valtype(t: Any) -> bytes:
    if isinstance(t, RefType):
        return bytes([0x63 if t.nullable else 0x64]) + enc_heap(t.heap)
    return bytes([_NUM[t]])


def enc_imm(op: Op, kind: str, v: Any) -> bytes:
    """One immediate, as the binary format spells it (spec 5.4)."""
    if kind == "block":
        return b"\x40" if v is None else sleb(v) if isinstance(v, int) else enc_valtype(v)
    if kind in ("i32", "i64"):
        return sleb(v)
    if kind == "f32":
        return struct.pack("<I", v)
    if kind == "f64":
        return struct.pack("<Q", v)
    if kind in ("v128", "shuffle"):
        return bytes(v)
    if kind == "lane":
        return bytes([v])
    if kind == "labels":
        return uleb(len(v)) + b"".join(map(uleb, v))
    if kind == "memarg":
        align, offset, mem = v
        if mem:
            return uleb(align | 0x40) + uleb(mem) + uleb(offset)
        return uleb(align) + uleb(offset)
    if kind == "heap":
        return enc_heap(v)
    if kind == "reftype":
        return enc_heap(v.heap)
    if kind == "valtypes":
        return uleb(len(v)) + b"".join(map(enc_valtype, v))
    if kind == "brcast":
        label, rt1, rt2 = v
        flags = int(rt1.nullable) | int(rt2.nullable) << 1
        return bytes([flags]) + uleb(label) + enc_heap(rt1.heap) + enc_heap(rt2.heap)
    if kind == "catches":
        out = uleb(len(v))
        for c in v:
            out += bytes([("catch", "catch_ref", "catch_all", "catch_all_ref").index(c.kind)])
            if c.tag is not None:
                out += uleb(c.tag)
            out += uleb(c.label)
        return out
    return uleb(v)  # indices, labels, u32


def enc_instr(instr: tuple) -> bytes:
    op = instr[0]
    return op.opcode_bytes + b"".join(enc_imm(op, k, v) for k, v in zip(op.imms, instr[1:]))


# ---------------------------------------------------------------- samples per immediate kind

# Distinct values per kind, so that a swapped text order shows up in the bytes.
_SAMPLE: dict[str, Any] = {
    "label": 0, "labels": (0, 0), "func": 3, "type": 1, "table": 2, "memory": 1,
    "global": 4, "local": 5, "data": 6, "elem": 7, "tag": 8, "field": 2, "u32": 3,
    "i32": -123456789, "i64": -(2**63), "f32": 0x40490FDB, "f64": 0x400921FB54442D18,
    "v128": bytes(range(0x10, 0x20)), "shuffle": bytes(range(31, 15, -1)),
    "heap": 1, "valtypes": (I64,), "brcast": (0, ANYREF, RefType(False, 1)),
    "catches": (Catch("catch", 8, 0), Catch("catch_ref", 1, 1), Catch("catch_all", None, 0),
                Catch("catch_all_ref", None, 1)),
}  # fmt: skip


def sample_instrs(op: Op) -> list[tuple]:
    """One or more instructions using ``op``, as a complete instruction sequence."""
    imms: list[Any] = []
    for kind in op.imms:
        if kind == "block":
            imms.append(I32)
        elif kind == "memarg":
            imms.append((0, 16, 1))  # non-natural alignment, an offset, memory 1
        elif kind == "lane":
            imms.append(op.lanes - 1)
        elif kind == "reftype":
            imms.append(RefType(op.code in (21, 23), 1))
        else:
            imms.append(_SAMPLE[kind])
    instr = (op, *imms)
    if op is ELSE:
        return [(BY_NAME["if"], None), (BY_NAME["nop"],), instr, (BY_NAME["nop"],), (END,)]
    if op is END:
        return [(BY_NAME["block"], None), instr]
    if op is CATCH or op is CATCH_ALL:  # legacy try handlers
        return [(TRY, None), (BY_NAME["nop"],), instr, (BY_NAME["nop"],), (END,)]
    if op is DELEGATE:
        return [(TRY, None), (BY_NAME["nop"],), instr]
    if op is BY_NAME["rethrow"]:
        return [(TRY, None), (CATCH_ALL,), instr, (END,)]
    if op in BLOCK_STARTS:
        return [instr, (BY_NAME["nop"],), (END,)]
    out = [instr]
    if "memarg" in op.imms:  # also the defaults: memory 0, natural alignment, no offset
        natural = op.width.bit_length() - 1
        out.append((op, (natural, 0, 0), *imms[1:]))
    return out


def all_ops_module() -> tuple[Module, list[Op]]:
    """A module with one function per operator (not valid: the printer must not care)."""
    m = Module(types=[RecType((SubType(FuncType()),)), RecType((SubType(FuncType((I32,))),))])
    ops = [op for op in OPS]
    for op in ops:
        m.funcs.append(Func(0, [], sample_instrs(op)))
    return m, ops


# ---------------------------------------------------------------- wasm-tools helpers


def wat2wasm(text: str, tmp: Path) -> bytes:
    src = tmp / "m.wat"
    src.write_text(text, encoding="utf-8")
    res = subprocess.run(
        [wasm_tools(), "parse", str(src), "-o", str(tmp / "m.wasm")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr + "\n" + text[:3000]
    return (tmp / "m.wasm").read_bytes()


# ---------------------------------------------------------------- every instruction


def test_every_op_prints_and_reads_back(tmp_path: Path) -> None:
    m, ops = all_ops_module()
    wasm = wat2wasm(print_module(m), tmp_path)
    bodies = code_bodies(wasm)
    assert len(bodies) == len(ops)
    wrong = []
    for op, func, body in zip(ops, m.funcs, bodies):
        expected = b"\x00" + b"".join(enc_instr(i) for i in func.instrs) + b"\x0b"
        if body != expected:
            wrong.append(f"{op.name}: {body.hex()} != {expected.hex()}")
    assert not wrong, "\n".join(wrong)


def test_every_op_folded_reads_back(tmp_path: Path) -> None:
    m, _ = all_ops_module()
    flat = wat2wasm(print_module(m), tmp_path)
    assert wat2wasm(print_module(m, fold=True), tmp_path) == flat


@pytest.mark.parametrize(
    "instr, text",
    [
        ((BY_NAME["call_indirect"], 1, 2), "call_indirect 2 (type 1)"),
        ((BY_NAME["call_indirect"], 1, 0), "call_indirect (type 1)"),
        ((BY_NAME["return_call_indirect"], 3, 2), "return_call_indirect 2 (type 3)"),
        ((BY_NAME["memory.init"], 6, 1), "memory.init 1 6"),
        ((BY_NAME["memory.init"], 6, 0), "memory.init 6"),
        ((BY_NAME["table.init"], 7, 2), "table.init 2 7"),
        ((BY_NAME["memory.copy"], 0, 0), "memory.copy"),
        ((BY_NAME["memory.copy"], 0, 1), "memory.copy 0 1"),
        ((BY_NAME["table.copy"], 1, 2), "table.copy 1 2"),
        ((BY_NAME["ref.test"], RefType(False, 1)), "ref.test (ref 1)"),
        ((BY_NAME["ref.cast null"], ANYREF), "ref.cast (ref null any)"),
        ((BY_NAME["br_on_cast"], (2, ANYREF, RefType(False, 1))), "br_on_cast 2 anyref (ref 1)"),
        ((BY_NAME["select_t"], (I32, EXTERNREF)), "select (result i32 externref)"),
        ((BY_NAME["select"],), "select"),
        ((BY_NAME["i32.load"], (2, 0, 0)), "i32.load"),
        ((BY_NAME["i32.load"], (0, 8, 1)), "i32.load 1 offset=8 align=1"),
        ((BY_NAME["i64.store32"], (3, 0, 0)), "i64.store32 align=8"),
        ((BY_NAME["v128.load8_lane"], (0, 0, 0), 15), "v128.load8_lane 15"),
        ((BY_NAME["v128.store64_lane"], (3, 4, 2), 1), "v128.store64_lane 2 offset=4 1"),
        ((BY_NAME["v128.const"], bytes(range(16))),
         "v128.const i32x4 0x03020100 0x07060504 0x0b0a0908 0x0f0e0d0c"),
        ((BY_NAME["i8x16.shuffle"], bytes(range(16))),
         "i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"),
        ((BY_NAME["block"], None), "block"),
        ((BY_NAME["loop"], I32), "loop (result i32)"),
        ((BY_NAME["if"], 4), "if (type 4)"),
        ((BY_NAME["try_table"], None, (Catch("catch", 1, 0), Catch("catch_all_ref", None, 2))),
         "try_table (catch 1 0) (catch_all_ref 2)"),
        ((BY_NAME["br_table"], (1, 2), 0), "br_table 1 2 0"),
        ((BY_NAME["struct.get_s"], 3, 1), "struct.get_s 3 1"),
        ((BY_NAME["array.new_fixed"], 3, 10), "array.new_fixed 3 10"),
        ((BY_NAME["ref.null"], "extern"), "ref.null extern"),
        ((BY_NAME["ref.null"], 5), "ref.null 5"),
        ((BY_NAME["i32.const"], -1), "i32.const -1"),
        ((BY_NAME["i64.const"], 2**63 - 1), "i64.const 9223372036854775807"),
        ((BY_NAME["f32.const"], 0x3DCCCCCD), "f32.const 0.1"),
        ((BY_NAME["f64.const"], 0xFFF8000000000000), "f64.const -nan"),
    ],
)  # fmt: skip
def test_print_instr(instr: tuple, text: str) -> None:
    assert print_instr(instr) == text


def test_print_instr_matches_module_lines() -> None:
    """print_instr gives the very line a body shows (entities by index, no labels)."""
    m, _ = all_ops_module()
    lines = print_module(m).splitlines()
    for func in m.funcs:
        for instr in func.instrs:
            if instr[0] not in BLOCK_STARTS:
                assert any(line.strip() == print_instr(instr) for line in lines)


# ---------------------------------------------------------------- floats, exactly


def _round(q: Fraction, mant_bits: int, exp_bits: int) -> int:
    """Bits of the binary float nearest to q >= 0 (ties to even), by the definition."""
    emin = 2 - (1 << (exp_bits - 1))
    if q == 0:
        return 0
    e = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** e > q:
        e -= 1
    e = max(e, emin)  # now q < 2**(e+1), and 2**e <= q unless q is subnormal
    ulp = Fraction(2) ** (e - mant_bits)
    k, rest = divmod(q, ulp)
    if 2 * rest > ulp or (2 * rest == ulp and k % 2):
        k += 1
    # k counts ulps: its high bits carry into the exponent field by themselves.
    bits = ((e - emin) << mant_bits) + int(k)
    return min(bits, ((1 << exp_bits) - 1) << mant_bits)


def read_float(text: str, mant_bits: int, exp_bits: int) -> int:
    """The bits a text-format float literal denotes (decimal, inf, nan, nan:0x...)."""
    sign = 0
    if text[0] in "+-":
        sign = int(text[0] == "-")
        text = text[1:]
    total = 1 + exp_bits + mant_bits
    inf = ((1 << exp_bits) - 1) << mant_bits
    if text == "inf":
        bits = inf
    elif text == "nan":
        bits = inf | 1 << (mant_bits - 1)
    elif text.startswith("nan:0x"):
        payload = int(text[6:], 16)
        assert 0 < payload < 1 << mant_bits
        bits = inf | payload
    else:
        assert re.fullmatch(r"[0-9]+(\.[0-9]*)?(e[+-]?[0-9]+)?", text), text
        bits = _round(Fraction(text), mant_bits, exp_bits)
    return bits | sign << (total - 1)


def _f32_cases() -> list[int]:
    fixed = [
        0, 0x80000000, 1, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
        0x3F800000, 0x3F800001, 0x3DCCCCCD, 0x4B800000, 0x4B800001, 0x7F800000, 0xFF800000,
        0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FA00000, 0xFFFFFFFF, 0x7FBFFFFF, 0x00000002,
        0x7F000000, 0x0C000000, 0x33800000,
    ]  # fmt: skip
    rng = random.Random(1234)
    randoms = [rng.getrandbits(32) for _ in range(4000)]
    # Every exponent, with random fractions: small and huge magnitudes alike.
    spread = [(e << 23) | rng.getrandbits(23) for e in range(255) for _ in range(8)]
    return fixed + randoms + spread


def _f64_cases() -> list[int]:
    fixed = [
        0, 1 << 63, 1, 0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF,
        0x3FF0000000000000, 0x3FF0000000000001, 0x3FB999999999999A, 0x7FF0000000000000,
        0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001,
        0x7FF4000000000000, 0xFFFFFFFFFFFFFFFF, 0x4340000000000000, 0x4340000000000001,
    ]  # fmt: skip
    rng = random.Random(5678)
    randoms = [rng.getrandbits(64) for _ in range(3000)]
    spread = [(e << 52) | rng.getrandbits(52) for e in range(0, 2047, 3)]
    return fixed + randoms + spread


def test_f32_text_is_exact() -> None:
    for bits in _f32_cases():
        text = format_f32(bits)
        assert read_float(text, 23, 8) == bits, (hex(bits), text)


def test_f64_text_is_exact() -> None:
    for bits in _f64_cases():
        text = format_f64(bits)
        assert read_float(text, 52, 11) == bits, (hex(bits), text)


@pytest.mark.parametrize(
    "bits, text",
    [
        (0x3DCCCCCD, "0.1"), (0x80000000, "-0"), (0x00000001, "1e-45"),
        (0x7F7FFFFF, "3.4028235e+38"), (0x00800000, "1.1754944e-38"),
        (0x7FC00000, "nan"), (0xFFC00000, "-nan"), (0x7F800001, "nan:0x1"),
        (0xFFA00000, "-nan:0x200000"), (0xFF800000, "-inf"), (0x40400000, "3"),
        (0x4B800001, "16777218"),
    ],
)  # fmt: skip
def test_f32_shortest(bits: int, text: str) -> None:
    assert format_f32(bits) == text


@pytest.mark.parametrize(
    "bits, text",
    [
        (0x3FB999999999999A, "0.1"), (1 << 63, "-0"), (1, "5e-324"),
        (0x7FEFFFFFFFFFFFFF, "1.7976931348623157e+308"), (0x7FF8000000000001, "nan:0x8000000000001"),
        (0x7FF0000000000001, "nan:0x1"), (0x4059000000000000, "100"),
    ],
)  # fmt: skip
def test_f64_shortest(bits: int, text: str) -> None:
    assert format_f64(bits) == text


def test_f32_double_rounding_is_avoided() -> None:
    """1.0000000596046448 rounds to the double 1 + 2**-24, the midpoint between two
    f32 values, although the decimal lies above it: as an f32 it is 1 + 2**-23."""
    assert float("1.0000000596046448") == 1 + 2**-24
    assert _reads_back_f32("1.0000000596046448", 0x3F800001)
    assert not _reads_back_f32("1.0000000596046448", 0x3F800000)
    assert _reads_back_f32("1.000000059604644775390625", 0x3F800000)  # exact tie: even


def test_floats_read_back_by_wasm_tools(tmp_path: Path) -> None:
    f32s, f64s = _f32_cases(), _f64_cases()
    body = [(BY_NAME["f32.const"], b) for b in f32s] + [(BY_NAME["f64.const"], b) for b in f64s]
    m = Module(types=[RecType((SubType(FuncType()),))], funcs=[Func(0, [], body)])
    (code,) = code_bodies(wat2wasm(print_module(m), tmp_path))
    assert code == b"\x00" + b"".join(enc_instr(i) for i in body) + b"\x0b"


# ---------------------------------------------------------------- module fields and names


def sample_module() -> Module:
    """A hand-built module exercising every kind of module field."""
    c = BY_NAME
    m = Module()
    m.types = [
        RecType((SubType(FuncType((I32, I64), (I32,))),)),
        RecType(
            (
                SubType(StructType((FieldType(I8, True), FieldType(I64))), final=False),
                SubType(
                    StructType((FieldType(I8, True), FieldType(I64), FieldType(RefType(True, 1)))),
                    supers=(1,),
                ),  # fmt: skip
                SubType(ArrayType(FieldType(I16, True)), final=False),
            ),
        ),
        RecType((SubType(FuncType()),), explicit=True),
        RecType((SubType(FuncType((F32,))),)),
        RecType(()),
    ]
    m.imports = [
        Import("env", "f", "func", 0),
        Import("env", "t", "table", TableType(EXTERNREF, Limits(1, 2))),
        Import("env", "m", "memory", MemType(Limits(1, 65536, addr64=True))),
        Import("env", "g", "global", GlobalType(RefType(False, "func"), False)),
        Import('\u00e9\x00"', "tag", "tag", TagType(5)),
    ]
    m.funcs = [
        Func(4, [], [(c["nop"],)]),
        Func(0, [(2, I32), (1, V128), (1, RefType(True, 2))], [
            (c["block"], 0), (c["local.get"], 1), (c["br_if"], 0), (c["drop"],), (c["end"],),
            (c["loop"], None), (c["try_table"], None, (Catch("catch", 1, 0),)), (c["end"],),
            (c["end"],), (c["local.get"], 0), (c["if"], I32), (c["i32.const"], 1),
            (c["else"],), (c["i32.const"], 2), (c["end"],), (c["local.get"], 4),
            (c["struct.get"], 1, 0), (c["drop"],),
        ]),
    ]  # fmt: skip
    m.tables = [
        Table(TableType(FUNCREF, Limits(3))),
        Table(TableType(RefType(False, "func"), Limits(1, 5, addr64=True)), [(c["ref.func"], 1)]),
    ]
    m.memories = [
        Memory(MemType(Limits(0, 1, shared=True))),
        Memory(MemType(Limits(1, page_size_log2=0))),
    ]
    m.tags = [Tag(TagType(3))]
    m.globals = [
        Global(GlobalType(I32, True), [(c["i32.const"], 1), (c["i32.const"], 2), (c["i32.add"],)]),
        Global(GlobalType(F64), [(c["f64.const"], 0x8000000000000000)]),
    ]
    m.exports = [Export("run", "func", 2), Export("mem\n", "memory", 1), Export("t", "tag", 1)]
    m.start = 1
    m.elems = [
        Elem("active", FUNCREF, [[(c["ref.func"], 1)]], 0, [(c["i32.const"], 0)], True, False),
        Elem("active", FUNCREF, [[(c["ref.func"], 2)]], 0, [(c["i32.const"], 1)], True, True),
        Elem("active", FUNCREF, [[(c["ref.null"], "func")]], 2, [(c["i32.const"], 0)]),
        Elem("active", RefType(False, "func"), [[(c["ref.func"], 2)]], 2,
             [(c["i64.const"], 1), (c["i64.const"], 1), (c["i64.add"],)], False, True),
        Elem("passive", FUNCREF, [[(c["ref.func"], 1)], [(c["ref.func"], 2)]], funcidx_encoding=True),
        Elem("passive", EXTERNREF, [[(c["ref.null"], "extern")]]),
        Elem("declarative", FUNCREF, [[(c["ref.func"], 2)]], funcidx_encoding=True),
        Elem("declarative", FUNCREF, []),
    ]  # fmt: skip
    m.datas = [
        Data("active", b'\x00\x01hello "world"\\\x7f\xff', 0, [(c["i64.const"], 8)]),
        Data("passive", b""),
        Data("active", b"x", 1, [(c["i32.const"], 0)]),
    ]
    m.customs = [Custom("first", b"\x01", 0), Custom("a custom", b"ab\x00", 10)]
    return m


def test_sample_module_reads_back(tmp_path: Path) -> None:
    """Every field kind; the result is checked against wasm-tools' own printing."""
    m = sample_module()
    text = print_module(m)
    wasm = wat2wasm(text, tmp_path)
    assert wat2wasm(print_module(m, fold=True), tmp_path) == wasm
    (tmp_path / "m.wasm").write_bytes(wasm)
    dump = subprocess.run(
        [wasm_tools(), "dump", str(tmp_path / "m.wasm")], capture_output=True, text=True, check=True
    ).stdout
    expected_in_dump = [
        "rec group 2 (explicit)", "rec group 4 (explicit)",
        "element table[None]",  # funcidx, implicit table 0 (flags 0)
        "element table[Some(0)]",  # explicit table 0 (flags 2)
        "element passive, 2 items [indices]", "element passive, 1 items [exprs externref]",
        "element declared 1 items [indices]", "1 items [exprs (ref func)]",
        "page_size_log2: Some(0)", "shared: true", "table64: true", "memory64: true",
        'name: "first"', 'name: "a custom"',
    ]  # fmt: skip
    for fragment in expected_in_dump:
        assert fragment in dump, fragment
    (first_body, main_body) = code_bodies(wasm)
    expected = b"".join(enc_instr(i) for i in m.funcs[1].instrs)
    locals_ = b"\x03\x02\x7f\x01\x7b\x01\x63\x02"
    assert main_body == locals_ + expected + b"\x0b"


def test_customs_keep_their_place(tmp_path: Path) -> None:
    wasm = wat2wasm(print_module(sample_module()), tmp_path)
    ids = [sid for sid, _ in sections(wasm)]
    assert ids[0] == 0  # (before first)
    assert ids[ids.index(10) + 1] == 0  # after code
    payloads = [p for sid, p in sections(wasm) if sid == 0]
    assert payloads[0] == b"\x05first\x01"
    assert payloads[1] == b"\x08a customab\x00"


def test_custom_after_data_count(tmp_path: Path) -> None:
    """The data count section has no annotation name: ``(before code)`` puts it there."""
    m = Module(
        types=[RecType((SubType(FuncType()),))],
        funcs=[Func(0, [], [(BY_NAME["data.drop"], 0)])],
        memories=[Memory(MemType(Limits(1)))],
        datas=[Data("passive", b"")],
        data_count=1,
        customs=[Custom("after datacount", b"!", 12)],
    )
    assert '(@custom "after datacount" (before code) "!")' in print_module(m)
    ids = [sid for sid, _ in sections(wat2wasm(print_module(m), tmp_path))]
    assert ids[ids.index(12) + 1] == 0
    assert ids[ids.index(0) + 1] == 10


def test_names_become_identifiers(tmp_path: Path) -> None:
    m = sample_module()
    m.names = Names(
        module="my module",
        funcs={0: "imported", 1: "first", 2: "main", 3: "main"},  # 3 does not exist
        locals={2: {0: "x", 1: "the y", 2: "dup", 3: "dup", 4: ""}},
        labels={2: {0: "outer", 1: "label2"}},
        types={0: "sig", 1: "point", 2: "point3", 3: "arr", 4: "arr"},
        tables={0: "ext"}, memories={1: "m1"}, globals={0: "g0", 1: "g1"},
        elems={0: "e0"}, datas={2: "d2"}, fields={1: {0: "px", 1: "py"}}, tags={0: "t0"},
    )  # fmt: skip
    text = print_module(m)
    for fragment in [
        "(module $\"my module\"",
        "(type $sig (;0;) (func (param i32 i64) (result i32)))",
        "(type $point (;1;) (sub (struct (field $px (mut i8)) (field $py i64))))",
        "(sub final $point (struct",
        "(type (;3;) (sub (array (mut i16))))",  # "arr" is used twice: by index
        "(func $main (;2;) (type $sig) (param $x i32) (param $\"the y\" i64) (result i32)",
        "(local i32 i32 v128 (ref null $point3))",
        "block $outer (type $sig)", "loop $label2", "try_table (catch 1 $label2)",
        "struct.get $point $px", "local.get $\"the y\"", "br_if $outer",
        "(elem $e0 (;0;) (i32.const 0) func $first)",
        "(export \"run\" (func $main))", "(start $first)",
        "(data $d2 (;2;) (memory $m1) (i32.const 0) \"x\")",
    ]:  # fmt: skip
        assert fragment in text, fragment
    wasm = wat2wasm(text, tmp_path)
    assert strip_customs(wasm) == strip_customs(wat2wasm(print_module(sample_module()), tmp_path))
    assert wat2wasm(print_module(m, fold=True), tmp_path) == wasm


def test_labels_without_names() -> None:
    m = sample_module()
    text = print_module(m)
    # Unnamed labels stay unnamed: branches print as depths, so a reparse adds no names.
    assert "block (type 0)\n      local.get 1\n      br_if 0\n" in text
    assert "try_table (catch 1 0)" in text
    assert "if (result i32)" in text
    assert "$label" not in text


def _one_func(body: list[tuple], fold: bool) -> list[str]:
    """The body lines of a module whose only function has type [i32] -> [i32]."""
    sig = RecType((SubType(FuncType((I32,), (I32,))),))
    m = Module(types=[sig], funcs=[Func(0, [], body)])
    lines = print_module(m, fold=fold).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  (func"))
    return lines[start + 1 : lines.index("  )", start)]


def test_fold_nests_operands() -> None:
    c = BY_NAME
    body = [
        (c["local.get"], 0), (c["i32.const"], 1), (c["i32.add"],), (c["call"], 0),
        (c["local.get"], 0),
        (c["if"], I32), (c["i32.const"], 1), (c["else"],), (c["unreachable"],), (c["end"],),
        (c["i32.add"],),
    ]  # fmt: skip
    assert _one_func(body, fold=True) == [
        "    (i32.add",
        "      (call 0 (i32.add (local.get 0) (i32.const 1)))",
        "      (if (result i32)",
        "        (local.get 0)",
        "        (then",
        "          (i32.const 1))",
        "        (else",
        "          (unreachable))))",
    ]


def test_fold_keeps_what_it_cannot_nest_flat() -> None:
    """Block parameters, values under a polymorphic stack, unknown arities."""
    c = BY_NAME
    body = [
        (c["i32.const"], 1), (c["block"], 0), (c["end"],),  # the block takes the 1
        (c["unreachable"],), (c["i32.add"],),  # operands from the polymorphic stack
        (c["call"], 7),  # no such function: arity unknown
        (c["br"], 0),
    ]  # fmt: skip
    assert _one_func(body, fold=True) == [
        "    (i32.const 1)",
        "    (block (type 0))",
        "    (unreachable)",
        "    (i32.add)",
        "    (call 7)",
        "    (br 0)",
    ]


def test_unbalanced_body_still_prints() -> None:
    """Malformed nesting (no validation here): printed flat, even when folding."""
    c = BY_NAME
    body = [(c["end"],), (c["else"],), (c["block"], None), (c["nop"],)]
    expected = ["    end", "    else", "    block", "      nop"]
    assert _one_func(body, fold=False) == expected
    assert _one_func(body, fold=True) == expected


def test_data_string_escapes() -> None:
    m = Module(datas=[Data("passive", bytes(range(256)))])
    text = print_module(m)
    (literal,) = re.findall(r'\(data \(;0;\) (".*")\)', text)
    body = literal[1:-1]
    decoded = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "\\":
            if body[i + 1] in '"\\':
                decoded.append(ord(body[i + 1]))
                i += 2
            else:
                decoded.append(int(body[i + 1 : i + 3], 16))
                i += 3
        else:
            assert 0x20 <= ord(body[i]) < 0x7F
            decoded.append(ord(body[i]))
            i += 1
    assert bytes(decoded) == bytes(range(256))
    assert "0123456789:;<=>?@ABC" in body


def test_long_data_reads_back(tmp_path: Path) -> None:
    """Long data takes the run-by-run escaping path: text, binary, quotes, backslashes."""
    rng = random.Random(99)
    data = b"".join(
        rng.choice([b"hello, world ", b'"q"\\', b"ab", bytes(rng.getrandbits(8) for _ in range(9))])
        for _ in range(3000)
    )
    m = Module(
        memories=[Memory(MemType(Limits(1)))],
        datas=[Data("passive", data), Data("passive", data[:200])],
    )
    text = print_module(m)
    assert "hello, world" in text
    payload = dict(sections(wat2wasm(text, tmp_path)))[11]
    expected = b"\x02\x01" + uleb(len(data)) + data + b"\x01" + uleb(200) + data[:200]
    assert payload == expected


def test_large_module_is_fast() -> None:
    """Big modules print in seconds: here 1M instructions (about 3 MB of code) and
    4 MB of data; time grows linearly (a 20 MB module takes a few times longer)."""
    import time

    c = BY_NAME
    body = [(c["local.get"], 0), (c["i32.const"], 12345), (c["i32.add"],), (c["f32.const"], 0x3DCCCCCD),
            (c["drop"],), (c["block"], None), (c["br"], 0), (c["end"],), (c["i32.load"], (2, 8, 0)),
            (c["drop"],)] * 1000  # fmt: skip
    body += [(c["i64.const"], i) for i in range(10000)]  # distinct ones too
    funcs = [Func(0, [], body) for _ in range(50)]
    data = bytes(range(256)) * (4 << 12)
    m = Module(
        types=[RecType((SubType(FuncType((I32,))),))], funcs=funcs, datas=[Data("passive", data)]
    )
    start = time.process_time()  # CPU time: other processes' load does not count
    text = print_module(m)
    elapsed = time.process_time() - start
    assert text.count("\n") > 1_000_000
    assert elapsed < 20, elapsed


# ---------------------------------------------------------------- the spec suite


_VALID_COMMANDS = ("module", "module_definition", "assert_unlinkable", "assert_uninstantiable")


@pytest.fixture(scope="session")
def oracle_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Per-session cache of wasm-tools outputs, shared by the xdist workers of a run."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's directory, above each worker's own
    cache = base / "printer-oracle"
    cache.mkdir(exist_ok=True)
    return cache


def json_from_wast(wast: Path, out: Path) -> list[dict[str, Any]]:
    """The commands of a script, its modules written to ``out``.

    Cached: ``out`` appears atomically (renamed into place), so concurrent workers
    never see half of it; a worker that loses the race uses the winner's copy.
    """
    if not (out / "script.json").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
        res = subprocess.run(
            [wasm_tools(), "json-from-wast", str(wast), "-o", str(work / "script.json"),
             "--wasm-dir", str(work)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert res.returncode == 0, f"{wast}: {res.stderr}"
        try:
            work.rename(out)
        except OSError:  # another worker was first
            shutil.rmtree(work)
    return json.loads((out / "script.json").read_text())["commands"]


def spec_modules(wast: Path, cache: Path) -> list[tuple[str, bytes]]:
    """(where, bytes) of every valid binary module of a spec script."""
    out = cache / "spec" / wast.stem
    mods = []
    for cmd in json_from_wast(wast, out):
        if cmd["type"] in _VALID_COMMANDS and cmd.get("module_type") == "binary":
            mods.append((f"{wast.name}:{cmd['line']}", (out / cmd["filename"]).read_bytes()))
    return mods


def _decode(wasm: bytes) -> Module:
    from nanoproc.internal.binary.decode import decode_module

    return decode_module(wasm, lazy=False)


class Printed:
    """One spec module: original bytes, decoded module, its texts, wasm-tools' reading."""

    def __init__(self, where: str, wasm: bytes, module: Module) -> None:
        self.where = where
        self.wasm = wasm
        self.module = module
        self.flat = print_module(module)
        self.folded = print_module(module, fold=True)
        self.flat_wasm = b""
        self.folded_wasm = b""


def printed_spec_modules(script: str, cache: Path) -> list[Printed]:
    """Every valid module of a script, printed, and parsed back by wasm-tools in one batch."""
    wast = spec_dir() / script
    cases = [Printed(where, wasm, _decode(wasm)) for where, wasm in spec_modules(wast, cache)]
    if not cases:
        return cases
    batch = cache / "printed" / f"{wast.stem}.wast"
    batch.parent.mkdir(parents=True, exist_ok=True)
    texts = [t for c in cases for t in (c.flat, c.folded)]
    if not batch.exists():
        tmp = batch.with_name(f".{batch.name}.{os.getpid()}")
        tmp.write_text("\n".join(texts), encoding="utf-8")
        tmp.replace(batch)
    commands = json_from_wast(batch, cache / "printed" / wast.stem)
    files = [
        cache / "printed" / wast.stem / c["filename"] for c in commands if c["type"] == "module"
    ]
    assert len(files) == len(texts)
    for i, c in enumerate(cases):
        c.flat_wasm, c.folded_wasm = files[2 * i].read_bytes(), files[2 * i + 1].read_bytes()
    return cases


def wasm_tools_round_trips(modules: list[bytes], where: Path) -> list[bytes]:
    """wasm-tools' own print then parse of each module: what the text format can
    express of it. One print per module, one parse for them all."""
    where.mkdir(parents=True, exist_ok=True)
    texts = []
    for i, wasm in enumerate(modules):
        (where / f"{i}.wasm").write_bytes(wasm)
        res = subprocess.run(
            [wasm_tools(), "print", str(where / f"{i}.wasm")], capture_output=True, text=True
        )
        assert res.returncode == 0, res.stderr
        texts.append(res.stdout)
    (where / "printed.wast").write_text("\n".join(texts), encoding="utf-8")
    commands = json_from_wast(where / "printed.wast", where / "parsed")
    files = [c["filename"] for c in commands if c["type"] == "module"]
    assert len(files) == len(modules)
    return [(where / "parsed" / f).read_bytes() for f in files]


def _script_ids() -> list[str]:
    return [p.name for p in spec_files()] or ["(no spec suite)"]


@pytest.mark.parametrize("script", _script_ids())
def test_spec_modules_round_trip_through_wasm_tools(script: str, oracle_cache: Path) -> None:
    """decode -> print (flat and folded) -> wasm-tools parse gives the original bytes.

    The name section is left out of the comparison (names become identifiers, and
    wasm-tools writes its own name section for them); other custom sections must
    come back in place, from their annotations. Where the bytes still differ, the
    text format cannot say it: wasm-tools' own print and parse must then give the
    same bytes as ours (overlong LEB128s, empty sections, split local groups, ...).
    """
    failures = []
    differing = []
    for c in printed_spec_modules(script, oracle_cache):
        if c.folded_wasm != c.flat_wasm:
            failures.append(f"{c.where}: folded text gives other bytes than flat text")
        if strip_customs(c.flat_wasm, only_name=True) != strip_customs(c.wasm, only_name=True):
            differing.append(c)
    if differing:
        work = oracle_cache / "reference" / Path(script).stem
        references = wasm_tools_round_trips([c.wasm for c in differing], work)
        for c, reference in zip(differing, references):
            if strip_customs(c.flat_wasm, only_name=True) != strip_customs(
                reference, only_name=True
            ):
                failures.append(f"{c.where}: bytes differ (and from wasm-tools' own round trip)")
    assert not failures, "\n".join(failures)


def comparable(m: Module) -> dict[str, Any]:
    """A module's content, without what text cannot keep: custom sections (names are
    identifiers), local groups (text lists each local)."""
    out = {}
    for name in Module.__match_args__:
        if name not in ("customs", "names", "id", "_deftypes"):
            out[name] = getattr(m, name)
    out["funcs"] = [(f.typeidx, f.local_types(), f.instrs) for f in m.funcs]
    return out


@pytest.mark.parametrize("script", _script_ids())
def test_spec_modules_round_trip_through_parse_wat(script: str, oracle_cache: Path) -> None:
    """decode -> print -> our parse_wat -> our encode_module gives the module back.

    Compared: the module trees, and the bytes without custom sections. Where they
    differ, the text cannot express the difference (overlong LEB128s, a data count
    section nothing needs, an explicit memory 0 in a data segment): then our
    reading must agree with wasm-tools' reading of the same text.
    """
    from nanoproc.internal.binary.encode import encode_module
    from nanoproc.internal.text.wat import parse_wat

    failures = []
    for c in printed_spec_modules(script, oracle_cache):
        want = comparable(c.module)
        for kind, text, wasm in (
            ("flat", c.flat, c.flat_wasm),
            ("folded", c.folded, c.folded_wasm),
        ):
            parsed = parse_wat(text)
            got = comparable(parsed)
            if got != want and got != comparable(_decode(wasm)):
                fields = [k for k in want if want[k] != got[k]]
                failures.append(f"{c.where} ({kind}): parse_wat differs in {fields}")
            encoded = strip_customs(encode_module(parsed))
            if encoded not in (strip_customs(c.wasm), strip_customs(wasm)):
                failures.append(f"{c.where} ({kind}): encode_module(parse_wat) gives other bytes")
    assert not failures, "\n".join(failures)
