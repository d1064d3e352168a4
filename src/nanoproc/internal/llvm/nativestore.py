"""The llvm tier's per-store state: the native StoreCtx, reference handles, pins, and
what happens when native code stops abnormally.

One :class:`NativeStore` lives in ``StoreState.tier_state``. It owns the StoreCtx
every instance of the store points to, a FuncRecord for every function that native
code may call through a reference (created on demand for host functions, kept for
the store's life so a funcref never dangles), and the cells of memories and globals.

Exceptions never cross native frames: one raised in Python called by native code
(a host function, the helper) is fetched by the generated code into
StoreCtx.pending, native code traps with TRAP_HOST and unwinds to the innermost
entry from Python, which raises :class:`ExitTrap`; the entry's Python side then
raises what :meth:`trap_exception` makes of it. Nothing is left behind in shared
state for a later call to misread: the trap's fields are only read after an
ExitTrap, and each thread learns of its own failures through its own exception.

Fuel lives in StoreCtx.fuel while the store has native state: the StoreState's
``fuel`` becomes a property over it (:class:`NativeFuelState`), so native code,
host functions and the API see one counter and nothing is copied around calls.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Sequence
from functools import cache, partial
from itertools import compress, repeat
from operator import is_, is_not
from typing import TYPE_CHECKING, Any

from ..errors import WasmtimeError
from ..exec.entities import FuncInst
from ..exec.exceptions import Thrown, ThrownException
from ..exec.gcref import I31
from ..exec.store import StoreState
from ..exec.trap import HostError, Trap, TrapCode
from . import abi
from .gcheap import HANDLES, NativeHeap
from .interrupts import ensure_handler, sig_block_address
from .stack import native_budget, thread_bounds
from .traps import backtrace, trap_of_kind

if TYPE_CHECKING:
    from .exnheap import ExnHeap
    from .instance import InstanceState

_py_object = ctypes.py_object
_decref = ctypes.PYFUNCTYPE(None)(ctypes.cast(ctypes.pythonapi.Py_DecRef, ctypes.c_void_p).value or 0)
"""``Py_DecRef``, called with a ``c_void_p``: no argument types, so ctypes converts
nothing by calling Python (where a RecursionError would become an ArgumentError)."""

GC_VALUES = (I31, *HANDLES)
"""Python values of GC references that may sit in an externref."""

FUEL_CAP = (1 << 63) - 1
"""Fuel native code can count; more is kept in the store's reserve (a run would
need centuries to use up the counter, so the reserve is never drawn on)."""


class NativeExit(BaseException):
    """Raised by an entry trampoline (never seen outside the tier): why native code
    did not run to completion."""


class ExitTrap(NativeExit):
    """The call trapped: StoreCtx holds the trap (and maybe a pending exception)."""


class ExitThread(NativeExit):
    """The store was last used by another thread: claim it for this one and retry."""


class ExitBusy(NativeExit):
    """Another thread is running the store's code."""


class NativeFuelState(StoreState):
    """A StoreState whose fuel is its NativeStore's StoreCtx.fuel (plus a reserve
    beyond what an i64 holds, so any u64 amount reads back exactly)."""

    _fuel_view: memoryview
    _fuel_reserve: int

    @property  # type: ignore[override]
    def fuel(self) -> int:
        return int(self._fuel_view[0]) + self._fuel_reserve

    @fuel.setter
    def fuel(self, value: int) -> None:
        if value > FUEL_CAP:
            self._fuel_view[0] = FUEL_CAP
            self._fuel_reserve = value - FUEL_CAP
        else:
            self._fuel_view[0] = value
            self._fuel_reserve = 0


@cache
def _constant_ids() -> tuple[int, int, int, int]:
    """What every StoreCtx points to: the helper and the exit exception types."""
    from .hostcall import HELPER

    return id(HELPER), id(ExitTrap), id(ExitThread), id(ExitBusy)


class _once:  # noqa: N801 - used as a decorator, like the functools one it replaces
    """``functools.cached_property`` without its lock (Python 3.11 takes one on every
    first read, which cost more than the value for a store's views): computed on
    first read and stored in the instance's ``__dict__``, which then shadows this
    descriptor. Two threads reading it first at once both compute it: equal views
    of the same native memory, either is right."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


@cache
def _host_records() -> Any:
    """``hostcall.host_records`` (which imports this module), imported once."""
    from .hostcall import host_records

    return host_records


_not_none = partial(is_not, None)

FEW = 16
"""Functions up to which :meth:`NativeStore.func_handles` loops in Python."""


class NativeStore:
    """Native state of one store (see the module docstring)."""

    def __init__(self, st: StoreState, backend: Any) -> None:
        self.st = st
        self.sc = sc = abi.StoreCtx()
        self.sc_addr = ctypes.addressof(sc)
        sc.max_stack = native_budget(backend.max_wasm_stack)
        sc.helper, sc.exit_trap, sc.exit_thread, sc.exit_busy = _constant_ids()
        ensure_handler()
        sc.sig = sig_block_address()
        self.fuel = backend.options.fuel
        self.epochs = backend.options.epochs
        self.backend = backend
        if self.fuel:
            value = st.__dict__.pop("fuel", None) or 0
            st.__class__ = NativeFuelState
            fst: Any = st
            fst._fuel_view = memoryview(self.sc).cast("B")[
                abi.SC["fuel"] : abi.SC["fuel"] + 8].cast("q")  # fmt: skip
            fst.fuel = value
        if self.epochs:
            backend.epoch_stores[id(self)] = weakref.ref(self)
            self.sync_trip()
        self.records: dict[FuncInst, int] = {}
        """Every function with a FuncRecord -> its address (held for the store's life)."""
        self.func_at: dict[int, FuncInst] = {}
        self.keep: list[Any] = []
        """ctypes buffers native code points into (records, host contexts, callbacks)."""
        self.frame_room = 0
        """The largest frame of the code instantiated in this store (see reserve_frame)."""
        self.pins: list[Any] = []
        """Objects whose last other owner let go while native frames may hold their
        address, kept until the outermost call returns."""
        self.host_makers: dict[Any, Any] = {}
        """Host callback makers of this store by signature (see hostcall._factory)."""
        self.mem_cells: dict[int, Any] = {}
        self.instances: dict[int, InstanceState] = {}
        self._heap: ExnHeap | None = None
        self.gc: NativeHeap | None = None
        """The GC heap, made when a module that uses GC is instantiated (gcheap)."""
        self.claim()

    # Made on first use (host functions, epochs): most stores never need them.
    @_once
    def trip_view(self) -> memoryview:
        """The stack limit's top byte: TRIP while the epoch is at or past the deadline
        or an interrupt is pending (see irgen.metering; one-byte writes, so no
        native write can undo one)."""
        t = abi.SC["stack_limit"] + abi.TRIP_BYTE
        return memoryview(self.sc).cast("B")[t : t + 1]

    @_once
    def ures(self) -> Any:
        """StoreCtx.results as u64s: where host functions put their results."""
        res = self.sc_addr + abi.SC["results"]
        return abi.array(ctypes.c_uint64, abi.RESULTS_CAP).from_address(res)

    @_once
    def fres(self) -> Any:
        """StoreCtx.results as doubles."""
        res = self.sc_addr + abi.SC["results"]
        return abi.array(ctypes.c_double, abi.RESULTS_CAP).from_address(res)

    @property
    def heap(self) -> ExnHeap:
        """The store's exception objects (made when first needed)."""
        heap = self._heap
        if heap is None:
            from .exnheap import ExnHeap

            heap = self._heap = ExnHeap(self)
        return heap

    def exn_of(self, h: int | None) -> Any:
        """The ExnInst of a native exnref (a copy)."""
        return self._heap.from_native(h) if h and self._heap is not None else None

    def exn_handle(self, exn: Any) -> int:
        """A native exnref for ``exn`` (a new object, pinned until native code runs or
        the outermost call returns: ``pins`` then is not empty, so entries unpin)."""
        if exn is None:
            return 0
        self.pins.append(exn)
        return self.heap.to_native(exn)

    def release(self) -> None:
        """The store died (``StoreState.release``): drop the maps from native handles
        to functions and instances, which point back here through their calls, so
        reference counting frees the store. No code can run in it any more."""
        self.backend.epoch_stores.pop(id(self), None)
        self.records.clear()
        self.func_at.clear()
        self.instances.clear()
        self.mem_cells.clear()
        self.host_makers.clear()  # they hold this store's bound methods
        self.pins.clear()
        if self._heap is not None:
            self._heap.release()
        self.keep.clear()  # host callbacks hold this store: another cycle
        p = self.sc.pending
        if p:
            self.sc.pending = None
            _decref(ctypes.c_void_p(p))
        if self.gc is not None:
            self.gc.release()

    @staticmethod
    def of(st: StoreState, backend: Any) -> NativeStore:
        ns = st.tier_state
        if ns is None:
            ns = st.tier_state = NativeStore(st, backend)
        return ns  # type: ignore[no-any-return]

    def reserve_frame(self, size: int) -> None:
        """Keep ``size`` more bytes above the thread's usable end: a function may spill
        into its frame before its stack check runs, so the check's limit must leave
        room for the largest frame below it (see LoadedCode.max_frame)."""
        if size > self.frame_room:
            if self.sc.stack_low:
                self.sc.stack_low += size - self.frame_room
            self.frame_room = size

    # ------------------------------------------------------------ epochs
    def sync_trip(self) -> None:
        """Set or clear the trip byte native code tests (the engine's epoch moved, or
        the store's deadline did; a store without epoch checks only ever has it set
        by a SIGINT, which the helper has handled by the time it calls this)."""
        st = self.st
        due = self.epochs and st.engine.epoch >= st.epoch_deadline
        self.trip_view[0] = abi.TRIP if due else 0

    deadline_changed = sync_trip
    """Called by ``StoreState.set_epoch_deadline`` (a host function may move it while
    native code is on the stack)."""

    # ------------------------------------------------------------ references
    def add_record(self, fi: FuncInst, address: int) -> None:
        self.records[fi] = address
        self.func_at[address] = fi

    def add_records(self, fis: Sequence[FuncInst], addresses: Sequence[int]) -> None:
        """:meth:`add_record` for each pair (two C-level updates: instantiation of a
        module's own functions is a hot path)."""
        self.records.update(zip(fis, addresses))
        self.func_at.update(zip(addresses, fis))

    def func_handle(self, fi: FuncInst | None) -> int:
        """The native funcref of ``fi`` (its FuncRecord's address; 0 for null)."""
        if fi is None:
            return 0
        h = self.records.get(fi)
        if h is None:
            self._check_foreign(fi)
            h = _host_records()(self, [fi])[0]
        return h

    def func_handles(self, fis: list[FuncInst]) -> list[int]:
        """The native funcrefs of functions ``fis`` (an instance's imports, a table's
        entries), the missing records made in one go."""
        get = self.records.get
        if len(fis) <= FEW:
            return self._few_handles(fis)
        out = list(map(get, fis))  # None for a null entry and for a missing record
        if None in out:  # (C-level maps: a table of CPython-for-WASI has 47,000)
            missing = list(dict.fromkeys(filter(_not_none, compress(fis, map(is_, out, repeat(None))))))
            if missing:
                if not all(map(is_, map(type, missing), repeat(FuncInst))) \
                        or (getattr(self.backend, "foreign", None) is None
                            and not all(fi.host for fi in missing)):
                    for fi in missing:
                        self._check_foreign(fi)  # raises for the first bad one
                _host_records()(self, missing)
            out = list(map(get, fis, repeat(0)))
        return out  # type: ignore[return-value]

    def _few_handles(self, fis: list[FuncInst]) -> list[int]:
        """:meth:`func_handles` of a few functions (an instance's imports, usually):
        plain loops, cheaper than the C-level maps' iterator objects for a few."""
        get = self.records.get
        out: list[Any] = []
        missing: dict[FuncInst, None] | None = None
        for fi in fis:
            if fi is None:
                out.append(0)
                continue
            h = get(fi)
            if h is None:
                if missing is None:
                    missing = {}
                missing[fi] = None
            out.append(h)
        if missing is None:
            return out
        todo = list(missing)
        foreign = getattr(self.backend, "foreign", None)
        for fi in todo:
            if fi.__class__ is not FuncInst or (foreign is None and not fi.host):
                self._check_foreign(fi)  # raises for a bad one
        _host_records()(self, todo)
        for i, fi in enumerate(fis):
            if out[i] is None:
                out[i] = get(fi)
        return out

    def _check_foreign(self, fi: Any) -> None:
        """``fi`` may get a record made here: a host function (or another tier's
        function, when the backend composes tiers)."""
        if not isinstance(fi, FuncInst):
            raise WasmtimeError(f"not a function reference: {fi!r}")
        if not fi.host and getattr(self.backend, "foreign", None) is None:
            raise WasmtimeError("function of another store or tier used as a funcref")

    def func_of(self, h: int | None) -> FuncInst | None:
        return self.func_at[h] if h else None

    def obj_handle(self, obj: Any) -> int:
        if obj is None:
            return 0
        if obj.__class__ in GC_VALUES:  # a GC reference inside an externref
            return self.gc_heap().ext_handle(obj)
        return id(obj)

    def obj_of(self, h: int | None) -> Any:
        if h and h & 3:  # a GC reference inside an externref
            return self.gc_heap().ext_of(h)
        return ctypes.cast(h, _py_object).value if h else None

    # GC references (the ``a`` letter: anyref, eqref, structs, ...; see gcheap)
    def gc_heap(self) -> NativeHeap:
        h = self.gc
        if h is None:
            if self.st.heap is not None:
                from ..errors import UnsupportedFeature

                raise UnsupportedFeature("gc", "in the llvm tier, for a store whose GC "
                                         "objects live in the interp tier")
            h = self.gc = self.st.heap = NativeHeap(self)
        return h

    def any_of(self, h: int | None) -> Any:
        if not h:
            return None
        if h & 1:
            return h >> 1
        return self.gc_heap().any_of(h)

    def any_handle(self, v: Any) -> int:
        if v is None:
            return 0
        if v.__class__ is int:
            return (v << 1) | 1
        return self.gc_heap().any_handle(v)

    def pinned_any(self, v: Any) -> int:
        """The native anyref of a host function's result (a host object is pinned)."""
        if v is None or v.__class__ is int:
            return self.any_handle(v)
        return self.gc_heap().any_handle(v, pin=True)

    def pin(self, obj: Any) -> None:
        """Keep ``obj`` alive until the outermost call returns, if native frames might
        hold its address."""
        if obj is not None and self.sc.depth:
            self.pins.append(obj)

    def pinned_handle(self, obj: Any) -> int:
        """The handle of an object entering native code from a host function."""
        if obj is None:
            return 0
        if obj.__class__ in GC_VALUES:  # a GC reference inside an externref
            return self.gc_heap().ext_handle(obj)
        self.pin(obj)
        return id(obj)

    def unpin(self) -> None:
        """After a call returned: drop the pins once no native frame is left."""
        if self.sc.depth == 0:
            self.pins.clear()
            if self._heap is not None:
                self._heap.unpin()

    # ------------------------------------------------------------ Wasm exceptions
    def _uncaught(self, frames: list[Any]) -> BaseException:
        """A Wasm exception no handler of the entry caught: Thrown, as interp code
        raises it (interp frames of a tiered engine may catch it), with the Wasm
        frames it crossed; the API makes it a ThrownException (convert_exception)."""
        exn = self.heap.take_uncaught(self.sc.exn)
        if exn is None:  # pragma: no cover - every throw sets StoreCtx.exn first
            return Trap("a Wasm exception was thrown without an exception object")
        out = Thrown(exn)
        out.wasm_frames = frames  # type: ignore[attr-defined]
        return out

    def host_throw(self) -> int:
        """A host function failed (H_HOST_THROW): if it raised a Wasm exception (the
        exception in StoreCtx.pending), make a native copy the exception in flight
        and answer 1 (the thunk throws it into its caller), else 0 (TRAP_HOST)."""
        p = self.sc.pending
        if not p:
            return 0
        exc: Any = _py_object.from_address(self.sc_addr + abi.SC["pending"]).value
        if isinstance(exc, ThrownException):
            exn = exc._exn
        elif isinstance(exc, Thrown):
            exn = exc.exn
        else:
            return 0
        self.sc.exn = self.heap.to_native(exn)
        self._take_pending()
        return 1

    def claim(self) -> None:
        """Make the calling thread the store's (its stack bounds for native code's
        checks). Done when the store is made, so that the first call need not exit
        to claim it (the usual case: a store is used on the thread that made it);
        a call from another thread claims it again (ExitThread)."""
        sc = self.sc
        owner, low, top = thread_bounds()
        sc.owner = owner
        sc.stack_low = low + self.frame_room
        sc.exn_stack_top = top

    # ------------------------------------------------------------ abnormal exits
    def on_exit(self, e: BaseException) -> BaseException | None:
        """What the entry's Python side raises for ``e`` (a NativeExit), or None to
        retry the call (the store now belongs to this thread)."""
        sc = self.sc
        if isinstance(e, ExitThread):
            if sc.depth:  # pragma: no cover - the entry reports ExitBusy then
                return WasmtimeError("a store's code was entered from a new thread "
                                     "while running")  # fmt: skip
            self.claim()
            return None
        if isinstance(e, ExitBusy):
            return WasmtimeError("store used by two threads at once: a store's code may "
                                 "run on one thread at a time")  # fmt: skip
        exc = self.trap_exception()
        self.unpin()
        if sc.depth == 0:
            # A SIGINT whose KeyboardInterrupt a host function raised (not the helper)
            # left the trip byte set: leave the store at rest (found by hostfuzz).
            # Python runs any handler still pending at its next bytecode anyway.
            self.sync_trip()
        return exc

    def _take_pending(self) -> BaseException | None:
        """The exception native code caught (taking over its reference), if any."""
        sc = self.sc
        p = sc.pending
        if not p:
            return None
        exc: Any = _py_object.from_address(self.sc_addr + abi.SC["pending"]).value
        sc.pending = None
        _decref(ctypes.c_void_p(p))
        return exc

    def trap_exception(self) -> BaseException:
        """The exception for the trap StoreCtx describes (an ExitTrap was raised)."""
        sc = self.sc
        kind = sc.trap_kind
        pending = self._take_pending()
        sc.host_error = 0
        n = min(sc.bt_len, abi.BACKTRACE_CAP)
        frames = backtrace(kind, sc.trap_pc, sc.bt[:n])
        if kind == abi.TRAP_EXCEPTION:
            return self._uncaught(frames)
        if kind == abi.TRAP_EXN_ALLOC:
            trap = Trap("out of memory: no room for a Wasm exception")  # malloc failed, or
            # more live exceptions than exnheap.MAX_REGISTRY
            trap.frames = frames
            return trap
        if kind != abi.TRAP_HOST:
            trap = trap_of_kind(kind)
            trap.frames = frames
            return trap
        if pending is None:  # pragma: no cover - Python failed without an exception
            trap = Trap("host call failed without an exception")
            trap.frames = frames
            return trap
        return host_exception(pending, frames)


def host_exception(exc: BaseException, frames: list[Any]) -> BaseException:
    """What a Python exception raised under native code becomes, as in the interp
    tier: a Trap (raised by a host to trap, or from a nested call) gets the frames;
    a host function's exception is wrapped in HostError (the API unwraps it); a
    bare RecursionError is Python's stack running out in nanoproc's own code between
    Wasm and the host (a host function's own RecursionError arrives wrapped), so it
    is the "call stack exhausted" trap, with the RecursionError as its cause;
    KeyboardInterrupt and other BaseExceptions stay themselves.
    """
    if isinstance(exc, Trap):
        exc.frames = list(exc.frames) + frames
        return exc
    if isinstance(exc, RecursionError):
        trap = Trap.of(TrapCode.STACK_OVERFLOW)
        trap.frames = frames
        trap.__cause__ = exc
        return trap
    if isinstance(exc, Exception) and not isinstance(exc, HostError | Thrown):
        wrapped = HostError(exc)
        wrapped.__cause__ = exc
        exc = wrapped
    previous = getattr(exc, "wasm_frames", [])
    try:
        exc.wasm_frames = previous + frames  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - exceptions with __slots__
        pass
    return exc
