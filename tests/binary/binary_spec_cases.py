"""The spec suite's binary modules, via ``wasm-tools json-from-wast`` (the oracle).

``json-from-wast`` turns each root ``.wast`` script into ``.wasm`` files plus a JSON
list of commands. Converting all 257 scripts takes a few seconds, so the output is
cached under ``/tmp`` in a directory keyed by the suite's files and the wasm-tools
version, built atomically (temp dir + rename) so parallel pytest-xdist workers can
share it. Nothing is written into the repository.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

CACHE_ROOT = Path(tempfile.gettempdir()) / "nanoproc-json-from-wast"


def root_conftest() -> ModuleType:
    """``tests/conftest.py`` (spec_dir, spec_files, wasm_tools).

    ``from conftest import ...`` is ambiguous once another ``conftest`` module (say
    ``tests/api/conftest.py``) is imported first, so load the root one by path.
    """
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    mod = sys.modules.get("conftest")
    if mod is not None and Path(getattr(mod, "__file__", "") or "").resolve() == path:
        return mod
    name = "_nanoproc_tests_root_conftest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


ROOT = root_conftest()
spec_dir = ROOT.spec_dir
spec_files = ROOT.spec_files
wasm_tools = ROOT.wasm_tools


@dataclass(frozen=True)
class Case:
    """One command of a script that carries a binary module."""

    script: str
    type: str
    """``module``, ``assert_malformed``, ``assert_invalid``, ..."""
    line: int
    path: Path
    text: str | None
    """The expected message of assertions."""

    @property
    def where(self) -> str:
        return f"{self.script}:{self.line} ({self.path.name})"

    def data(self) -> bytes:
        return self.path.read_bytes()


VALID_TYPES = ("module", "module_definition", "assert_unlinkable", "assert_uninstantiable")
"""Commands whose binary module is well-formed (assert_invalid ones are well-formed too)."""


def _cache_key(files: list[Path], tool: str) -> str:
    h = hashlib.sha256()
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)
    h.update(version.stdout.encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _convert(tool: str, wast: Path, out: Path) -> str | None:
    """Run json-from-wast on one script; the error text, or None on success."""
    wasm_dir = out / wast.stem
    wasm_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [tool, "json-from-wast", str(wast), "-o", str(out / f"{wast.stem}.json"),
         "--wasm-dir", str(wasm_dir)],
        capture_output=True, text=True,
    )  # fmt: skip
    return None if proc.returncode == 0 else proc.stderr.strip()


@cache
def json_dir() -> Path:
    """The converted suite, generated once per suite and wasm-tools version."""
    files = spec_files()
    if not files:
        spec_dir()  # skips, or fails under NANOPROC_REQUIRE_SPEC=1
    tool = wasm_tools()
    final = CACHE_ROOT / _cache_key(files, tool)
    if (final / "DONE").exists():
        return final
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE_ROOT))
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        errors = list(pool.map(lambda f: (f.name, _convert(tool, f, tmp)), files))
    failed = [f"{name}: {err}" for name, err in errors if err]
    if failed:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail("json-from-wast failed:\n" + "\n".join(failed), pytrace=False)
    (tmp / "DONE").write_text("ok\n")
    try:
        os.rename(tmp, final)
    except OSError:  # another worker finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def script_cases(script: str) -> list[Case]:
    """The binary-module commands of one root script (e.g. ``"binary.wast"``)."""
    out = json_dir()
    stem = script.removesuffix(".wast")
    doc = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
    cases = []
    for cmd in doc["commands"]:
        if cmd.get("module_type") != "binary" or "filename" not in cmd:
            continue
        cases.append(
            Case(script, cmd["type"], cmd["line"], out / stem / cmd["filename"], cmd.get("text"))
        )
    return cases


@cache
def all_cases() -> list[Case]:
    return [c for f in spec_files() for c in script_cases(f.name)]


@pytest.fixture(scope="session")
def spec_json() -> Path:
    """Session fixture: the json-from-wast output directory (generated or cached)."""
    return json_dir()


def script_params() -> list[str]:
    """Parametrisation over root scripts; one placeholder when the suite is absent, so
    the test runs and skips (or fails under NANOPROC_REQUIRE_SPEC=1) with a message."""
    return [f.name for f in spec_files()] or ["<spec suite missing>"]
