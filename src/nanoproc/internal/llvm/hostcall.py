"""Calls from native code into Python: host functions and the runtime helper.

A host function reached from native code has a FuncRecord whose code is the host
thunk of its shape (generated code) and whose context holds a Python callback made
for it here. The thunk calls it through the C API (see irgen.boundary) as
``cb(caller_vmctx, *args)``; its body, generated once per signature, converts the
arguments (references from handles), calls ``FuncInst.call`` (with the caller's
instance first when the host asked for one) and writes the results to
StoreCtx.results. It catches nothing: whatever it raises, wherever, the thunk
fetches and native code traps with it (see NativeStore.trap_exception).

The helper is a single Python function for the rare operations native code leaves
to Python (memory.grow, table changes, subtype checks, reference-typed global.set,
the interrupt check): ``helper(vmctx, op, a, b, c, d)``, called by ``np_helper``. A
Wasm trap it detects is reported through StoreCtx.host_error (the trap kind); an
exception it raises becomes TRAP_HOST the same way as a host function's.
"""

from __future__ import annotations

import ctypes
import weakref
from collections import deque
from collections.abc import Callable
from functools import partial
from operator import attrgetter
from types import MethodType
from typing import Any

from ..exec.entities import FuncInst
from ..valid import is_subtype_canon
from . import abi
from .irgen.types import shape_of
from .nativestore import NativeStore
from .pysource import make_factory
from .refs import py_shape


def _forget(refs: dict[int, weakref.ReferenceType[Any]], vmctx: int,
            ref: weakref.ReferenceType[Any]) -> None:
    """A state died: drop its entry (unless another state holds the key by now)."""
    if refs.get(vmctx) is ref:
        del refs[vmctx]


class _StateMap:
    """vmctx address -> the instance's state, held weakly (what WeakValueDictionary
    does, without its Python-level KeyedRef and ``__setitem__`` per entry:
    instantiation is a hot path). An entry goes when its state dies."""

    __slots__ = ("refs",)

    def __init__(self) -> None:
        self.refs: dict[int, weakref.ReferenceType[Any]] = {}

    def __setitem__(self, vmctx: int, state: Any) -> None:
        refs = self.refs
        refs[vmctx] = weakref.ref(state, partial(_forget, refs, vmctx))

    def get(self, vmctx: int) -> Any:
        ref = self.refs.get(vmctx)
        return ref() if ref is not None else None

    def __len__(self) -> int:
        return len(self.refs)


INSTANCES = _StateMap()
"""vmctx address -> the instance's state (for the helper and for Callers). Weak: a
store the host's closures hold in a cycle must stay collectable (a strong global map
made such stores immortal; the host fuzzer's leak check caught it)."""

THUNKS: dict[tuple[str, str], tuple[int, Any]] = {}
"""Native shape -> (host thunk address, what keeps its code loaded)."""


# ---------------------------------------------------------------- host functions
_FACTORIES: dict[tuple[tuple[str, str], int], Callable[..., Callable[..., None]]] = {}

WITH_CALLER = 1
"""Callback kind: ``call(caller_instance, *args)`` (a host function asking for it)."""
SHARED = 2
"""Callback kind: ``call(fi, *args)``, one callable for many functions (a composing
backend's ``foreign``): the record's callback is ``fi`` itself, with ``cb`` in its
``native_cb`` slot (``FuncInst.__call__`` calls ``cb(fi, ...)``), so that a table of
47,000 entries makes no object per entry (each run's survivors are what triggers
full collections of the cyclic GC, 0.15-0.4 s each over a CPython-for-WASI process's
heap). A function whose slot holds another store's callback gets
``MethodType(cb, fi)``."""


def _factory(shape: tuple[str, str], kind: int) -> Callable[..., Callable[..., None]]:
    """Code of host callbacks of one signature: ``factory(ns, inst_of)`` gives a store's
    ``make(call)`` (kept in ``NativeStore.host_makers``), which gives a callback."""
    params, results = shape
    args = [f"a{i}" for i in range(len(params))]
    conv = []
    for i, k in enumerate(params):
        if k == "r":
            conv.append(f"func_of(a{i})")
        elif k == "a":
            conv.append(f"any_of(a{i})")
        elif k == "x":
            conv.append(f"obj_of(a{i})")
        elif k == "e":
            conv.append(f"exn_of(a{i})")
        else:
            conv.append(f"a{i}")
    first = {0: [], WITH_CALLER: ["inst_of(caller)"], SHARED: ["fi"]}[kind]
    call_args = first + conv
    lines = [
        f"def cb({'fi, ' if kind == SHARED else ''}caller{''.join(', ' + a for a in args)}):",
        f"    r = call({', '.join(call_args)})",
    ]
    names = ["r"] if len(results) == 1 else [f"r{i}" for i in range(len(results))]
    if len(results) > 1:
        lines.append(f"    {', '.join(names)} = r")
    i = 0  # the 8-byte slot (a v128 takes two: see irgen.boundary.slot_offsets)
    for k, n in zip(results, names):
        if k in "iI":
            lines.append(f"    ures[{i}] = {n}")
        elif k in "fF":
            lines.append(f"    fres[{i}] = {n}")
        elif k == "r":
            lines.append(f"    ures[{i}] = func_handle({n})")
        elif k == "e":
            lines.append(f"    ures[{i}] = exn_handle({n})")
        elif k == "a":
            lines.append(f"    ures[{i}] = pinned_any({n})")
        elif k == "V":
            lines.append(f"    ures[{i}] = {n} & 0xFFFFFFFFFFFFFFFF")
            lines.append(f"    ures[{i + 1}] = {n} >> 64")
            i += 1
        else:
            lines.append(f"    ures[{i}] = pinned_handle({n})")
        i += 1
    body = ["def make(call):", *("    " + line for line in lines), "    return cb"]
    return make_factory("ns, inst_of", _HOST_NS, body, "make",
                        f"<nanoproc llvm host call {shape}>")


_HOST_NS = {"ures": "ures", "fres": "fres", "func_of": "func_of", "obj_of": "obj_of",
            "func_handle": "func_handle", "pinned_handle": "pinned_handle",
            "exn_of": "exn_of", "exn_handle": "exn_handle",
            "any_of": "any_of", "pinned_any": "pinned_any"}
"""Closure names of a host-callback factory -> the NativeStore attributes they are."""


def _instance_of(vmctx: int | None) -> Any:
    st = INSTANCES.get(vmctx) if vmctx else None
    return st.inst if st is not None else None


_SHAPES: dict[int, tuple[Any, tuple[str, str], tuple[str, str]]] = {}
"""id of a function type -> (the type, native shape, Python shape): every store's
host records ask, and hashing a type is slow (the type is held: its id stays its)."""


def _shapes(t: Any) -> tuple[Any, tuple[str, str], tuple[str, str]]:
    got = _SHAPES.get(id(t))
    if got is None or got[0] is not t:
        got = _SHAPES[id(t)] = (t, shape_of(t), py_shape(t))
    return got


def _maker(ns: NativeStore, pshape: tuple[str, str], kind: int) -> Callable[..., Any]:
    key = (pshape, kind)
    make = ns.host_makers.get(key)
    if make is None:
        factory = _FACTORIES.get(key)
        if factory is None:
            factory = _FACTORIES[key] = _factory(pshape, kind)
        make = ns.host_makers[key] = factory(ns, _instance_of)
    return make  # type: ignore[no-any-return]


def host_records(ns: NativeStore, fis: list[FuncInst]) -> list[int]:
    """Create the FuncRecords of host functions ``fis`` (distinct, none with a
    record yet) in ``ns``, in one buffer (an instance's imports, or every entry of
    a table, come together); returns their addresses.

    A Wasm function of another tier (a composing backend's) is called through the
    callable that backend gives for its instance (``foreign(instance)``, called as
    ``caller(fi, *args)``), like a host function: its record calls ``fi`` itself,
    whose ``native_cb`` is the store's callback of that caller and signature (see
    SHARED). (A version with C-level maps over the entries instead of this loop was
    slower on Python 3.11: 46 ms vs 25 ms for 47,000 entries.)"""
    n = len(fis)
    step = abi.REC_SIZE // 8 + 2
    buf = abi.array(ctypes.c_uint64, max(1, step * n))()
    base = ctypes.addressof(buf)
    words = [0] * (step * n)
    """The buffer's contents, written in one go once known (strided writes to a
    ctypes array cost more than building the list)."""
    thunks: list[int] = []
    callbacks: list[Any] = []
    shared: dict[tuple[int, int], tuple[int, Any]] = {}
    """(id of the type, id of the instance) -> (thunk, store callback)."""
    callers: dict[int, Any] = {}
    owners: dict[int, Any] = {}
    foreign: Any = getattr(ns.backend, "foreign", None)
    quick = _one_instance(ns, fis, foreign) if foreign is not None and n >= QUICK_MIN else None
    for fi in fis if quick is None else ():
        t = fi.type
        if fi.host:
            got = _host_shapes(t)
            make = _maker(ns, got[2], WITH_CALLER if fi.needs_caller else 0)
            owner = got[4]
            owners[id(owner)] = owner
            thunks.append(got[3])
            callbacks.append(make(fi.call))
            continue
        inst = fi.instance
        key = (id(t), id(inst))
        pair = shared.get(key)
        if pair is None:
            got = _host_shapes(t)
            caller = callers.get(id(inst))
            if caller is None:
                caller = callers[id(inst)] = foreign(inst)
            cbs = ns.host_makers.get(caller)
            if cbs is None:
                cbs = ns.host_makers[caller] = {}
            cb = cbs.get(got[2])
            if cb is None:
                cb = cbs[got[2]] = _SharedCallback(ns, got[2], caller)
            owner = got[4]
            owners[id(owner)] = owner
            pair = shared[key] = (got[3], cb)
        thunks.append(pair[0])
        cb = pair[1]
        mine = fi.native_cb
        if mine is None:
            fi.native_cb = cb  # the record calls ``fi``: FuncInst.__call__
            callbacks.append(fi)
        elif mine is cb or mine is cb.real:
            callbacks.append(fi)
        else:  # another store's callback: this record's own binding
            callbacks.append(MethodType(cb, fi))
    if quick is not None:
        thunks, callbacks, owners = quick
    if n:
        size = 8 * step
        words[0::step] = thunks
        words[1::step] = range(base + abi.REC_SIZE, base + abi.REC_SIZE + size * n, size)
        words[2::step] = list(map(_CANON, fis))
        words[4::step] = map(id, callbacks)
        words[5::step] = [ns.sc_addr] * n
        buf[:] = words
    ns.keep += callbacks
    ns.keep += owners.values()
    ns.keep.append(buf)
    addresses = list(range(base, base + 8 * step * n, 8 * step))
    ns.add_records(fis, addresses)  # registered once nothing can fail
    return addresses


_HOST_SHAPES: dict[int, tuple[Any, tuple[str, str], tuple[str, str], int, Any]] = {}
"""id of a function type -> (the type, native shape, Python shape, host thunk, what
keeps the thunk's code loaded): one lookup per entry."""


def _host_shapes(t: Any) -> tuple[Any, tuple[str, str], tuple[str, str], int, Any]:
    got = _HOST_SHAPES.get(id(t))
    if got is None or got[0] is not t:
        shapes = _shapes(t)
        thunk, owner = thunk_for(shapes[1])
        got = _HOST_SHAPES[id(t)] = (*shapes, thunk, owner)
    return got


QUICK_MIN = 64
"""Entries from which :func:`host_records` tries :func:`_one_instance` first."""

_TYPE = attrgetter("type")
_HOST = attrgetter("host")
_INSTANCE = attrgetter("instance")
_NATIVE_CB = attrgetter("native_cb")
_CANON = attrgetter("canon")
_NATIVE_CB_SET = FuncInst.native_cb.__set__  # type: ignore[attr-defined]


def _one_instance(ns: NativeStore, fis: list[FuncInst],
                  foreign: Any) -> tuple[list[int], list[Any], dict[int, Any]] | None:
    """:func:`host_records`' per-entry work with C-level maps, for the usual big case
    (a table of one instance's functions of another tier, none bound to a callback
    yet: CPython-for-WASI's 47,000 entries, ~50 ms per instance as a Python loop):
    ``(thunks, callbacks, owners)``, or None (nothing changed) for any other mix."""
    n = len(fis)
    if any(map(_HOST, fis)):
        return None
    insts = list(map(_INSTANCE, fis))
    inst = insts[0]
    if insts.count(inst) != n or list(map(_NATIVE_CB, fis)).count(None) != n:
        return None  # (``count`` compares by identity first; instances have no __eq__)
    types = list(map(_TYPE, fis))
    tids = list(map(id, types))
    caller = foreign(inst)
    cbs = ns.host_makers.get(caller)
    if cbs is None:
        cbs = ns.host_makers[caller] = {}
    thunk_of: dict[int, int] = {}
    cb_of: dict[int, Any] = {}
    owners: dict[int, Any] = {}
    for tid, t in dict(zip(tids, types)).items():  # each distinct type, in order
        got = _host_shapes(t)
        cb = cbs.get(got[2])
        if cb is None:
            cb = cbs[got[2]] = _SharedCallback(ns, got[2], caller)
        owner = got[4]
        owners[id(owner)] = owner
        thunk_of[tid] = got[3]
        cb_of[tid] = cb
    callbacks = list(map(cb_of.__getitem__, tids))
    deque(map(_NATIVE_CB_SET, fis, callbacks), maxlen=0)  # each record calls ``fi``
    return list(map(thunk_of.__getitem__, tids)), list(fis), owners


class _SharedCallback:
    """A store's callback of one signature for the functions of another tier (kind
    SHARED), whose code is made at its first call: CPython-for-WASI's table holds
    functions of ~340 signatures, and generating and compiling each one's callback
    at the first instantiation was ~0.1 s of a warm process's first run, for
    signatures mostly never called from native code. The first call of each
    function puts the real callback in its ``native_cb``."""

    __slots__ = ("ns", "pshape", "caller", "real")

    def __init__(self, ns: NativeStore, pshape: tuple[str, str], caller: Any) -> None:
        self.ns = ns
        self.pshape = pshape
        self.caller = caller
        self.real: Callable[..., Any] | None = None

    def __call__(self, fi: FuncInst, *args: Any) -> Any:
        real = self.real
        if real is None:
            real = self.real = _maker(self.ns, self.pshape, SHARED)(self.caller)
        if fi.native_cb is self:
            fi.native_cb = real
        return real(fi, *args)


def thunk_for(shape: tuple[str, str]) -> tuple[int, Any]:
    """A host thunk for ``shape``: from loaded code, or compiled now for it alone."""
    got = THUNKS.get(shape)
    if got is None:
        from .compiler import glue_library

        lib = glue_library([shape])
        got = THUNKS[shape] = (lib.thunks[shape], lib)
    return got


def register_thunks(code: Any) -> None:
    """Make ``code``'s host thunks available to every store."""
    for shape, addr in code.thunks.items():
        THUNKS.setdefault(shape, (addr, code))


# ---------------------------------------------------------------- the helper
def _helper(vmctx: int, op: int, a: int, b: int, c: int, d: int) -> int:
    st = INSTANCES.get(vmctx)
    if st is None:  # pragma: no cover - native code of a dead instance
        sc = abi.StoreCtx.from_address(ctypes.c_uint64.from_address(vmctx).value)
        sc.host_error = abi.TRAP_UNREACHABLE
        return 0
    return st.helper(op, a, b, c, d)


HELPER = _helper
"""What every StoreCtx.helper points to (a module-level function: it lives as long
as the process, so the pointer never dangles)."""


def subtype(have: int, want: int) -> int:
    return 1 if is_subtype_canon(have, want) else 0
