"""A Wasm module that wraps every WASI import in an export, for calling WASI
functions one by one from Python with any arguments (bad pointers included).

Works with any wasmtime-py-shaped API, so one test can compare nanoproc's answer
to wasmtime-py's for each call. Arguments are signed ints, as the API takes them.
"""

from __future__ import annotations

from typing import Any

from nanoproc.internal.host.wasi.signatures import SIGNATURES

MEMORY_PAGES = 2
"""The driver's memory: 128 KiB; addresses past ``MEMORY_PAGES * 65536`` fault."""

_TYPES = {"i": "i32", "I": "i64"}


def driver_wat() -> str:
    """The driver module's text: ``(import ... name)`` and ``(export name)`` per call."""
    imports, funcs = [], []
    for name, (params, results) in SIGNATURES.items():
        ps = " ".join(_TYPES[p] for p in params)
        rs = " ".join(_TYPES[r] for r in results)
        sig = (f"(param {ps})" if ps else "") + (f" (result {rs})" if rs else "")
        imports.append(f'(import "wasi_snapshot_preview1" "{name}" (func ${name} {sig}))')
        gets = " ".join(f"(local.get {i})" for i in range(len(params)))
        funcs.append(f'(func (export "{name}") {sig} (call ${name} {gets}))')
    body = "\n  ".join(imports + [f'(memory (export "memory") {MEMORY_PAGES})'] + funcs)
    return f"(module\n  {body})"


class Driver:
    """An instance of the driver in a store with WASI configured by ``config``."""

    def __init__(self, api: Any, config: Any, engine: Any = None) -> None:
        self.api = api
        self.engine = engine or api.Engine()
        self.store = api.Store(self.engine)
        self.store.set_wasi(config)
        linker = api.Linker(self.engine)
        linker.define_wasi()
        module = api.Module(self.engine, driver_wat())
        self.instance = linker.instantiate(self.store, module)
        self.memory = self.instance.exports(self.store)["memory"]

    def call(self, name: str, *args: int) -> Any:
        """The function's errno; the exception itself if it trapped or errored."""
        fn = self.instance.exports(self.store)[name]
        try:
            return fn(self.store, *args)
        except (self.api.Trap, self.api.WasmtimeError) as e:
            return e

    def write(self, addr: int, data: bytes) -> None:
        self.memory.write(self.store, data, addr)

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.memory.read(self.store, addr, addr + n))
