"""The component validator: rules with wasmparser's wording, checked against wasm-tools.

The suite (tests/spec/test_spec_component_formats.py) checks every assert_invalid
message; these cases add rules it covers thinly, each compared with ``wasm-tools
validate`` so the oracle, not this file, says what is valid.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import wasm_tools
from nanoproc.internal.binary.component_encode import encode_component
from nanoproc.internal.errors import ValidationError
from nanoproc.internal.text.component_wat import parse_component_text
from nanoproc.internal.valid.component import validate_component
from nanoproc.internal.valid.component.names import is_kebab, parse_name

CASES = {
    "kebab-ok": '(component (import "a-b-c1" (func)))',
    "kebab-upper-run": '(component (import "aBc" (func)))',
    "kebab-digit-start": '(component (import "1a" (func)))',
    "acronym": '(component (import "a-XML" (func)))',
    "interface": '(component (import "wasi:http/types@0.2.0" (instance)))',
    "bad-semver": '(component (import "wasi:http/types@0.2" (instance)))',
    "dup-import": '(component (import "a" (func)) (import "a" (func)))',
    "dup-case-insensitive": '(component (import "a" (func)) (import "A" (func)))',
    "method-ok": """(component (type $r (resource (rep i32)))
        (import "r" (type $t (sub resource)))
        (import "[method]r.m" (func (param "self" (borrow $t)))))""",
    "method-no-self": """(component (import "r" (type $t (sub resource)))
        (import "[method]r.m" (func)))""",
    "constructor-wrong": """(component (import "r" (type $t (sub resource)))
        (import "[constructor]r" (func (result u32))))""",
    "unnamed-record-export": """(component (type $r (record (field "a" u32)))
        (import "f" (func (result $r))))""",
    "borrow-result": """(component (import "r" (type $t (sub resource)))
        (import "f" (func (result (borrow $t)))))""",
    "lift-no-memory": """(component
        (core module $m (func (export "f") (result i32) i32.const 0))
        (core instance $i (instantiate $m))
        (func (export "f") (result string) (canon lift (core func $i "f"))))""",
    "lift-wrong-sig": """(component
        (core module $m (func (export "f") (result i64) i64.const 0))
        (core instance $i (instantiate $m))
        (func (export "f") (result u32) (canon lift (core func $i "f"))))""",
    "too-many-params": """(component
        (core module $m (func (export "f")
          (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
        (core instance $i (instantiate $m))
        (func (export "f") (param "a" (tuple u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32
          u32 u32 u32 u32 u32 u32)) (canon lift (core func $i "f"))))""",
    "resource-export-private": """(component
        (type $r (resource (rep i32)))
        (func $f (param "x" (own $r)) (canon lift (core func 0))))""",
    "instance-subtype": """(component
        (import "i" (instance $i (export "f" (func)) (export "g" (func))))
        (component $c (import "i" (instance (export "f" (func)))))
        (instance (instantiate $c (with "i" (instance $i)))))""",
    "instance-subtype-missing": """(component
        (import "i" (instance $i (export "g" (func))))
        (component $c (import "i" (instance (export "f" (func)))))
        (instance (instantiate $c (with "i" (instance $i)))))""",
}


def oracle(text: str, tmp_path: Path) -> str | None:
    """wasm-tools' verdict: None if valid, else its message."""
    wat = tmp_path / "c.wat"
    wat.write_text(text)
    proc = subprocess.run([wasm_tools(), "validate", "--features", "all", str(wat)],
                          capture_output=True, text=True)  # fmt: skip
    return None if proc.returncode == 0 else proc.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_agrees_with_wasm_tools(name: str, tmp_path: Path) -> None:
    text = CASES[name]
    try:
        validate_component(parse_component_text(text))
        mine = None
    except ValidationError as e:
        mine = str(e)
    except Exception as e:  # a ParseError: only where wasm-tools fails to parse too
        mine = f"parse: {e}"
    ref = oracle(text, tmp_path)
    if ref is None:
        assert mine is None, mine
    else:
        assert mine is not None, f"accepted, wasm-tools says: {ref}"
        if not mine.startswith("parse:"):
            first = mine.split("\n")[0].split(" (at offset")[0]
            assert first in ref, (mine, ref)


def test_binary_validation_matches_text() -> None:
    comp = parse_component_text(CASES["method-ok"])
    from nanoproc.internal.binary.component_decode import decode_component

    validate_component(decode_component(encode_component(comp)))


@pytest.mark.parametrize(
    ("name", "ok"),
    [("a", True), ("a-b", True), ("a1-b2", True), ("ABC-def", True), ("a--b", False),
     ("-a", False), ("a-", False), ("aB", False), ("1a", False), ("a-1", True), ("", False)],
)
def test_is_kebab(name: str, ok: bool) -> None:
    assert is_kebab(name) is ok


def test_parse_name_kinds() -> None:
    assert parse_name("[method]file.read").kind == "method"
    assert parse_name("[static]file.open").kind == "static"
    assert parse_name("[constructor]file").kind == "constructor"
    assert parse_name("wasi:io/streams@0.2.0").kind == "interface"
    assert parse_name("plain-name").kind == "label"
