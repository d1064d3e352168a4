"""The llvm tier's per-store state: the native StoreCtx, reference handles, pins, and
what happens after native code returns to Python.

One :class:`NativeStore` lives in ``StoreState.tier_state``. It owns the StoreCtx
every instance of the store points to, a FuncRecord for every function that native
code may call through a reference (created on demand for host functions, kept for
the store's life so a funcref never dangles), and the cells of memories and globals.

Exceptions never cross native frames: a host function's exception (or a helper's)
is kept in :attr:`pending`, native code traps with TRAP_HOST and unwinds to the
innermost entry from Python, and :meth:`after_call` raises it there.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import TYPE_CHECKING, Any

from ..errors import WasmtimeError
from ..exec.entities import FuncInst
from ..exec.store import StoreState
from ..exec.trap import HostError, Trap
from . import abi
from .stack import usable_low
from .traps import backtrace, trap_of_kind

if TYPE_CHECKING:
    from .instance import InstanceState

_py_object = ctypes.py_object

FUEL_CAP = (1 << 63) - 1
"""Fuel native code can count (more is cut to it while code runs)."""


class NativeStore:
    """Native state of one store (see the module docstring)."""

    def __init__(self, st: StoreState, backend: Any) -> None:
        from .hostcall import HELPER_ADDRESS

        self.st = st
        self.sc = abi.StoreCtx()
        self.sc_addr = ctypes.addressof(self.sc)
        self.sc.max_stack = backend.max_wasm_stack
        self.sc.helper = HELPER_ADDRESS
        self.fuel = backend.options.fuel
        self.epochs = backend.options.epochs
        self.backend = backend
        self.fuel_view = memoryview(self.sc).cast("B")[abi.SC["fuel"] : abi.SC["fuel"] + 8].cast("q")
        t = abi.SC["stack_limit"] + abi.TRIP_BYTE
        self.trip_view = memoryview(self.sc).cast("B")[t : t + 1]
        """The stack limit's top byte: TRIP while the epoch is at or past the deadline
        (see irgen.metering; one-byte writes, so no native write can undo one)."""
        if self.epochs:
            backend.epoch_stores[id(self)] = weakref.ref(self)
        self.flags = abi.array(ctypes.c_int32, 1).from_address(self.sc_addr)
        """The exit_flags word, for the one-index check after every call."""
        self.flags_view = memoryview(self.flags).cast("B").cast("i")
        """The same word as a memoryview (cheaper to index)."""
        res = self.sc_addr + abi.SC["results"]
        self.ures = abi.array(ctypes.c_uint64, abi.RESULTS_CAP).from_address(res)
        self.fres = abi.array(ctypes.c_double, abi.RESULTS_CAP).from_address(res)
        self.records: dict[FuncInst, int] = {}
        """Every function with a FuncRecord -> its address (held for the store's life)."""
        self.func_at: dict[int, FuncInst] = {}
        self.keep: list[Any] = []
        """ctypes buffers native code points into (records, host contexts, callbacks)."""
        self.pins: list[Any] = []
        self.pending: BaseException | None = None
        self.mem_cells: dict[int, Any] = {}
        self.instances: dict[int, InstanceState] = {}

    def release(self) -> None:
        """The store died (``StoreState.release``): drop the maps from native handles
        to functions and instances, which point back here through their calls, so
        reference counting frees the store. No code can run in it any more."""
        self.backend.epoch_stores.pop(id(self), None)
        self.records.clear()
        self.func_at.clear()
        self.instances.clear()
        self.mem_cells.clear()
        self.pins.clear()
        self.keep.clear()  # host callbacks hold this store: another cycle

    @staticmethod
    def of(st: StoreState, backend: Any) -> NativeStore:
        ns = st.tier_state
        if ns is None:
            ns = st.tier_state = NativeStore(st, backend)
        return ns  # type: ignore[no-any-return]

    # ------------------------------------------------------------ fuel and epochs
    def metering_in(self) -> None:
        """Before native code runs: the store's fuel, and whether its deadline is due."""
        st = self.st
        if self.fuel:
            fuel = st.fuel or 0
            self.fuel_view[0] = min(fuel, FUEL_CAP)
        if self.epochs:
            self.sync_trip()

    def sync_trip(self) -> None:
        """Set or clear the trip byte native code tests (the engine's epoch moved, or
        the store's deadline did)."""
        st = self.st
        self.trip_view[0] = abi.TRIP if st.engine.epoch >= st.epoch_deadline else 0

    deadline_changed = sync_trip
    """Called by ``StoreState.set_epoch_deadline`` (a host function may move it while
    native code is on the stack)."""

    def metering_out(self) -> None:
        """After native code ran (or before a host function runs): what it left."""
        if self.fuel:
            self.st.fuel = self.fuel_view[0]

    # ------------------------------------------------------------ references
    def add_record(self, fi: FuncInst, address: int) -> None:
        self.records[fi] = address
        self.func_at[address] = fi

    def func_handle(self, fi: FuncInst | None) -> int:
        """The native funcref of ``fi`` (its FuncRecord's address; 0 for null)."""
        if fi is None:
            return 0
        h = self.records.get(fi)
        if h is None:
            if not isinstance(fi, FuncInst):
                raise WasmtimeError(f"not a function reference: {fi!r}")
            if not fi.host and getattr(self.backend, "foreign", None) is None:
                raise WasmtimeError("function of another store or tier used as a funcref")
            from .hostcall import host_record

            h = host_record(self, fi)
        return h

    def func_of(self, h: int | None) -> FuncInst | None:
        return self.func_at[h] if h else None

    @staticmethod
    def obj_handle(obj: Any) -> int:
        return 0 if obj is None else id(obj)

    @staticmethod
    def obj_of(h: int | None) -> Any:
        return ctypes.cast(h, _py_object).value if h else None

    def pin(self, obj: Any) -> None:
        """Keep ``obj`` alive until the outermost call returns, if native frames might
        hold its address."""
        if obj is not None and self.sc.depth:
            self.pins.append(obj)
            self.flags[0] |= abi.EXIT_PINNED

    def pinned_handle(self, obj: Any) -> int:
        """The handle of an object entering native code from a host function."""
        if obj is None:
            return 0
        self.pin(obj)
        return id(obj)

    # ------------------------------------------------------------ failures
    def fail(self, e: BaseException) -> None:
        """Keep a Python exception for the innermost entry to raise (native code is
        about to trap with TRAP_HOST). Host exceptions are wrapped as the interp tier
        does, so both tiers report them identically."""
        if isinstance(e, (Trap, RecursionError, HostError)) or not isinstance(e, Exception):
            self.pending = e
        else:
            wrapped = HostError(e)
            wrapped.__cause__ = e
            self.pending = wrapped

    # ------------------------------------------------------------ after a call
    def after_call(self) -> bool:
        """Handle a nonzero exit_flags after an entry returned: True if the call's
        result stands, False if the call must be retried; raises for a trap."""
        sc = self.sc
        f = self.flags[0]
        if f & abi.EXIT_THREAD:
            self.flags[0] = f & ~abi.EXIT_THREAD
            if sc.depth:
                raise WasmtimeError("a store's code was entered from a new thread "
                                    "while running")  # fmt: skip
            sc.owner = threading.get_ident()
            sc.stack_low = usable_low()
            return False
        if f & abi.EXIT_CONCURRENT:
            self.flags[0] = f & ~abi.EXIT_CONCURRENT
            raise WasmtimeError("store used by two threads at once: a store's code may "
                                "run on one thread at a time")  # fmt: skip
        if f & abi.EXIT_TRAP:
            self.flags[0] &= ~abi.EXIT_TRAP
            exc = self._trap_exception()
            sc.host_error = 0
            self.release_pins()
            raise exc
        self.release_pins()
        return True

    def release_pins(self) -> None:
        if self.sc.depth == 0:
            self.pins.clear()
            self.flags[0] &= ~abi.EXIT_PINNED

    def _trap_exception(self) -> BaseException:
        sc = self.sc
        kind = sc.trap_kind
        n = min(sc.bt_len, abi.BACKTRACE_CAP)
        frames = backtrace(kind, sc.trap_pc, sc.bt[:n])
        if kind != abi.TRAP_HOST:
            trap = trap_of_kind(kind)
            trap.frames = frames
            return trap
        exc = self.pending
        self.pending = None
        if exc is None:  # pragma: no cover - a helper trapped without saying why
            return Trap("host call failed without an exception")
        if isinstance(exc, Trap):
            exc.frames = list(exc.frames) + frames
        else:
            previous = getattr(exc, "wasm_frames", [])
            try:
                exc.wasm_frames = previous + frames  # type: ignore[attr-defined]
            except AttributeError:  # pragma: no cover - exceptions with __slots__
                pass
        return exc
