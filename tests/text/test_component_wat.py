"""The component text parser: byte-identical to ``wasm-tools parse`` on the suite, and
clear errors (line:column) on bad text."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import component_suite_dir, component_suite_files, wasm_tools
from nanoproc.internal.binary.component_decode import decode_component
from nanoproc.internal.binary.component_encode import encode_component
from nanoproc.internal.errors import ParseError
from nanoproc.internal.text.component_wat import is_component_text, parse_component_text
from nanoproc.internal.text.wast import ModuleCommand, parse_wast

FILES = component_suite_files()


def module_commands(text: str) -> list[ModuleCommand]:
    """Every module-bearing command of a script, in order (as wasm-tools numbers them)."""
    out = []
    for cmd in parse_wast(text):
        m = cmd if isinstance(cmd, ModuleCommand) else getattr(cmd, "module", None)
        if isinstance(m, ModuleCommand):
            out.append(m)
    return out


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p and f"{p.parent.name}/{p.name}")
def test_text_components_encode_as_wasm_tools_does(path: Path | None, tmp_path: Path) -> None:
    """Index allocation (inline types, aliases, bags of exports) and the name section
    match ``wasm-tools json-from-wast`` byte for byte."""
    if path is None:
        component_suite_dir()
        return
    subprocess.run([wasm_tools(), "json-from-wast", str(path), "-o", str(tmp_path / "x.json"),
                    "--wasm-dir", str(tmp_path)], check=True, capture_output=True)
    ref = [c for c in json.loads((tmp_path / "x.json").read_text())["commands"] if "filename" in c]
    mine = module_commands(path.read_text(encoding="utf-8"))
    assert len(ref) == len(mine)
    compared = 0
    for cmd, rc in zip(mine, ref, strict=True):
        if cmd.kind != "text" or rc.get("module_type") != "binary":
            continue
        expected = (tmp_path / rc["filename"]).read_bytes()
        assert encode_component(cmd.module) == expected, f"{path.name}:{cmd.line}"  # type: ignore[arg-type]
        compared += 1
    assert compared > 0 or path.name == "binary.wast"


def test_is_component_text() -> None:
    assert is_component_text("  ;; c\n (; x ;) (component)")
    assert is_component_text("(component $c (core module))")
    assert not is_component_text("(module)")
    assert not is_component_text("(componentx)")


def test_minimal_component_round_trip() -> None:
    text = """(component
      (core module $m (func (export "f") (result i32) i32.const 7))
      (core instance $i (instantiate $m))
      (func (export "f") (result u32) (canon lift (core func $i "f"))))"""
    binary = encode_component(parse_component_text(text))
    assert binary[:8] == b"\0asm\x0d\x00\x01\x00"
    decode_component(binary)


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("(component\n  (func $f))", (2, 11), "canon lift"),
        ("(component (type $t (record (field \"a\" u32))) (type $t u8))", (1, 47), "duplicate"),
        ("(component (export \"a\" (func $nope)))", (1, 30), "$nope"),
        ("(component (core module (func (result i32) i33.const 0)))", (1, 44), "i33.const"),
        ("(module)", (1, 1), "expected (component ...)"),
    ],
)
def test_parse_errors_have_line_and_column(text: str, where: tuple[int, int], what: str) -> None:
    with pytest.raises(ParseError) as e:
        parse_component_text(text)
    assert (e.value.line, e.value.column) == where, str(e.value)
    assert what in str(e.value)
