"""``nanoproc compose`` (internal/compose.py): a socket's imports plugged by other
components' exports, as ``wac plug`` does; the result validates (wasm-tools too)
and runs on both tiers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nanoproc
from component_samples import LIBC, SHOUT, UPPER, instantiated, tier_engine
from conftest import wasm_tools
from nanoproc import component as c
from nanoproc.internal.binary.component_encode import encode_component
from nanoproc.internal.compose import ComposeError, plug
from nanoproc.internal.text.component_wat import parse_component_text

# UPPER, but it logs each call through an imported `log` (shared with the socket).
LOGGING_UPPER = UPPER.replace("(component", """(component
  (import "log" (func $log (param "msg" string)))""", 1)
LOGGING_SHOUT = SHOUT.replace("(component", """(component
  (import "log" (func $log (param "msg" string)))""", 1)


def _bin(text: str) -> bytes:
    return encode_component(parse_component_text(text))


def _shout(store: nanoproc.Store, inst: Any) -> Any:
    api = inst.get_export_index(store, "my:pkg/api")
    return inst.get_func(store, inst.get_export_index(store, "shout", api))


@pytest.mark.parametrize("tier", ["interp", "llvm"])
def test_plugged_component_runs(tier: str, tmp_path: Path) -> None:
    out = plug(_bin(SHOUT), [_bin(UPPER)])
    (tmp_path / "out.wasm").write_bytes(out)
    subprocess.run([wasm_tools(), "validate", str(tmp_path / "out.wasm")], check=True)
    engine = tier_engine(tier)
    store, _, comp, inst = instantiated(engine, out)
    assert list(comp.type.imports(engine)) == []
    assert _shout(store, inst)(store, "plug me") == "PLUG ME!"


def test_shared_imports_are_imported_once(tmp_path: Path) -> None:
    out = plug(_bin(LOGGING_SHOUT), [_bin(LOGGING_UPPER)])
    engine = tier_engine("interp")
    comp = c.Component(engine, out)
    assert list(comp.type.imports(engine)) == ["log"]
    linker = c.Linker(engine)
    logged: list[str] = []
    with linker.root() as root:
        root.add_func("log", lambda st, msg: logged.append(msg))
    store = nanoproc.Store(engine)
    inst = linker.instantiate(store, comp)
    assert _shout(store, inst)(store, "x") == "X!"
    assert logged == []  # nothing calls log, but both components were linked to it


def test_no_matching_imports_is_an_error() -> None:
    with pytest.raises(ComposeError, match="no matching imports"):
        plug(_bin(UPPER), [_bin(SHOUT)])
    unrelated = f"(component {LIBC})"
    with pytest.raises(ComposeError, match="plug 2 has no exports"):
        plug(_bin(SHOUT), [_bin(UPPER), _bin(unrelated)])


def test_cli_compose(tmp_path: Path) -> None:
    (tmp_path / "s.wat").write_text(SHOUT)
    (tmp_path / "u.wasm").write_bytes(_bin(UPPER))
    out = tmp_path / "out.wasm"
    proc = subprocess.run([sys.executable, "-m", "nanoproc", "compose", str(tmp_path / "s.wat"),
                           "--plug", str(tmp_path / "u.wasm"), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    subprocess.run([wasm_tools(), "validate", str(out)], check=True)
    proc = subprocess.run([sys.executable, "-m", "nanoproc", "compose", str(tmp_path / "u.wasm"),
                           "--plug", str(tmp_path / "s.wat"), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
