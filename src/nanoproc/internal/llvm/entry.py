"""Calls from Python into native code: the ``FuncInst.call`` of compiled functions.

Each is a small Python function generated once per signature and closed over one
function: it writes the arguments into the function's argument block (i32/i64 as
unsigned integers, f32/f64 as doubles, references as handles), calls the module's
entry trampoline for that shape with the block's address, checks the store's
exit_flags word, and returns the result. Only when that word is nonzero does it call into the
NativeStore (trap, pinned objects, a new thread), so a call costs one ctypes call
and one index.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from . import abi
from .nativestore import NativeStore
from .pysource import make_factory

_CTYPE: dict[str, Any] = {"i": ctypes.c_uint32, "I": ctypes.c_uint64, "f": ctypes.c_double,
          "F": ctypes.c_double, "r": ctypes.c_void_p, "x": ctypes.c_void_p}  # fmt: skip

_PROTOS: dict[tuple[str, str], Any] = {}
_FACTORIES: dict[tuple[str, str, bool], Callable[..., Callable[..., Any]]] = {}


def prototype(pshape: tuple[str, str]) -> Any:
    """The ctypes prototype of the entry trampoline of a signature: one pointer (the
    argument block), called with the GIL held (the trampoline releases it)."""
    proto = _PROTOS.get(pshape)
    if proto is None:
        results = pshape[1]
        restype = _CTYPE[results] if len(results) == 1 else None
        proto = ctypes.PYFUNCTYPE(restype, ctypes.c_void_p)
        _PROTOS[pshape] = proto
    return proto


def _factory(pshape: tuple[str, str], metered: bool) -> Callable[..., Callable[..., Any]]:
    """Code of the calls of one signature; ``metered``: the store's fuel and epoch
    deadline move into the StoreCtx before the call and the fuel back after it."""
    params, results = pshape
    args = [f"a{i}" for i in range(len(params))]
    # The body is a loop: a call ``after()`` says to repeat goes round again (a
    # closure calling itself would be a reference cycle, freed only by the GC).
    lines = []
    if metered:
        lines.append("meter_in()")
    for i, k in enumerate(params):
        slot = i + 2
        if k in "iI":
            lines.append(f"ub[{slot}] = a{i}")
        elif k in "fF":
            lines.append(f"fb[{slot}] = a{i}")
        elif k == "r":
            lines.append(f"ub[{slot}] = func_handle(a{i})")
        else:
            lines.append(f"ub[{slot}] = obj_handle(a{i})")
    out = ["meter_out()"] if metered else []
    if len(results) == 1:
        lines.append("r = entry(argv)")
        lines.extend(out)
        lines.append("if flags[0] and not after():")
        lines.append("    continue")
        k = results
        if k == "r":
            lines.append("return func_of(r)")
        elif k == "x":
            lines.append("return obj_of(r)")
        else:
            lines.append("return r")
    else:
        lines.append("entry(argv)")
        lines.extend(out)
        lines.append("if flags[0] and not after():")
        lines.append("    continue")
        if results:
            vals = []
            for i, k in enumerate(results):
                if k == "i":
                    vals.append(f"ures[{i}] & 0xFFFFFFFF")
                elif k == "I":
                    vals.append(f"ures[{i}]")
                elif k in "fF":
                    vals.append(f"fres[{i}]")
                elif k == "r":
                    vals.append(f"func_of(ures[{i}])")
                else:
                    vals.append(f"obj_of(ures[{i}])")
            lines.append(f"return ({', '.join(vals)},)")
        else:
            lines.append("return None")
    lines = [f"def call({', '.join(args)}):", "    while True:"] + ["        " + x for x in lines]
    return make_factory("entry, ub, fb, argv, ns", _ENTRY_NS, lines, "call",
                        f"<nanoproc llvm entry {pshape}>")


_ENTRY_NS = {"flags": "flags_view", "after": "after_call", "ures": "ures", "fres": "fres",
             "func_handle": "func_handle", "obj_handle": "obj_handle", "func_of": "func_of",
             "obj_of": "obj_of", "meter_in": "metering_in", "meter_out": "metering_out"}
"""Closure names of an entry factory -> the NativeStore attributes they are."""


def make_call(pshape: tuple[str, str], entry_address: int, vmctx: int, fn: int,
              ns: NativeStore) -> Callable[..., Any]:
    """The ``FuncInst.call`` of the compiled function at ``fn`` of the instance ``vmctx``.

    Its argument block (vmctx, fn, then the arguments) belongs to the function: the
    trampoline reads the arguments before anything else can run, so nested and
    recursive calls may reuse it."""
    metered = ns.fuel or ns.epochs
    key = (*pshape, metered)
    factory = _FACTORIES.get(key)
    if factory is None:
        factory = _FACTORIES[key] = _factory(pshape, metered)
    entry = prototype(pshape)(entry_address)
    n = 2 + len(pshape[0])
    block = abi.array(ctypes.c_uint64, n)(vmctx, fn)
    # memoryviews: item assignment is cheaper than on ctypes arrays
    ub = memoryview(block).cast("B").cast("Q")
    fb = memoryview(block).cast("B").cast("d")
    call = factory(entry, ub, fb, ctypes.addressof(block), ns)
    call.argv = block  # type: ignore[attr-defined]  # keeps the block alive with the function
    return call
