"""The native ABI that generated code and the Python runtime agree on.

Generated code addresses every runtime structure by byte offsets from this module,
and the runtime builds the same structures with ctypes, so the two can never
disagree on a layout. Nothing here holds a process-specific address or type id:
compiled objects stay valid across processes (the compile cache, AOT artifacts).

Structures (all fields 8 bytes unless noted):

* ``StoreCtx``, one per store: trap state, the jump buffer of the innermost entry
  from Python, the stack limit, the Python objects native code hands exceptions
  and helper calls to, results and backtrace buffers.
* ``SigBlock``, one per process: the stores running on the main thread, which the
  SIGINT handler trips (see :mod:`.interrupts`).
* ``vmctx``, one per instance: a pointer to the StoreCtx, then arrays whose sizes
  the module fixes (see :class:`VMLayout`).
* ``FuncRecord``: what a funcref points to; calling it is ``code(ctx, args...)``.
* ``MemCell`` (base, byte size) per memory, ``TableCell`` (data, size) per table,
  an 8-byte cell per global.
"""

from __future__ import annotations

import ctypes
from functools import cache, cached_property
from typing import Any

from ..records import Frozen

_set = object.__setattr__

RESULTS_CAP = 1000
"""Most results a function may have (wasmtime's limit, enforced by validation): a
host function's results travel to native code in StoreCtx.results."""
BACKTRACE_CAP = 4096
KEEP_SITE = -3
"""np_trap's pc for an exception passed out of the entry: keep the backtrace its throw
recorded (irgen.module.trap_routine). Distinct from -1 (a host call's site) and
exec.trap.ENTRY_PC (-2)."""
"""Most return addresses a trap records."""


@cache
def array(ctype: Any, n: int) -> Any:
    """``ctype * n``, made once: ctypes keeps array types only weakly, so without this
    every store would build (and the GC later collect) its own array types."""
    return ctype * n


class StoreCtx(ctypes.Structure):
    """Per-store state shared with native code."""

    _fields_ = [
        ("trap_kind", ctypes.c_int32),
        ("trap_pc", ctypes.c_int32),
        ("host_error", ctypes.c_int32),  # set by a Python helper: the trap kind to raise
        ("spare", ctypes.c_int32),
        ("jmpbuf", ctypes.c_void_p),
        ("entry_fp", ctypes.c_void_p),
        # Bytes 0-5: the lowest address Wasm frames may use (written by native entry
        # code only). Byte 7: TRIP while the epoch is past the store's deadline or an
        # interrupt (SIGINT) is pending (written by Python and the signal handler
        # only), which makes every function's stack check and loop check fail.
        ("stack_limit", ctypes.c_uint64),
        ("depth", ctypes.c_int64),
        ("owner", ctypes.c_uint64),  # pthread_self() of the thread described by stack_low
        ("stack_low", ctypes.c_uint64),  # lowest usable stack address (its end + a margin)
        ("max_stack", ctypes.c_uint64),
        ("caller", ctypes.c_void_p),  # vmctx of the code calling an import or indirectly
        ("host_fp", ctypes.c_void_p),  # frame of the innermost host thunk (re-entry)
        ("fuel", ctypes.c_int64),  # fuel left while native code runs (see NativeStore)
        ("helper", ctypes.c_void_p),  # PyObject*: the Python helper (see hostcall)
        ("pending", ctypes.c_void_p),  # PyObject* (owned): exception caught by native code
        ("exit_trap", ctypes.c_void_p),  # PyObject*: type an entry raises after a trap
        ("exit_thread", ctypes.c_void_p),  # ... when this thread must claim the store
        ("exit_busy", ctypes.c_void_p),  # ... when another thread runs the store's code
        ("sig", ctypes.c_void_p),  # the process's SigBlock
        # Wasm exceptions (see irgen.ops_exc and exnheap): the innermost handler
        # record, the exception in flight, and the registry of exception objects
        # that exnref values may reach (freed by the collector).
        ("exn_top", ctypes.c_void_p),
        ("exn", ctypes.c_void_p),
        ("exn_reg", ctypes.c_void_p),
        ("exn_n", ctypes.c_int64),
        ("exn_cap", ctypes.c_int64),
        ("exn_roots", ctypes.c_void_p),  # {address, kind} pairs: exnref globals, tables
        ("exn_nroots", ctypes.c_int64),
        ("exn_pins", ctypes.c_void_p),  # objects Python handed to native code
        ("exn_npins", ctypes.c_int64),
        ("exn_stack_top", ctypes.c_uint64),  # the owner thread's highest stack address
        ("exn_collect", ctypes.c_void_p),  # the collector (exnheap), once it exists
        ("bt_len", ctypes.c_int64),
        ("results", ctypes.c_uint64 * RESULTS_CAP),
        ("bt", ctypes.c_uint64 * BACKTRACE_CAP),
        ("stack_top", ctypes.c_uint64),  # frame of the outermost entry (the GC scans below)
        ("gc_heap", ctypes.c_void_p),  # the store's GC heap (see gcheap)
    ]


SIG_SLOTS = 64
"""Stores running on the main thread that a SIGINT can trip (nesting deeper than
this is rare; deeper ones are interrupted when control returns to an outer one)."""


class SigBlock(ctypes.Structure):
    """What the SIGINT handler reads (see :mod:`.interrupts`)."""

    _fields_ = [
        ("main", ctypes.c_uint64),  # pthread_self() of the main thread
        ("count", ctypes.c_int64),  # stores registered in ``stores``
        ("prev", ctypes.c_void_p),  # the handler installed before ours (chained)
        ("stores", ctypes.c_void_p * SIG_SLOTS),  # StoreCtx of each running store
    ]


def _offsets(struct: type[ctypes.Structure]) -> dict[str, int]:
    return {name: getattr(struct, name).offset for name, *_ in struct._fields_}


SC = _offsets(StoreCtx)
"""Byte offset of each StoreCtx field."""
SIG = _offsets(SigBlock)

# FuncRecord: {code, ctx, type_id, spare}
REC_CODE = 0
REC_CTX = 8
REC_TYPE = 16
REC_SIZE = 32
# MemCell: {base, size in bytes}
MEM_BASE = 0
MEM_SIZE = 8
# TableCell: {data (array of 8-byte handles), size}
TAB_DATA = 0
TAB_SIZE = 8
# HostCtx (a host function's record ``ctx``): {Python callback, StoreCtx}
HOST_CALLBACK = 0
HOST_SC = 8

# Exception objects: {tag record, flags (i32), payload bytes (i32), payload...};
# each payload value takes 8 bytes (see irgen.ops_exc). An exnref is the address.
EXN_TAG = 0
EXN_FLAGS = 8
EXN_SIZE = 12
EXN_PAYLOAD = 16
def payload_layout(sizes: list[int]) -> tuple[list[int], int]:
    """Offsets of an exception's payload values of these sizes (8, or 16 for v128,
    aligned to 16) from the object's start, and the payload's size in bytes."""
    offsets = []
    off = EXN_PAYLOAD
    for size in sizes:
        off = (off + size - 1) // size * size
        offsets.append(off)
        off += size
    return offsets, off - EXN_PAYLOAD


EXN_EXPOSED = 1
"""The object may be reachable through exnref values: only the collector frees it."""
EXN_MARK = 2
"""Set by the collector on objects it found reachable (cleared by its sweep)."""
# Handler records (a frame's alloca per try region): the 5 words of
# llvm.eh.sjlj.setjmp's buffer, then the record that was innermost before.
XREC_WORDS = 6
XREC_PREV = 40
# Exception roots (StoreCtx.exn_roots entries: {address, kind})
ROOT_CELL = 0
"""One 8-byte cell (an exnref global)."""
ROOT_TABLE = 1
"""A TableCell: {data, size} (an exnref table)."""

# Trap kinds (StoreCtx.trap_kind): small ints compiled into code.
TRAP_STACK_OVERFLOW = 1
TRAP_MEMORY_OOB = 2
TRAP_TABLE_OOB = 3
TRAP_UNDEFINED_ELEMENT = 4
TRAP_INDIRECT_NULL = 5
TRAP_BAD_SIGNATURE = 6
TRAP_INT_OVERFLOW = 7
TRAP_DIV_ZERO = 8
TRAP_BAD_CONVERSION = 9
TRAP_UNREACHABLE = 10
TRAP_NULL_REFERENCE = 11
TRAP_NULL_FUNCTION = 12
TRAP_HOST = 13
"""A Python exception is pending (raised by a host function or a helper)."""
TRAP_OUT_OF_FUEL = 14
TRAP_INTERRUPT = 15
TRAP_EXCEPTION = 16
"""A Wasm exception no handler of this entry caught (StoreCtx.exn holds it)."""
TRAP_NULL_EXN = 17
"""throw_ref of a null exnref."""
TRAP_EXN_ALLOC = 18
"""No memory for an exception object."""
TRAP_ARRAY_OOB = 20
TRAP_CAST_FAILURE = 21
TRAP_ALLOCATION_TOO_LARGE = 22

# Helper operations (the ``op`` argument of the helper callback).
H_MEMORY_GROW = 1
H_TABLE_SET = 2
H_TABLE_GROW = 3
H_TABLE_FILL = 4
H_TABLE_COPY = 5
H_TABLE_INIT = 6
H_ELEM_DROP = 7
H_SUBTYPE = 8
H_GLOBAL_SET = 9
H_EPOCH = 10
"""The store's trip byte was set: 0 if the epoch has reached the store's deadline
(trap), else 1 (the deadline moved on, or an interrupt was handled by Python's own
signal handler without raising: the byte is cleared)."""
H_FUEL = 11
"""Fuel ran out: the fuel to add from the store's reserve (beyond what an i64
counter holds), 0 if there is none (trap)."""
HELPER_FAILED = -(1 << 62)
"""What the helper returns when the Python helper raised (StoreCtx.host_error is
then TRAP_HOST and the exception in StoreCtx.pending)."""
H_HOST_THROW = 12
"""A host function failed: if it raised a Wasm exception, make it the native one in
flight (StoreCtx.exn) and answer 1 (the thunk throws it into its caller), else 0."""
H_GC_HOLD = 20
"""Native code stores host object ``a`` into a GC object (see gcheap.NativeHeap.hold)."""
H_ARRAY_NEW_ELEM = 21
"""``(typeidx << 32 | segment, s, n)`` -> a new array of the segment's elements."""
H_ARRAY_INIT_ELEM = 22
"""``(array, segment, d << 32 | s, n)``: copy segment elements into an array."""
H_EXTERN_OBJECT = 23
"""``(h)`` -> the Python value of GC reference ``h`` in an externref: an object, not
an int (only ``np_xobj`` asks, for an entry's externref result)."""

TRIP = 0x40
"""Value of StoreCtx.stack_limit's byte 7 while the epoch is past the deadline or
an interrupt is pending: the
limit then reads above 2**62, higher than any stack address, and adding a frame's
size to it cannot overflow."""
TRIP_BYTE = 7
LIMIT_MASK = (1 << 48) - 1
"""The stack limit proper (user-space addresses are below 2**48)."""

class VMLayout(Frozen):
    """Byte offsets of one module's vmctx arrays (sizes from the module; each offset
    computed once, as every instantiation reads them)."""

    __match_args__ = ("memories", "tables", "globals", "funcs", "types", "datas", "tags")
    memories: int
    tables: int
    globals: int
    funcs: int
    types: int
    datas: int
    tags: int

    def __init__(self, memories: int, tables: int, globals: int, funcs: int, types: int,
                 datas: int, tags: int = 0) -> None:  # fmt: skip
        _set(self, "memories", memories)
        _set(self, "tables", tables)
        _set(self, "globals", globals)
        _set(self, "funcs", funcs)
        _set(self, "types", types)
        _set(self, "datas", datas)
        _set(self, "tags", tags)

    SC_PTR = 0

    @cached_property
    def mem_off(self) -> int:
        return 16

    @cached_property
    def table_off(self) -> int:
        return self.mem_off + 8 * self.memories

    @cached_property
    def global_off(self) -> int:
        return self.table_off + 8 * self.tables

    @cached_property
    def func_off(self) -> int:
        return self.global_off + 8 * self.globals

    @cached_property
    def type_off(self) -> int:
        return self.func_off + 8 * self.funcs

    @cached_property
    def data_off(self) -> int:
        """Per data segment: {pointer, length}."""
        return self.type_off + 8 * self.types

    @cached_property
    def tag_off(self) -> int:
        """Per tag: the address of its tag record (imports share the exporter's)."""
        return self.data_off + 16 * self.datas

    @cached_property
    def size(self) -> int:
        return self.tag_off + 8 * self.tags
