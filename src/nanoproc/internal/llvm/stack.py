"""The real stack of the calling thread, for the stack-overflow check.

Native code compares its frame address with a limit in every prologue, so deep
recursion traps ("call stack exhausted") instead of running off the end of the
thread's stack. The limit is the higher of (entry frame - max_wasm_stack) and
(the thread's lowest stack address + a margin); the margin is room for what runs
below a Wasm frame without a check: host functions (Python), the trap routine.
A study on this machine found 512 KiB of margin enough and 16 KiB not.
``max_wasm_stack`` counts as :data:`FRAME_SCALE` bytes each (frames as compiled
here are bigger than Cranelift's).

(A store remembers the pthread_self() of the thread it last ran on. glibc keeps a
thread's descriptor at the top of its stack block, so a later thread with the same
pthread_t runs on the same stack block and the remembered bounds stay right.)
"""

from __future__ import annotations

import ctypes
import threading

HOST_MARGIN = 512 * 1024
"""Stack left for host calls below the deepest Wasm frame."""

FRAME_SCALE = 2
"""Native stack Wasm may use per byte of ``max_wasm_stack``. A small function's frame
here is 32 bytes (return address, frame pointer, the 8 bytes tailcc's callee-popped
argument area reserves for every call, and 16-byte alignment) where Cranelift's is 16,
so recursion as deep as wasmtime's for the same ``max_wasm_stack`` (32,761 calls of
a one-argument function at the default 512 KiB) needs twice the bytes. The thread's
own stack still bounds it (:func:`usable_low`)."""

MAX_STACK = 1 << 62
"""``max_wasm_stack`` is clamped here before scaling (a 64-bit field)."""


def native_budget(max_wasm_stack: int) -> int:
    """Bytes of native stack below the outermost entry that Wasm frames may use."""
    return min(max_wasm_stack, MAX_STACK) * FRAME_SCALE

_libc = ctypes.CDLL(None)
_libc.pthread_self.restype = ctypes.c_ulong
_libc.pthread_getattr_np.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
_libc.pthread_attr_getstack.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                        ctypes.POINTER(ctypes.c_size_t)]  # fmt: skip
_libc.pthread_attr_destroy.argtypes = [ctypes.c_void_p]

_local = threading.local()
"""Per-thread cache of the bounds (thread-local: a new thread may reuse an old ident)."""


def thread_stack() -> tuple[int, int]:
    """(lowest address, size) of the calling thread's stack."""
    got: tuple[int, int] | None = getattr(_local, "bounds", None)
    if got is None:
        attr = ctypes.create_string_buffer(256)
        if _libc.pthread_getattr_np(_libc.pthread_self(), attr) != 0:
            raise OSError("pthread_getattr_np failed: cannot find this thread's stack")
        try:
            addr = ctypes.c_void_p()
            size = ctypes.c_size_t()
            if _libc.pthread_attr_getstack(attr, ctypes.byref(addr), ctypes.byref(size)) != 0:
                raise OSError("pthread_attr_getstack failed")
        finally:
            _libc.pthread_attr_destroy(attr)
        got = (addr.value or 0, size.value)
        _local.bounds = got
    return got


def usable_low() -> int:
    """The lowest address Wasm frames of this thread may use (the stack's end plus a
    margin for host calls; a quarter of the stack for small stacks)."""
    low, size = thread_stack()
    return low + min(HOST_MARGIN, size // 4)



def thread_bounds() -> tuple[int, int, int]:
    """(thread ident, :func:`usable_low`, top of the stack) of the calling thread,
    what a store claiming the thread records (cached per thread: a store is made
    per request)."""
    got: tuple[int, int, int] | None = getattr(_local, "claim", None)
    if got is None:
        low, size = thread_stack()
        got = _local.claim = (threading.get_ident(), usable_low(), low + size)
    return got
