"""WASI through the API: define_wasi, Store.set_wasi, exit codes, custom output."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture

PRINT = """
(module
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func $print
        (i32.store (i32.const 300) (i32.const 100))
        (i32.store (i32.const 304) (i32.const 14))
        (if (call $write (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 400)) (then unreachable))
        (i32.store (i32.const 300) (i32.const 200))
        (i32.store (i32.const 304) (i32.const 14))
        (if (call $write (i32.const 2) (i32.const 300) (i32.const 1) (i32.const 400)) (then unreachable)))
    (start $print)
    (data (i32.const 100) "Hello, stdout!")
    (data (i32.const 200) "Hello, stderr!"))
"""


def test_preview1_imports_resolve(api):
    linker = api.Linker(api.Engine())
    linker.define_wasi()
    module = api.Module(linker.engine, """
        (module (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32))))
    """)
    store = api.Store(linker.engine)
    store.set_wasi(api.WasiConfig())
    linker.instantiate(store, module)


def test_custom_output(api):
    linker = api.Linker(api.Engine())
    linker.define_wasi()
    out, err = [], []
    wasi = api.WasiConfig()
    wasi.stdout_custom = out.append
    wasi.stderr_custom = err.append
    store = api.Store(linker.engine)
    store.set_wasi(wasi)
    linker.instantiate(store, api.Module(linker.engine, PRINT))
    assert b"".join(out) == b"Hello, stdout!"
    assert b"".join(err) == b"Hello, stderr!"


def test_stdout_file(api, tmp_path):
    linker = api.Linker(api.Engine())
    linker.define_wasi()
    wasi = api.WasiConfig()
    wasi.stdout_file = str(tmp_path / "out.txt")
    store = api.Store(linker.engine)
    store.set_wasi(wasi)
    linker.instantiate(store, api.Module(linker.engine, PRINT))
    assert (tmp_path / "out.txt").read_bytes() == b"Hello, stdout!"


def test_exit(api):
    linker = api.Linker(api.Engine())
    linker.define_wasi()
    module = api.Module(linker.engine, """
        (module
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "exit") (param i32) (call $exit (local.get 0))))
    """)
    store = api.Store(linker.engine)
    store.set_wasi(api.WasiConfig())
    exit_func = linker.instantiate(store, module).exports(store)["exit"]
    for code in (0, 1, 42):
        with pytest.raises(api.ExitTrap) as info:
            exit_func(store, code)
        assert info.value.code == code
        assert f"Exited with i32 exit status {code}" in str(info.value)
    assert issubclass(api.ExitTrap, api.WasmtimeError)


def test_args_and_environment(api):
    linker = api.Linker(api.Engine())
    linker.define_wasi()
    module = api.Module(linker.engine, """
        (module
            (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "counts") (result i32 i32)
                (drop (call $args (i32.const 0) (i32.const 4)))
                (drop (call $env (i32.const 8) (i32.const 12)))
                (i32.load (i32.const 0)) (i32.load (i32.const 8))))
    """)
    wasi = api.WasiConfig()
    wasi.argv = ["prog", "a", "b"]
    wasi.env = [("K", "V")]
    store = api.Store(linker.engine)
    store.set_wasi(wasi)
    assert linker.instantiate(store, module).exports(store)["counts"](store) == [3, 1]
