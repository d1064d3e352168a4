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
import subprocess
import sys

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


def _loaded(code: str) -> tuple[list[str], str]:
    probe = code + (f"\nimport json, sys\nprint(json.dumps([m for m in {AVOIDED!r} "
                    "if m in sys.modules]))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)  # fmt: skip
    *before, last = proc.stdout.strip().splitlines()
    return json.loads(last), "\n".join(before)


def test_import_nanoproc_loads_none_of_them() -> None:
    assert _loaded("import nanoproc")[0] == []


def test_a_wasi_program_runs_without_them() -> None:
    wasm = nanoproc.wat2wasm(WASI_HELLO)  # a binary, as programs ship (text loads more)
    code = f"""
import nanoproc
engine = nanoproc.Engine()
store = nanoproc.Store(engine)
config = nanoproc.WasiConfig()
config.inherit_stdout()
store.set_wasi(config)
linker = nanoproc.Linker(engine)
linker.define_wasi()
module = nanoproc.Module(engine, {wasm!r})
linker.instantiate(store, module).exports(store)["_start"](store)
"""
    loaded, out = _loaded(code)
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
