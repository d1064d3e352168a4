"""The .wast runner, checked on small scripts against the real wasmtime-py.

wasmtime is the control engine here: a script it runs correctly must pass, and a
script whose expectations are wrong must fail, with the right line and reason. That
shows the runner detects failures rather than waving commands through.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

import pytest
import wasmtime

import nanoproc
from nanoproc.internal.script import FileResult, run_wast
from nanoproc.internal.text.wast import parse_wast

GOOD_MODULE = """\
(module $M
  (import "spectest" "print_i32" (func $print (param i32)))
  (import "spectest" "global_i32" (global $g i32))
  (memory 1)
  (global (export "glob") i32 (i32.const 42))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "fadd") (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1)))
  (func (export "dmul") (param f64 f64) (result f64) (f64.mul (local.get 0) (local.get 1)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "two") (result i32 i64) (i32.const 1) (i64.const 2))
  (func (export "g") (result i32) (global.get $g))
  (func (export "print") (call $print (i32.const 7)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "nan") (result f64) (f64.div (f64.const 0) (f64.const 0)))
  (func (export "nan_payload") (result f64) (f64.const nan:0x8000000000001))
  (func (export "id_extern") (param externref) (result externref) (local.get 0))
  (func (export "null_func") (result funcref) (ref.null func))
  (func $f (export "some_func") (result funcref) (ref.func $f))
  (func $rec (export "rec") (call $rec))
)
"""


def run(tmp_path: Path, script: str, api: ModuleType = wasmtime, **kw: object) -> FileResult:
    path = tmp_path / "t.wast"
    path.write_text(textwrap.dedent(script))
    return run_wast(path, api, **kw)  # type: ignore[arg-type]


def only_failure(r: FileResult) -> str:
    assert r.failed == 1, [str(f) for f in r.failures]
    return str(r.failures[0])


# ---------------------------------------------------------------- passing scripts


ENGINES: dict[str, tuple[ModuleType, dict[str, object]]] = {
    "wasmtime": (wasmtime, {}),
    "nanoproc-interp": (nanoproc, {"strategy": "interp"}),
}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_command_kind_passes_on_a_correct_script(tmp_path: Path, engine: str) -> None:
    """Also an integration check of nanoproc's API with the runner."""
    api, options = ENGINES[engine]
    script = GOOD_MODULE + """
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "add" (i32.const -1) (i32.const 0)) (i32.const 0xffffffff))
(assert_return (invoke "add64" (i64.const -1) (i64.const 1)) (i64.const 0))
(assert_return (invoke "fadd" (f32.const 1.5) (f32.const 0.25)) (f32.const 1.75))
(assert_return (invoke "dmul" (f64.const 3) (f64.const -0.5)) (f64.const -1.5))
(assert_return (invoke "two") (i32.const 1) (i64.const 2))
(assert_return (invoke "g") (i32.const 666))
(assert_return (get "glob") (i32.const 42))
(assert_return (get $M "glob") (i32.const 42))
(invoke "print")
(assert_return (invoke "nan") (f64.const nan:canonical))
(assert_return (invoke "nan") (f64.const nan:arithmetic))
(assert_return (invoke "nan_payload") (f64.const nan:arithmetic))
(assert_return (invoke "id_extern" (ref.extern 7)) (ref.extern 7))
(assert_return (invoke "id_extern" (ref.extern 7)) (ref.extern))
(assert_return (invoke "id_extern" (ref.null extern)) (ref.null extern))
(assert_return (invoke "null_func") (ref.null func))
(assert_return (invoke "some_func") (ref.func))
(assert_return (invoke "add" (i32.const 1) (i32.const 1)) (either (i32.const 3) (i32.const 2)))
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "load" (i32.const 65536)) "out of bounds memory access")
(assert_exhaustion (invoke "rec") "call stack exhausted")
(register "m" $M)
(module (import "m" "add" (func $add (param i32 i32) (result i32)))
  (func (export "inc") (param i32) (result i32) (call $add (local.get 0) (i32.const 1))))
(assert_return (invoke "inc" (i32.const 41)) (i32.const 42))
(assert_return (invoke $M "add" (i32.const 2) (i32.const 2)) (i32.const 4))
(assert_invalid (module (func (result i32) (i64.const 0))) "type mismatch")
(assert_malformed (module quote "(func (unknownop))") "unknown operator")
(assert_malformed (module binary "\\00asm\\02\\00\\00\\00") "unknown binary version")
(assert_malformed (module binary "asm\\01") "magic header not detected")
(assert_unlinkable (module (import "m" "nope" (func))) "unknown import")
(assert_unlinkable (module (import "m" "add" (func))) "incompatible import type")
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
(module definition $D (global (export "x") (mut i32) (i32.const 5)))
(module instance $I $D)
(assert_return (get $I "x") (i32.const 5))
(module quote "(func (export \\"q\\") (result i32) (i32.const 9))")
(assert_return (invoke "q") (i32.const 9))
"""
    r = run(tmp_path, script, api, **options)
    assert r.failures == []
    n = len(parse_wast(script))
    assert n == 39
    assert (r.passed, r.failed, r.skipped) == (n, 0, 0)
    assert r.summary().endswith(f"{n} passed, 0 failed, 0 skipped")


def test_uncaught_exception(tmp_path: Path) -> None:
    script = """
(module (tag $t (param i32))
  (func (export "throw") (throw $t (i32.const 1)))
  (func (export "quiet")))
(assert_exception (invoke "throw"))
(assert_exception (invoke "quiet"))
"""
    r = run(tmp_path, script)
    assert r.passed == 2
    assert "t.wast:6: assert_exception (invoke 'quiet'): expected an uncaught exception" in only_failure(r)


# ---------------------------------------------------------------- wrong expectations fail


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ('(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))',
         "expected i32 4, got 3"),
        ('(assert_return (invoke "add64" (i64.const 1) (i64.const 2)) (i64.const -3))',
         "expected i64 -3, got 3"),
        ('(assert_return (invoke "fadd" (f32.const 1) (f32.const 1)) (f32.const 2.5))',
         "expected f32 bits 0x40200000, got f32 bits 0x40000000"),
        ('(assert_return (invoke "dmul" (f64.const 0) (f64.const -1)) (f64.const 0))',
         "expected f64 bits 0x0000000000000000, got f64 bits 0x8000000000000000"),
        ('(assert_return (invoke "nan_payload") (f64.const nan:canonical))',
         "expected nan:canonical, got f64 bits 0x7ff8000000000001"),
        ('(assert_return (invoke "dmul" (f64.const 1) (f64.const 1)) (f64.const nan:arithmetic))',
         "expected nan:arithmetic"),
        ('(assert_return (invoke "two") (i32.const 1))', "expected 1 results, got 2"),
        ('(assert_return (invoke "two") (i32.const 1) (i64.const 3))', "result 1: expected i64 3"),
        ('(assert_return (invoke "id_extern" (ref.extern 1)) (ref.extern 2))',
         "expected ref.extern 2"),
        ('(assert_return (invoke "id_extern" (ref.extern 1)) (ref.null extern))',
         "expected ref.null"),
        ('(assert_return (invoke "null_func") (ref.func))', "expected ref.func, got ref.null"),
        ('(assert_return (invoke "add" (i32.const 1) (i32.const 1)) (either (i32.const 3) (i32.const 4)))',
         "matches no alternative of either"),
        ('(assert_return (invoke "div" (i32.const 1) (i32.const 0)) (i32.const 0))',
         "unexpected trap"),
        ('(assert_return (invoke "missing"))', "no export 'missing'"),
        ('(assert_return (get "add") (i32.const 0))', "is not a global"),
        ('(assert_trap (invoke "div" (i32.const 4) (i32.const 2)) "integer divide by zero")',
         "returned [2]"),
        ('(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer overflow")',
         "expected trap 'integer overflow', got trap"),
        ('(assert_exhaustion (invoke "print") "call stack exhausted")', "returned []"),
        ('(assert_invalid (module (func (result i32) (i32.const 0))) "type mismatch")',
         "module compiled"),
        ('(assert_invalid (module (func (result i32) (i64.const 0))) "unknown global")',
         "expected invalid 'unknown global', got error"),
        ('(assert_malformed (module quote "(func)") "unexpected token")',
         "text parser accepted it"),
        ('(assert_malformed (module binary "\\00asm\\01\\00\\00\\00") "unexpected end")',
         "module compiled"),
        ('(assert_unlinkable (module (import "spectest" "print" (func))) "unknown import")',
         "instantiated fine"),
        ('(assert_unlinkable (module (func $s unreachable) (start $s)) "unknown import")',
         "expected error 'unknown import', got trap"),
        ('(assert_trap (module (import "spectest" "nope" (func))) "unreachable")',
         "expected trap 'unreachable', got error: unknown import"),
        ('(invoke "div" (i32.const 1) (i32.const 0))', "unexpected trap"),
        ('(register "x" $Nope)', "no instance $Nope"),
        ('(module (func (result i32) (i64.const 0)))', "module rejected"),
    ],
)
def test_wrong_expectation_fails_with_line_and_reason(tmp_path: Path, command: str, why: str) -> None:
    r = run(tmp_path, GOOD_MODULE + command + "\n")
    line = GOOD_MODULE.count("\n") + 1
    failure = only_failure(r)
    assert failure.startswith(f"{tmp_path / 't.wast'}:{line}: "), failure
    assert why in failure
    assert r.passed == 1  # the module


def test_commands_on_a_module_that_failed_to_load_fail(tmp_path: Path) -> None:
    r = run(tmp_path, """
(module (func (export "f") (result i32) (i64.const 0)))
(assert_return (invoke "f") (i32.const 0))
(invoke "f")
""")
    assert (r.passed, r.failed) == (0, 3)
    assert "instance (current) failed to load at line 2" in str(r.failures[1])


def test_malformed_messages_are_compared_only_on_request(tmp_path: Path) -> None:
    """As in wasmtime's runner: the spec's words for malformed modules are the reference
    parser's own (any bad token is an "unknown operator"), so by default only the
    rejection counts."""
    script = """
(assert_malformed (module quote "(func (unknownop))") "duplicate func")
(assert_malformed (module binary "\\00asm\\02\\00\\00\\00") "magic header not detected")
"""
    r = run(tmp_path, script)
    assert (r.passed, r.failed) == (2, 0), r.failures
    r = run(tmp_path, script, malformed_messages=True)
    assert r.failed == 2
    assert "t.wast:2: assert_malformed (module quote): expected malformed 'duplicate func', " \
           "text parser says: 1:8: unknown operator unknownop" in str(r.failures[0])
    assert "t.wast:3: assert_malformed (module binary): expected malformed 'magic header " \
           "not detected', got error: " in str(r.failures[1])


INVALID_BIN = r"\00asm\01\00\00\00\01\05\01\60\00\01\7f\03\02\01\00\0a\06\01\04\00\42\00\0b"
"""(func (result i32) (i64.const 0)): well-formed, invalid."""
TRUNCATED_BIN = r"\00asm\01\00\00\00\01\04\01\60\00"
"""A type section cut short: malformed."""


def test_malformed_and_invalid_are_told_apart(tmp_path: Path) -> None:
    """The API rejects both alike; nanoproc's decoder decides which of the two it is."""
    r = run(tmp_path, f"""
(assert_invalid (module binary "{INVALID_BIN}") "type mismatch")
(assert_malformed (module binary "{TRUNCATED_BIN}") "unexpected end")
""")
    assert (r.passed, r.failed) == (2, 0), r.failures
    r = run(tmp_path, f"""
(assert_malformed (module binary "{INVALID_BIN}") "type mismatch")
(assert_invalid (module binary "{TRUNCATED_BIN}") "unexpected end")
""")
    assert r.failed == 2
    assert "t.wast:2: assert_malformed (module binary): expected malformed 'type mismatch', " \
           "nanoproc's decoder accepted it" in str(r.failures[0])
    assert "t.wast:3: assert_invalid (module binary): expected invalid 'unexpected end', " \
           "nanoproc's decoder says malformed" in str(r.failures[1])
    r = run(tmp_path, f"""(assert_malformed (module binary "{INVALID_BIN}") "type mismatch")""",
            check_phase=False)
    assert (r.passed, r.failed) == (1, 0)


# ---------------------------------------------------------------- skips, time limits, bad scripts


def fake_api(**overrides: object) -> ModuleType:
    """wasmtime with some attributes replaced (a stand-in for an engine's quirks)."""
    api = ModuleType("fake_wasmtime")
    api.__dict__.update({k: getattr(wasmtime, k) for k in wasmtime.__all__})
    api.__dict__.update(overrides)
    return api


def test_unsupported_features_are_skipped_with_their_dependants(tmp_path: Path) -> None:
    def module(engine: object, data: bytearray) -> object:
        if b"widget" in data:
            raise wasmtime.WasmtimeError("not supported yet: widgets (in this test)")
        return wasmtime.Module(engine, data)  # type: ignore[arg-type]

    r = run(tmp_path, """
(module $W (func (export "widget") (result i32) (i32.const 1)))
(assert_return (invoke "widget") (i32.const 1))
(assert_return (invoke $W "widget") (i32.const 2))
(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 1))
(assert_return (invoke $W "widget") (i32.const 1))
(assert_invalid (module (func (export "widget") (result i32))) "type mismatch")
""", api=fake_api(Module=module))
    assert (r.passed, r.failed, r.skipped) == (2, 0, 5)
    assert r.skips == {"widgets": 5}
    assert "(unsupported: widgets x5)" in r.summary()


def test_an_unsupported_engine_skips_the_whole_file(tmp_path: Path) -> None:
    def engine(config: object) -> object:
        raise wasmtime.WasmtimeError("not supported yet: llvm tier (llvmlite missing)")

    r = run(tmp_path, GOOD_MODULE + '(invoke "print")\n', api=fake_api(Engine=engine))
    assert (r.passed, r.failed, r.skipped) == (0, 0, 2)
    assert r.skips == {"llvm tier": 2}


def test_a_slow_command_hits_the_time_limit(tmp_path: Path) -> None:
    import time

    def module(engine: object, data: bytearray) -> object:
        if b"slow" in data:
            time.sleep(30)
        return wasmtime.Module(engine, data)  # type: ignore[arg-type]

    start = time.monotonic()
    r = run(tmp_path, """
(module (func (export "fast")))
(module (func (export "slow")))
(invoke "slow")
(invoke "slow")
""", api=fake_api(Module=module), timeout=0.5)
    assert time.monotonic() - start < 10
    assert (r.passed, r.failed) == (1, 3)
    assert len(r.failures) == 1
    assert "t.wast:3: (module): timed out after 0.5s; 3 commands not run" in str(r.failures[0])


def test_api_bugs_are_failures_not_crashes(tmp_path: Path) -> None:
    def module(engine: object, data: bytearray) -> object:
        raise ZeroDivisionError("oops")

    r = run(tmp_path, "(module)\n(module)\n", api=fake_api(Module=module))
    assert r.failed == 2
    assert "API raised ZeroDivisionError: oops" in str(r.failures[0])


def test_script_that_does_not_parse(tmp_path: Path) -> None:
    r = run(tmp_path, "(assert_return (invoke \"f\") (i32.const 1)\n")
    assert r.failed == 1
    assert "script does not parse" in only_failure(r)


def test_missing_script(tmp_path: Path) -> None:
    r = run_wast(tmp_path / "nope.wast", wasmtime)
    assert "cannot read script" in only_failure(r)
