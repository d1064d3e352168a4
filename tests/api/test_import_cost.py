"""What ``import nanoproc`` and a WASI start load: modules whose import every process
would pay for nothing stay out (each was measured at 1-20 ms CPU of a warm start).

* ``dataclasses`` (with ``inspect``, ``ast``, ``dis``, ``tokenize``): the record
  classes are written by hand (internal/records.py);
* ``socket`` (with ``selectors``): WASI loads it only when the host hands a socket
  over (``WasiConfig.preopen_socket``), and the host made that socket;
* ``hmac``: only signed artifacts use it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nanoproc

AVOIDED = ("dataclasses", "inspect", "socket", "selectors", "hmac")

WASI_HELLO = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def _loaded(code: str, env: dict[str, str] | None = None) -> tuple[list[str], str]:
    probe = code + (f"\nimport json, sys\nprint(json.dumps([m for m in {AVOIDED!r} "
                    "if m in sys.modules]))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    *before, last = proc.stdout.strip().splitlines()
    return json.loads(last), "\n".join(before)


def test_import_nanoproc_loads_none_of_them() -> None:
    assert _loaded("import nanoproc")[0] == []
    # nor OpenSSL's hashlib (~3 ms): an engine hashes a module's bytes when it first
    # asks a cache (the default engine does), not before
    loaded, out = _loaded("import sys, nanoproc\nprint('hashlib' in sys.modules)")
    assert (loaded, out) == ([], "False")


HELLO_RUN = """
import nanoproc
engine = nanoproc.Engine()
store = nanoproc.Store(engine)
config = nanoproc.WasiConfig()
config.inherit_stdout()
store.set_wasi(config)
linker = nanoproc.Linker(engine)
linker.define_wasi()
module = nanoproc.Module(engine, WASM)
linker.instantiate(store, module).exports(store)["_start"](store)
"""


def _hello(wasm: bytes) -> str:
    return HELLO_RUN.replace("WASM", repr(wasm))


def test_a_wasi_program_runs_without_socket_or_hmac() -> None:
    """A first run (interp tier: the translator still uses dataclasses)."""
    wasm = nanoproc.wat2wasm(WASI_HELLO)  # a binary, as programs ship (text loads more)
    loaded, out = _loaded(_hello(wasm))
    assert out == "hi"
    assert [m for m in loaded if m not in ("dataclasses", "inspect")] == []


def test_a_warm_start_loads_none_of_them(tmp_path: Path) -> None:
    """The default engine with the native code in the compile cache: the start that
    issue 10's warm-start target measures."""
    wasm = nanoproc.wat2wasm(WASI_HELLO)
    # (this small module would stay on the interp tier: internal/tiered/bounded.py)
    env = {**os.environ, "NANOPROC_CACHE_DIR": str(tmp_path), "NANOPROC_LLVM_OPT": "0",
           "NANOPROC_TIER_BOUNDED": "0"}
    fill = subprocess.run([sys.executable, "-c", _hello(wasm)], capture_output=True, text=True,
                          env={**env, "NANOPROC_STRATEGY": "llvm"})  # fmt: skip
    assert fill.returncode == 0, fill.stderr
    check = ("\nimport sys\nassert engine.tier == 'tiered'\n"
             "assert 'nanoproc.internal.llvm.code' in sys.modules  # native code ran\n"
             "assert 'nanoproc.internal.interp.translate' not in sys.modules\n")
    loaded, out = _loaded(_hello(wasm) + check, env)
    assert out == "hi"
    assert loaded == []


def test_a_preopened_socket_still_works_once_the_host_made_one() -> None:
    code = """
import socket
import nanoproc
a, b = socket.socketpair()
config = nanoproc.WasiConfig()
config.preopen_socket(a)
store = nanoproc.Store(nanoproc.Engine())
store.set_wasi(config)
"""
    loaded, _ = _loaded(code)
    assert "socket" in loaded
