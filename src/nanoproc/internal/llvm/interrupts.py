"""Ctrl-C for native code: a SIGINT trips the interrupt byte of the stores running
on the main thread, so their code stops at the next function entry or loop header.

CPython handles a signal in two steps: its C handler only records it, and the
Python-level handler (``KeyboardInterrupt`` by default) runs when the main thread
next executes bytecode. Native code executes none, so a guest spinning in a loop
would never see Ctrl-C. We chain a small native handler in front of CPython's C
handler: it sets the trip byte (StoreCtx.stack_limit's byte 7, the byte epoch
interruption uses) of every store registered in the process's SigBlock, then calls
the handler it replaced. Tripped code calls the runtime helper, which is Python:
CPython runs the Python-level handler there, its KeyboardInterrupt unwinds the Wasm
frames as a trap carrying the exception, and the caller gets the KeyboardInterrupt
with the store intact (a handler that does not raise lets the code go on).

Every loop header and function entry tests the byte, with or without epoch
interruption (benchmarks/overhead.py measures what that costs). The outermost
entry of a store on the main thread registers its StoreCtx in the SigBlock and
unregisters it on the way out (see irgen.boundary); only the main thread matters,
since only it receives KeyboardInterrupt.

The handler is installed when a store is created on the main thread, if SIGINT has
a handler to chain to (CPython's); if the program later installs another Python
handler, CPython puts its C handler back in front and ours is chained again at the
next store creation. SIG_DFL and SIG_IGN are left alone.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from functools import cache
from typing import Any

from . import abi

SA_SIGINFO = 4


class _Sigaction(ctypes.Structure):
    """glibc's ``struct sigaction`` (the same on x86-64 and AArch64)."""

    _fields_ = [
        ("handler", ctypes.c_void_p),
        ("mask", ctypes.c_ulong * 16),
        ("flags", ctypes.c_int),
        ("restorer", ctypes.c_void_p),
    ]


def _handler_ir(triple: str, datalayout: str) -> str:
    sig = abi.SIG
    last = abi.SIG_SLOTS - 1
    trip = abi.SC["stack_limit"] + abi.TRIP_BYTE
    return f"""\
target datalayout = "{datalayout}"
target triple = "{triple}"

@np_sig_block = dso_local global ptr null, align 8

define dso_local void @np_on_signal(i32 %sig, ptr %info, ptr %uctx) nounwind {{
entry:
  %blk = load volatile ptr, ptr @np_sig_block, align 8
  %none = icmp eq ptr %blk, null
  br i1 %none, label %done, label %count
count:
  %cp = getelementptr inbounds i8, ptr %blk, i64 {sig["count"]}
  %n0 = load volatile i64, ptr %cp, align 8
  %neg = icmp slt i64 %n0, 0
  %big = icmp sgt i64 %n0, {last}
  %n1 = select i1 %big, i64 {last}, i64 %n0
  %n = select i1 %neg, i64 0, i64 %n1
  %sp0 = getelementptr inbounds i8, ptr %blk, i64 {sig["stores"]}
  br label %loop
loop:
  %i = phi i64 [ 0, %count ], [ %i1, %next ]
  %sp = getelementptr inbounds ptr, ptr %sp0, i64 %i
  %s = load volatile ptr, ptr %sp, align 8
  %isn = icmp eq ptr %s, null
  br i1 %isn, label %next, label %set
set:
  %tp = getelementptr inbounds i8, ptr %s, i64 {trip}
  store volatile i8 {abi.TRIP}, ptr %tp, align 1
  br label %next
next:
  %i1 = add i64 %i, 1
  %more = icmp sle i64 %i1, %n
  br i1 %more, label %loop, label %chain
chain:
  %pp = getelementptr inbounds i8, ptr %blk, i64 {sig["prev"]}
  %prev = load volatile ptr, ptr %pp, align 8
  %pi = ptrtoint ptr %prev to i64
  %real = icmp ugt i64 %pi, 1
  br i1 %real, label %callprev, label %done
callprev:
  call void %prev(i32 %sig, ptr %info, ptr %uctx)
  br label %done
done:
  ret void
}}
"""


class _Runtime:
    """The handler's code and the SigBlock (process-wide, never freed: a signal may
    arrive at any time)."""

    def __init__(self) -> None:
        from . import cache
        from .link import link

        objects = cache.load_quick("interrupts", "opt=2")
        if objects is None:
            from . import jit

            key = cache.cache_key("interrupts", "opt=2")
            objects = cache.load(key)
        if objects is None:
            target = jit.host_target()
            objects = [jit.compile_ir(_handler_ir(target.triple, target.datalayout), 2)]
            cache.store(key, objects)
        self.library = link(objects, ["np_on_signal", "np_sig_block"])
        self.handler = self.library.addresses["np_on_signal"]
        self.block = abi.SigBlock()
        self.block.main = threading.main_thread().ident or 0
        self.address = ctypes.addressof(self.block)
        ctypes.c_void_p.from_address(self.library.addresses["np_sig_block"]).value = self.address
        self.libc: Any = ctypes.CDLL(None, use_errno=True)
        self.libc.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]


@cache
def runtime() -> _Runtime:
    return _Runtime()


def sig_block_address() -> int:
    """The SigBlock every StoreCtx points to."""
    return runtime().address


_getsignal = getattr(signal, "_signal", signal).getsignal
_SIGINT = int(signal.SIGINT)
"""The raw handler: ``signal.getsignal`` maps it through the ``Handlers`` enum, whose
failed lookup for a handler function (the usual case) costs ~10 us per store."""

_checked: list[Any] = [None]
"""The Python-level SIGINT handler seen when ours was last put in front (Python
puts its C handler back whenever a program sets a Python handler)."""


def ensure_handler() -> None:
    """Chain our SIGINT handler in front of the current one, if it is a handler (not
    SIG_DFL or SIG_IGN) and not ours already. Only on the main thread, where Python
    itself changes handlers, so the two never race. Costs one system call only when
    the Python-level handler changed since the last look (a program that sets the
    same handler object again loses Ctrl-C for native code until it sets another)."""
    if threading.get_ident() != threading.main_thread().ident:
        return
    current_py = _getsignal(_SIGINT)
    if current_py is _checked[0] and current_py is not None:
        return
    _checked[0] = current_py
    rt = runtime()
    old = _Sigaction()
    if rt.libc.sigaction(signal.SIGINT, None, ctypes.byref(old)) != 0:
        return
    current = old.handler or 0
    if current == rt.handler or current in (0, 1):
        return
    rt.block.prev = current
    new = _Sigaction()
    new.mask = old.mask
    new.flags = old.flags | SA_SIGINFO
    new.handler = rt.handler
    rt.libc.sigaction(signal.SIGINT, ctypes.byref(new), None)
