"""The component printer: wasm-tools reads what it prints back to the same component."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import component_suite_dir, component_suite_files, wasm_tools
from nanoproc.internal.binary.component_decode import decode_component
from nanoproc.internal.binary.component_encode import encode_component
from nanoproc.internal.errors import WasmtimeError
from nanoproc.internal.script.modules import component_bytes
from nanoproc.internal.syntax import component as C
from nanoproc.internal.text.component_printer import print_component
from nanoproc.internal.text.component_wat import parse_component_text
from nanoproc.internal.text.wast import AssertInvalid, AssertMalformed, ModuleCommand, parse_wast
from nanoproc.internal.valid.component import validate_component

FILES = component_suite_files()


def bare(binary: bytes) -> bytes:
    """``binary`` re-encoded without custom sections, names and empty sections."""
    from nanoproc.internal.binary.encode import encode_module

    def strip(c: C.Component) -> None:
        c.sections = [s for s in c.sections if s.id != 0 and s.items]
        c.names = None
        for s in c.sections:
            for item in s.items:
                if isinstance(item, C.ComponentDef):
                    strip(item.component)
                elif isinstance(item, C.CoreModuleDef):
                    item.module.customs = []
                    item.module.names = None
                    item.binary = encode_module(item.module)

    comp = decode_component(binary)
    strip(comp)
    return encode_component(comp)


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p and f"{p.parent.name}/{p.name}")
def test_wasm_tools_parses_our_print_back(path: Path | None, tmp_path: Path) -> None:
    """Print every valid component of a script; ``wasm-tools json-from-wast`` on the
    printed script gives back the same binaries (names and custom sections aside)."""
    if path is None:
        component_suite_dir()
        return
    originals = []
    for cmd in parse_wast(path.read_text(encoding="utf-8")):
        if isinstance(cmd, (AssertInvalid, AssertMalformed)):
            continue
        m = cmd if isinstance(cmd, ModuleCommand) else getattr(cmd, "module", None)
        if not isinstance(m, ModuleCommand) or not m.component:
            continue
        try:
            binary = component_bytes(m)
            validate_component(decode_component(binary))
        except WasmtimeError:
            continue
        if " cancellable" in print_component(decode_component(binary)):
            continue  # wasm-tools' text parser no longer takes this flag its decoder reads
        originals.append((m.kind, binary))
    if not originals:
        return
    script = "\n".join(print_component(decode_component(b)) for _, b in originals)
    (tmp_path / "printed.wast").write_text(script, encoding="utf-8")
    subprocess.run([wasm_tools(), "json-from-wast", str(tmp_path / "printed.wast"), "-o",
                    str(tmp_path / "x.json"), "--wasm-dir", str(tmp_path)],
                   check=True, capture_output=True)  # fmt: skip
    ref = [c for c in json.loads((tmp_path / "x.json").read_text())["commands"] if "filename" in c]
    assert len(ref) == len(originals)
    for (kind, original), rc in zip(originals, ref, strict=True):
        back = (tmp_path / rc["filename"]).read_bytes()
        if kind == "binary":
            # may use encodings text cannot choose (a 0x00 name form, ...): same text
            assert print_component(decode_component(bare(back))) == print_component(
                decode_component(bare(original)))
        else:
            assert bare(back) == bare(original)


def test_print_names_and_indices() -> None:
    text = """(component $c
      (type $r (record (field "a" u32) (field "b-c" string)))
      (import "i" (instance $i (export "f" (func (param "x" $r)))))
      (core module $m)
      (core instance $ci (instantiate $m))
      (export "r" (type $r)))"""
    out = print_component(parse_component_text(text))
    assert out.startswith("(component $c\n")
    assert '(type $r (;0;) (record (field "a" u32) (field "b-c" string)))' in out
    assert "(core module $m (;0;)" in out
    assert "(core instance $ci (;0;) (instantiate 0))" in out
    assert parse_component_text(out) is not None
