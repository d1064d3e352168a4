"""A component's WIT (``nanoproc wit COMPONENT``): the same text as ``wasm-tools
component wit`` for every valid component of the component-model suite."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import component_suite_dir, component_suite_files, wasm_tools
from nanoproc.internal.binary.component_decode import decode_component
from nanoproc.internal.errors import WasmtimeError
from nanoproc.internal.valid.component import validate_component
from nanoproc.internal.wit import WitError
from nanoproc.internal.wit.decode import decode_component_wit
from nanoproc.internal.wit.printer import print_wit

FILES = component_suite_files()


def _wasm_tools_wit(wasm: Path) -> str | None:
    """``wasm-tools component wit`` of a binary; None if it refuses."""
    ref = subprocess.run([wasm_tools(), "component", "wit", str(wasm)], capture_output=True,
                         text=True)  # fmt: skip
    return ref.stdout if ref.returncode == 0 else None


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p and f"{p.parent.name}/{p.name}")
def test_component_wit_as_wasm_tools(path: Path | None, tmp_path: Path) -> None:
    if path is None:
        component_suite_dir()
        return
    subprocess.run([wasm_tools(), "json-from-wast", str(path), "-o", str(tmp_path / "x.json"),
                    "--wasm-dir", str(tmp_path)], check=True, capture_output=True)  # fmt: skip
    todo = []
    for cmd in json.loads((tmp_path / "x.json").read_text())["commands"]:
        if cmd.get("module_type") != "binary" or cmd["type"] not in ("module", "module_definition"):
            continue
        wasm = tmp_path / cmd["filename"]
        data = wasm.read_bytes()
        if data[6:8] != b"\x01\x00":
            continue
        try:
            info = validate_component(decode_component(data))
        except WasmtimeError:
            continue
        todo.append((cmd["line"], wasm, info))
    # wasm-tools' start-up dominates (one process per component): run them side by side
    with ThreadPoolExecutor(4) as pool:
        refs = list(pool.map(_wasm_tools_wit, [wasm for _, wasm, _ in todo]))
    compared = 0
    for (line, _, info), ref in zip(todo, refs, strict=True):
        if ref is None:
            continue  # wasm-tools cannot show it (e.g. a top-level type export)
        resolve, pkg, others = decode_component_wit(info)
        assert print_wit(resolve, pkg, others) == ref, f"{path.name}:{line}"
        compared += 1
    assert compared or path.parent.name == "validation"


def test_type_export_has_no_wit() -> None:
    from nanoproc.internal.text.component_wat import parse_component_text

    info = validate_component(parse_component_text(
        '(component (type $t (record (field "a" u32))) (export "t" (type $t)))'))
    with pytest.raises(WitError, match="was not a function or instance"):
        decode_component_wit(info)
