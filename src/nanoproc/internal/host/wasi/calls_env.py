"""Arguments, environment, clocks, randomness and the process itself."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Literal

from ...exec.trap import ExitTrap, Trap
from . import abi
from .ctx import WasiCtx
from .errno import Errno, WasiError
from .guestmem import GuestMemory
from .registry import wasi_function

RANDOM_CHUNK = 1 << 16
"""random_get fills guest memory this many bytes at a time (bounded host memory)."""


def _strings_sizes(mem: GuestMemory, strings: list[bytes], count_ptr: int, size_ptr: int) -> None:
    mem.check(count_ptr, 4)
    mem.check(size_ptr, 4)
    mem.set_u32(count_ptr, len(strings))
    mem.set_u32(size_ptr, sum(len(s) + 1 for s in strings))


def _strings_get(mem: GuestMemory, strings: list[bytes], ptrs: int, buf: int) -> None:
    """Write NUL-terminated ``strings`` at ``buf`` and their addresses at ``ptrs``."""
    mem.check(ptrs, 4 * len(strings))
    mem.check(buf, sum(len(s) + 1 for s in strings))
    for i, s in enumerate(strings):
        mem.set_u32(ptrs + 4 * i, buf)
        mem.write(buf, s + b"\0")
        buf += len(s) + 1


@wasi_function
def args_sizes_get(ctx: WasiCtx, mem: GuestMemory, argc: int, buf_size: int) -> None:
    _strings_sizes(mem, ctx.args, argc, buf_size)


@wasi_function
def args_get(ctx: WasiCtx, mem: GuestMemory, argv: int, argv_buf: int) -> None:
    _strings_get(mem, ctx.args, argv, argv_buf)


@wasi_function
def environ_sizes_get(ctx: WasiCtx, mem: GuestMemory, count: int, buf_size: int) -> None:
    _strings_sizes(mem, ctx.env, count, buf_size)


@wasi_function
def environ_get(ctx: WasiCtx, mem: GuestMemory, environ: int, environ_buf: int) -> None:
    _strings_get(mem, ctx.env, environ, environ_buf)


# ------------------------------------------------------------ clocks
def _resolution(name: Literal["time", "monotonic", "process_time", "thread_time"]) -> int:
    """A host clock's resolution in ns (at least 1)."""
    return max(1, round(time.get_clock_info(name).resolution * 1e9))


_CLOCKS: dict[int, tuple[Callable[[], int], int]] = {
    abi.CLOCK_REALTIME: (time.time_ns, _resolution("time")),
    abi.CLOCK_MONOTONIC: (time.monotonic_ns, _resolution("monotonic")),
    abi.CLOCK_PROCESS_CPUTIME_ID: (time.process_time_ns, _resolution("process_time")),
    abi.CLOCK_THREAD_CPUTIME_ID: (time.thread_time_ns, _resolution("thread_time")),
}


def _clock(clock_id: int) -> tuple[Callable[[], int], int]:
    clock = _CLOCKS.get(clock_id)
    if clock is None:
        raise WasiError(Errno.INVAL)
    return clock


def now(clock_id: int) -> int:
    """The clock's time in nanoseconds (EINVAL for an unknown clock)."""
    return _clock(clock_id)[0]()


@wasi_function
def clock_res_get(ctx: WasiCtx, mem: GuestMemory, clock_id: int, resolution: int) -> None:
    mem.set_u64(resolution, _clock(clock_id)[1])


@wasi_function
def clock_time_get(ctx: WasiCtx, mem: GuestMemory, clock_id: int, precision: int, timestamp: int) -> None:
    mem.set_u64(timestamp, now(clock_id))


# ------------------------------------------------------------ randomness, scheduling
@wasi_function
def random_get(ctx: WasiCtx, mem: GuestMemory, buf: int, buf_len: int) -> None:
    target = mem.slice(buf, buf_len)
    for start in range(0, buf_len, RANDOM_CHUNK):
        chunk = os.urandom(min(RANDOM_CHUNK, buf_len - start))
        target[start : start + len(chunk)] = chunk


@wasi_function
def sched_yield(ctx: WasiCtx, mem: GuestMemory) -> None:
    os.sched_yield()


# ------------------------------------------------------------ the process
EXIT_LIMIT = 126
"""proc_exit codes at or above this are refused (a trap), as wasmtime does: the
shell reserves them for "cannot run" and for signals."""


@wasi_function
def proc_exit(ctx: WasiCtx, mem: GuestMemory, code: int) -> None:
    if code >= EXIT_LIMIT:
        raise Trap("exit with invalid exit status outside of [0..126)")
    raise ExitTrap(code)


@wasi_function
def proc_raise(ctx: WasiCtx, mem: GuestMemory, sig: int) -> None:
    """Signals do not exist for a nanoprocess: ENOTSUP, as wasmtime."""
    raise WasiError(Errno.NOTSUP)
