"""``nanoproc parse/print/validate`` on components (binary and text)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import wasm_tools

COMPONENT_WAT = """(component
  (core module $m (func (export "f") (result i32) i32.const 42))
  (core instance $i (instantiate $m))
  (func (export "f") (result u32) (canon lift (core func $i "f")))
)
"""
INVALID_WAT = '(component (func (export "f") (result u32) (canon lift (core func 0))))\n'
MALFORMED_WAT = "(component\n  (type $t (record (field \"a\" u33))))\n"


def nanoproc(*args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "nanoproc", *map(str, args)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def one_error(proc: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])


def test_parse_print_validate_a_component(tmp_path: Path) -> None:
    wat = tmp_path / "c.wat"
    wat.write_text(COMPONENT_WAT)
    wasm = tmp_path / "c.wasm"
    assert nanoproc("parse", wat, "-o", wasm).returncode == 0
    subprocess.run([wasm_tools(), "validate", str(wasm)], check=True)
    ref = subprocess.run([wasm_tools(), "parse", str(wat)], check=True, capture_output=True)
    assert wasm.read_bytes() == ref.stdout
    printed = nanoproc("print", wasm)
    assert printed.returncode == 0 and printed.stdout.startswith("(component")
    again = tmp_path / "again.wat"
    again.write_text(printed.stdout)
    assert nanoproc("validate", again).returncode == 0
    for f in (wat, wasm):
        proc = nanoproc("validate", "-v", f)
        assert proc.returncode == 0 and proc.stdout.strip() == f"{f}: valid"


def test_invalid_and_malformed_components(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wat"
    bad.write_text(INVALID_WAT)
    one_error(nanoproc("validate", bad), "bad.wat", "unknown core function 0")
    binary = tmp_path / "bad.wasm"
    assert nanoproc("parse", bad, "-o", binary).returncode == 0  # parse does not validate
    one_error(nanoproc("validate", binary), "bad.wasm", "unknown core function 0")
    mal = tmp_path / "mal.wat"
    mal.write_text(MALFORMED_WAT)
    one_error(nanoproc("parse", mal, "-o", tmp_path / "x.wasm"), "mal.wat:2:", "u33")
    one_error(nanoproc("validate", mal), "mal.wat:2:")
    trunc = tmp_path / "trunc.wasm"
    trunc.write_bytes(binary.read_bytes()[:-3])
    one_error(nanoproc("print", trunc), "trunc.wasm", "offset")
    one_error(nanoproc("validate", trunc), "trunc.wasm", "offset")


def test_wit_of_a_component_and_a_package(tmp_path: Path) -> None:
    wat = tmp_path / "c.wat"
    wat.write_text(COMPONENT_WAT)
    proc = nanoproc("wit", wat)
    assert proc.returncode == 0
    assert proc.stdout == "package root:component;\n\nworld root {\n  export f: func() -> u32;\n}\n"
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.wit").write_text("package a:b;\ninterface i {\n  f: func(x: u32) -> string;\n}\n")
    out = tmp_path / "out.wit"
    assert nanoproc("wit", pkg, "-o", out).returncode == 0
    ref = subprocess.run([wasm_tools(), "component", "wit", str(pkg)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.read_text() == ref.stdout
    (pkg / "b.wit").write_text("interface j {\n  use i.{nope};\n}\n")
    one_error(nanoproc("wit", pkg), "b.wit:2:", "nope")
    one_error(nanoproc("wit", tmp_path / "missing"), "no such file")
