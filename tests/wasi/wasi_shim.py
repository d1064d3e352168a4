"""nanoproc's WASI host run on wasmtime-py's engine.

Defines every ``wasi_snapshot_preview1`` function in a wasmtime-py Linker as a
host function that calls nanoproc's implementation on the caller's memory. It
tests the host (errnos, sandboxing, files) with real compiled C programs at
native speed, independently of nanoproc's execution tiers; the same programs
also run on nanoproc end to end (see test_programs.py).
"""

from __future__ import annotations

import ctypes
from typing import Any

import wasmtime

from nanoproc.internal.host.wasi.ctx import WasiCtx
from nanoproc.internal.host.wasi.errno import WasiError, from_oserror
from nanoproc.internal.host.wasi.guestmem import GuestMemory
from nanoproc.internal.host.wasi.registry import FUNCTIONS
from nanoproc.internal.host.wasi.signatures import SIGNATURES

_TYPES = {"i": wasmtime.ValType.i32(), "I": wasmtime.ValType.i64()}
_MASKS = {"i": 0xFFFF_FFFF, "I": 0xFFFF_FFFF_FFFF_FFFF}


def _view(caller: Any) -> memoryview:
    mem = caller["memory"]
    size = mem.data_len(caller)
    if size == 0:
        return memoryview(bytearray())
    base = ctypes.addressof(mem.data_ptr(caller).contents)
    return memoryview((ctypes.c_ubyte * size).from_address(base)).cast("B")


def define_wasi(linker: wasmtime.Linker, ctx: WasiCtx) -> None:
    """Define the WASI functions in ``linker``, all working on ``ctx``."""
    for name, (params, results) in SIGNATURES.items():
        ty = wasmtime.FuncType([_TYPES[p] for p in params], [_TYPES[r] for r in results])
        masks = [_MASKS[p] for p in params]
        linker.define_func("wasi_snapshot_preview1", name, ty, _host(name, ctx, masks),
                           access_caller=True)  # fmt: skip


def _host(name: str, ctx: WasiCtx, masks: list[int]) -> Any:
    impl = FUNCTIONS[name]

    def fn(caller: Any, *args: int) -> int:
        unsigned = [a & m for a, m in zip(args, masks)]
        try:
            impl(ctx, GuestMemory(_view(caller)), *unsigned)
        except WasiError as e:
            return e.errno.value
        except OSError as e:
            return from_oserror(e).value
        return 0

    return fn
