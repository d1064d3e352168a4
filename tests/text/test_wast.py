"""WAST script parser: every command form, values and result patterns."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nanoproc.internal.errors import ParseError
from nanoproc.internal.syntax.types import F32, F64, I32, I64
from nanoproc.internal.text.wast import (
    ActionCommand,
    AssertException,
    AssertExhaustion,
    AssertInvalid,
    AssertMalformed,
    AssertReturn,
    AssertTrap,
    AssertUnlinkable,
    EitherResult,
    Get,
    Invoke,
    ModuleCommand,
    ModuleInstance,
    NumResult,
    NumValue,
    RefExternValue,
    RefHostValue,
    RefNullValue,
    RefResult,
    Register,
    VecResult,
    VecValue,
    parse_wast,
)
from nanoproc.internal.text.wat import parse_wat


def one(text: str) -> object:
    (cmd,) = parse_wast(text)
    return cmd


def test_module_forms() -> None:
    cmds = parse_wast(
        """(module $M (func (export "f")))
           (module binary "\\00asm" "\\01\\00\\00\\00")
           (module $Q quote "(func" " (export \\"q\\"))")
           (module definition $D (memory 1))
           (module instance $I $D)
           (register "reg" $M)"""
    )
    m, b, q, d, i, r = cmds
    assert isinstance(m, ModuleCommand) and (m.kind, m.name, m.line) == ("text", "$M", 1)
    assert m.module is not None and m.module.exports[0].name == "f"
    assert isinstance(b, ModuleCommand) and (b.kind, b.binary, b.line) == ("binary", b"\0asm\1\0\0\0", 2)
    assert isinstance(q, ModuleCommand) and q.kind == "quote" and q.name == "$Q"
    assert q.quote is not None and parse_wat(q.quote).exports[0].name == "q"
    assert isinstance(d, ModuleCommand) and d.definition and d.name == "$D" and d.module is not None
    assert i == ModuleInstance(5, "$I", "$D")
    assert r == Register(6, "reg", "$M")


def test_quoted_malformed_text_is_kept_for_the_runner() -> None:
    cmd = one('(assert_malformed (module quote "(func (i32.const 0x))") "unknown operator")')
    assert isinstance(cmd, AssertMalformed) and cmd.message == "unknown operator"
    assert cmd.module.quote is not None
    with pytest.raises(ParseError):
        parse_wat(cmd.module.quote)
    # bytes that are not UTF-8 only fail when the quote is parsed
    bad = one('(assert_malformed (module quote "(func (export \\"\\80\\"))") "malformed UTF-8 encoding")')
    assert isinstance(bad, AssertMalformed) and bad.module.quote is not None
    with pytest.raises(ParseError, match="UTF-8"):
        parse_wat(bad.module.quote)
    raw = one('(assert_malformed (module quote "(data \\"\\ff\\")") "x")')
    with pytest.raises(ParseError, match="UTF-8"):
        parse_wat(raw.module.quote)  # type: ignore[attr-defined]


def test_actions_and_values() -> None:
    cmd = one(
        """(invoke $M "f" (i32.const -1) (i64.const 0xffffffffffffffff) (f32.const nan:0x200000)
             (f64.const -0) (v128.const i32x4 1 2 3 4) (ref.null extern) (ref.null $t)
             (ref.extern 7) (ref.host 3))"""
    )
    assert isinstance(cmd, ActionCommand) and isinstance(cmd.action, Invoke)
    assert cmd.action.module == "$M" and cmd.action.name == "f"
    assert cmd.action.args == (
        NumValue(I32, -1),
        NumValue(I64, -1),
        NumValue(F32, 0x7FA00000),
        NumValue(F64, 1 << 63),
        VecValue(bytes.fromhex("01000000020000000300000004000000")),
        RefNullValue("extern"),
        RefNullValue("$t"),
        RefExternValue(7),
        RefHostValue(3),
    )
    get = one('(get "g")')
    assert isinstance(get, ActionCommand) and get.action == Get(1, None, "g")


def test_assert_return_results() -> None:
    cmd = one(
        """(assert_return (invoke "f")
             (i32.const 1) (f32.const nan:canonical) (f64.const nan:arithmetic) (f64.const -nan)
             (v128.const f32x4 nan:canonical 1 -0 nan:arithmetic) (v128.const i8x16 -1 255 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
             (ref.null) (ref.null func) (ref.func) (ref.func 3) (ref.func $f) (ref.extern) (ref.extern 2)
             (ref.host 1) (ref.any) (ref.eq) (ref.i31) (ref.struct) (ref.array) (ref.exn)
             (either (i32.const 0) (i32.const 1)))"""
    )
    assert isinstance(cmd, AssertReturn)
    r = cmd.results
    assert r[0] == NumResult(I32, 1)
    assert r[1] == NumResult(F32, None, "nan:canonical")
    assert r[2] == NumResult(F64, None, "nan:arithmetic")
    assert r[3] == NumResult(F64, 0xFFF8000000000000)
    assert r[4] == VecResult("f32x4", ("nan:canonical", 0x3F800000, 0x80000000, "nan:arithmetic"))
    assert r[4].exact_bytes() is None  # type: ignore[union-attr]
    assert isinstance(r[5], VecResult) and r[5].lanes[:2] == (-1, -1)
    assert r[5].exact_bytes() == b"\xff\xff" + bytes(14)
    assert r[6:14] == (
        RefResult("null"),
        RefResult("null", heap="func"),
        RefResult("func"),
        RefResult("func", 3),
        RefResult("func", heap="$f"),
        RefResult("extern"),
        RefResult("extern", 2),
        RefResult("host", 1),
    )
    assert [x.kind for x in r[14:20]] == ["any", "eq", "i31", "struct", "array", "exn"]  # type: ignore[union-attr]
    assert r[20] == EitherResult((NumResult(I32, 0), NumResult(I32, 1)))


def test_assertions_on_modules_and_actions() -> None:
    cmds = parse_wast(
        """(assert_invalid (module (func (result i32))) "type mismatch")
           (assert_unlinkable (module (import "x" "y" (func))) "unknown import")
           (assert_trap (module (func $s unreachable) (start $s)) "unreachable")
           (assert_trap (invoke "t") "integer divide by zero")
           (assert_exhaustion (invoke "r") "call stack exhausted")
           (assert_exception (invoke "e"))
           (assert_malformed (module binary "\\00") "unexpected end")"""
    )
    inv, unl, trap_mod, trap, exh, exc, mal = cmds
    assert isinstance(inv, AssertInvalid) and inv.module.module is not None and inv.message == "type mismatch"
    assert isinstance(unl, AssertUnlinkable) and unl.module.kind == "text"
    assert isinstance(trap_mod, AssertTrap) and trap_mod.action is None and trap_mod.module is not None
    assert isinstance(trap, AssertTrap) and trap.module is None and isinstance(trap.action, Invoke)
    assert isinstance(exh, AssertExhaustion) and exh.message == "call stack exhausted"
    assert isinstance(exc, AssertException) and exc.action.name == "e"
    assert isinstance(mal, AssertMalformed) and mal.module.binary == b"\0"
    assert [c.line for c in cmds] == [1, 2, 3, 4, 5, 6, 7]


def test_bare_module_script() -> None:
    (cmd,) = parse_wast("(func (export \"f\"))")
    assert isinstance(cmd, ModuleCommand) and cmd.module is not None and len(cmd.module.funcs) == 1


@pytest.mark.parametrize(
    "text",
    [
        "(assert_return (invoke \"f\") (i32.const nan:canonical))",
        "(assert_return (invoke \"f\") (f32.const))",
        "(invoke \"f\" (i32.add))",
        "(assert_trap (invoke \"f\"))",
        "(bogus)",
        "(module quote 1)",
        "(assert_invalid (module (func (i32.const 0x))) \"x\")",
        "nop",
    ],
)
def test_malformed_scripts(text: str) -> None:
    with pytest.raises(ParseError):
        parse_wast(text)


def test_errors_name_the_file() -> None:
    with pytest.raises(ParseError) as info:
        parse_wast("\n  (bogus)", filename="s.wast")
    assert (info.value.filename, info.value.line, info.value.column) == ("s.wast", 2, 3)


_SCRIPT = """(module $M (func (export "f") (param i64) (result i64) (local.get 0)))
(register "m" $M)
(assert_return (invoke $M "f" (i64.const -1)) (i64.const 0xffff_ffff_ffff_ffff))
(assert_return (invoke "g") (v128.const f32x4 nan:canonical 0x1p-149 -inf 1e38) (either (ref.null) (ref.func 1)))
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
(assert_malformed (module quote "(func" "(i32.const 0x))") "unknown operator")
(assert_invalid (module binary "\\00asm\\01\\00\\00\\00") "x")
(module instance $I $M)
"""


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_garbled_scripts_raise_only_parse_errors(data: st.DataObject) -> None:
    text = _SCRIPT
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["cut", "insert", "delete"]))
        if action == "cut":
            text = text[:i]
        elif action == "insert":
            text = text[:i] + data.draw(st.sampled_from(list('()$";@\\ 0x.-_') + ["nan:", "(;"])) + text[i:]
        else:
            text = text[:i] + text[i + data.draw(st.integers(1, 8)) :]
    try:
        parse_wast(text)
    except ParseError:
        pass
