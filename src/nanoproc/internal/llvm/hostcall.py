"""Calls from native code into Python: host functions and the runtime helper.

A host function reached from native code has a FuncRecord whose code is the host
thunk of its shape (generated code) and whose context holds a ctypes callback made
for it here. The callback's body is generated once per signature: it converts the
arguments (references from handles), calls ``FuncInst.call`` (with the caller's
instance first when the host asked for one), writes the results to
StoreCtx.results and returns 1. It catches *everything*: an exception is kept by
the NativeStore and the callback returns 0, so native code traps and unwinds to
the entry from Python, which raises it (a raising ctypes callback would only print
"Exception ignored" and return garbage).

The helper is a single callback for the rare operations native code leaves to
Python (memory.grow, table changes, subtype checks, reference-typed global.set):
``helper(vmctx, op, a, b, c, d)``. A Wasm trap it detects is reported through
StoreCtx.host_error (the trap kind), an exception as TRAP_HOST.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..exec.entities import FuncInst
from ..exec.values import MASK64
from ..valid import is_subtype_canon
from . import abi
from .irgen.types import shape_of
from .nativestore import NativeStore
from .pysource import make_factory
from .refs import py_shape

if TYPE_CHECKING:
    from .instance import InstanceState

_CTYPE: dict[str, Any] = {"i": ctypes.c_uint32, "I": ctypes.c_uint64, "f": ctypes.c_double,
          "F": ctypes.c_double, "r": ctypes.c_void_p, "x": ctypes.c_void_p}  # fmt: skip

INSTANCES: weakref.WeakValueDictionary[int, InstanceState] = weakref.WeakValueDictionary()
"""vmctx address -> the instance's state (for the helper and for Callers)."""

THUNKS: dict[tuple[str, str], tuple[int, Any]] = {}
"""Native shape -> (host thunk address, what keeps its code loaded)."""


# ---------------------------------------------------------------- host functions
_FACTORIES: dict[tuple[str, str, bool, bool], Callable[..., Callable[..., int]]] = {}


def _factory(shape: tuple[str, str], with_caller: bool,
             metered: bool) -> Callable[..., Callable[..., int]]:
    """Code of host callbacks of one signature; ``metered``: the host function sees the
    store's fuel as Wasm code left it, and Wasm code continues from what it leaves."""
    params, results = shape
    args = [f"a{i}" for i in range(len(params))]
    conv = []
    for i, k in enumerate(params):
        if k == "r":
            conv.append(f"func_of(a{i})")
        elif k == "x":
            conv.append(f"obj_of(a{i})")
        else:
            conv.append(f"a{i}")
    call_args = (["inst_of(caller)"] if with_caller else []) + conv
    lines = [
        f"def cb(caller{''.join(', ' + a for a in args)}):",
        "    try:",
    ]
    if metered:
        lines += [
            "        meter_out()",
            "        try:",
            f"            r = call({', '.join(call_args)})",
            "        finally:",
            "            meter_in()",
        ]
    else:
        lines.append(f"        r = call({', '.join(call_args)})")
    names = ["r"] if len(results) == 1 else [f"r{i}" for i in range(len(results))]
    if len(results) > 1:
        lines.append(f"        {', '.join(names)} = r")
    for i, (k, n) in enumerate(zip(results, names)):
        if k in "iI":
            lines.append(f"        ures[{i}] = {n}")
        elif k in "fF":
            lines.append(f"        fres[{i}] = {n}")
        elif k == "r":
            lines.append(f"        ures[{i}] = func_handle({n})")
        else:
            lines.append(f"        ures[{i}] = pinned_handle({n})")
    lines += [
        "        return 1",
        "    except BaseException as e:",
        "        fail(e)",
        "        return 0",
    ]
    return make_factory("call, ns, inst_of", _HOST_NS, lines, "cb",
                        f"<nanoproc llvm host call {shape}>")


_HOST_NS = {"ures": "ures", "fres": "fres", "fail": "fail", "func_of": "func_of",
            "obj_of": "obj_of", "func_handle": "func_handle", "pinned_handle": "pinned_handle",
            "meter_in": "metering_in", "meter_out": "metering_out"}
"""Closure names of a host-callback factory -> the NativeStore attributes they are."""


def _instance_of(vmctx: int | None) -> Any:
    st = INSTANCES.get(vmctx) if vmctx else None
    return st.inst if st is not None else None


def host_record(ns: NativeStore, fi: FuncInst) -> int:
    """Create the FuncRecord of host function ``fi`` in ``ns`` (or of a function
    that runs in another tier: ``backend.foreign``); returns its address."""
    shape = shape_of(fi.type)
    pshape = py_shape(fi.type)
    metered = ns.fuel or ns.epochs
    key = (*pshape, bool(fi.needs_caller), metered)
    factory = _FACTORIES.get(key)
    if factory is None:
        factory = _FACTORIES[key] = _factory(pshape, bool(fi.needs_caller), metered)
    proto = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p,
                             *[_CTYPE[k] for k in pshape[0]])  # fmt: skip
    # A Wasm function of another tier (a composing backend's) is called through
    # what that backend gives for it, like a host function.
    target = fi.call if fi.host else ns.backend.foreign(fi)
    callback = proto(factory(target, ns, _instance_of))
    thunk, owner = thunk_for(shape)
    hctx = abi.array(ctypes.c_uint64, 2)(ctypes.cast(callback, ctypes.c_void_p).value or 0, ns.sc_addr)
    rec = abi.array(ctypes.c_uint64, abi.REC_SIZE // 8)(thunk, ctypes.addressof(hctx), fi.canon, 0)
    ns.keep.extend((callback, hctx, rec, owner))
    address = ctypes.addressof(rec)
    ns.add_record(fi, address)
    return address


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
    try:
        st = INSTANCES[vmctx]
    except BaseException:  # pragma: no cover - native code of a dead instance
        sc = abi.StoreCtx.from_address(ctypes.c_uint64.from_address(vmctx).value)
        sc.host_error = abi.TRAP_UNREACHABLE
        return 0
    try:
        return st.helper(op, a & MASK64, b & MASK64, c & MASK64, d & MASK64)
    except BaseException as e:
        st.ns.fail(e)
        st.ns.sc.host_error = abi.TRAP_HOST
        return 0


_HELPER = abi.HELPER_PROTO(_helper)
HELPER_ADDRESS: int = ctypes.cast(_HELPER, ctypes.c_void_p).value or 0


def subtype(have: int, want: int) -> int:
    return 1 if is_subtype_canon(have, want) else 0
