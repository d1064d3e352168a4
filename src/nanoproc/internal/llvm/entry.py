"""Calls from Python into native code: the ``FuncInst.call`` of compiled functions.

Each is a small Python function generated once per signature and closed over one
function: it writes the arguments into the function's argument block (i32/i64 as
unsigned integers, f32/f64 as doubles, references as handles, a v128 as two 64-bit
halves), calls the module's
entry trampoline for that shape with the block's address, and returns what the
trampoline returned (a number, a funcref handle, an object, or a tuple of several
results; see irgen.boundary). A trap, or a store another thread owns, comes back
as a :class:`.nativestore.NativeExit` that ctypes raises; only then does the call
go into the NativeStore. Objects pinned while the call ran are dropped when the
outermost call returns (one truth test of a list).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from . import abi
from .nativestore import NativeExit, NativeStore
from .pysource import make_factory

_CTYPE: dict[str, Any] = {"i": ctypes.c_uint32, "I": ctypes.c_uint64, "f": ctypes.c_double,
          "F": ctypes.c_double, "r": ctypes.c_void_p, "x": ctypes.py_object,
          "e": ctypes.c_void_p, "a": ctypes.c_void_p,
          "V": ctypes.py_object}  # fmt: skip

_PROTOS: dict[tuple[str, str], Any] = {}
_FACTORIES: dict[tuple[str, str], Callable[..., Callable[..., Any]]] = {}
_ENTRIES: dict[tuple[tuple[str, str], int], Any] = {}
"""(shape, trampoline address) -> its ctypes function object: one serves every
function and instance of that shape (it holds only the address; made per first
call of each function it cost more than the rest of the entry)."""
MAX_ENTRIES = 4096
"""Entries kept at most (code loaded and dropped over a long run leaves stale ones)."""


def prototype(pshape: tuple[str, str]) -> Any:
    """The ctypes prototype of the entry trampoline of a signature: one pointer (the
    argument block), called with the GIL held (the trampoline releases it); ctypes
    raises the exception the trampoline sets when the call did not complete."""
    proto = _PROTOS.get(pshape)
    if proto is None:
        results = pshape[1]
        if len(results) == 1:
            restype = _CTYPE[results]
        else:
            restype = ctypes.py_object if results else None
        # No argument types: ctypes would convert the argument by calling
        # c_void_p.from_param, and a RecursionError there comes out as an
        # ArgumentError that names it; a c_void_p passed as is needs no call.
        proto = ctypes.PYFUNCTYPE(restype)
        _PROTOS[pshape] = proto
    return proto


def _factory(pshape: tuple[str, str]) -> Callable[..., Callable[..., Any]]:
    """Code of the calls of one signature."""
    params, results = pshape
    args = [f"a{i}" for i in range(len(params))]
    # The body is a loop: a call the NativeStore says to repeat (the store now
    # belongs to this thread) goes round again (a closure calling itself would be a
    # reference cycle, freed only by the GC).
    lines = []
    slot = 1
    for i, k in enumerate(params):
        slot += 1
        if k == "V":  # two slots: the low and the high 64 bits
            lines.append(f"ub[{slot}] = a{i} & 0xFFFFFFFFFFFFFFFF")
            lines.append(f"ub[{slot + 1}] = a{i} >> 64")
            slot += 1
        elif k in "iI":
            lines.append(f"ub[{slot}] = a{i}")
        elif k in "fF":
            lines.append(f"fb[{slot}] = a{i}")
        elif k == "r":
            lines.append(f"ub[{slot}] = func_handle(a{i})")
        elif k == "e":
            lines.append(f"ub[{slot}] = exn_handle(a{i})")
        elif k == "a":
            lines.append(f"ub[{slot}] = any_handle(a{i})")
        else:
            lines.append(f"ub[{slot}] = obj_handle(a{i})")
    if len(results) == 1 and results in _MAPPED:
        value = f"{_MAPPED[results]}(r)"
    elif len(results) > 1 and any(k in _MAPPED for k in results):
        value = "(" + "".join(_item(k, i) for i, k in enumerate(results)) + ")"
    elif results:
        value = "r"
    else:
        value = "None"
    lines += [
        "try:",
        "    r = entry(argv)",
        "except NativeExit as s:",
        "    e = s",
        "else:",
        "    if pins:",
        "        unpin()",
        f"    return {value}",
        # Raised outside the handler, so the NativeExit is not chained as context.
        "e = on_exit(e)",
        "if e is not None:",
        "    raise e",
    ]
    lines = [f"def call({', '.join(args)}):", "    while True:"] + ["        " + x for x in lines]
    return make_factory("entry, ub, fb, argv, ns, NativeExit", _ENTRY_NS, lines, "call",
                        f"<nanoproc llvm entry {pshape}>")


_MAPPED = {"r": "func_of", "e": "exn_of", "a": "any_of"}
"""Result letters native code returns as a handle (an int or None) that Python maps."""


def _item(k: str, i: int) -> str:
    """Result ``i`` of a tuple of several, as Python sees it (references from handles)."""
    return f"{_MAPPED[k]}(r[{i}]), " if k in _MAPPED else f"r[{i}], "


_ENTRY_NS = {"pins": "pins", "unpin": "unpin", "on_exit": "on_exit",
             "func_handle": "func_handle", "obj_handle": "obj_handle", "func_of": "func_of",
             "exn_of": "exn_of", "exn_handle": "exn_handle",
             "any_handle": "any_handle", "any_of": "any_of"}
"""Closure names of an entry factory -> the NativeStore attributes they are."""


def make_call(pshape: tuple[str, str], entry_address: int, vmctx: int, fn: int,
              ns: NativeStore) -> Callable[..., Any]:
    """The ``FuncInst.call`` of the compiled function at ``fn`` of the instance ``vmctx``
    (see :func:`make_call_with`)."""
    return make_call_with(entry_plan(pshape, entry_address), vmctx, fn, ns)


def entry_plan(pshape: tuple[str, str], entry_address: int) -> tuple[Any, ...]:
    """What every call of shape ``pshape`` through the trampoline at ``entry_address``
    is made from: (its factory, the trampoline's ctypes function, the argument
    block's type, whether it has float arguments)."""
    factory = _FACTORIES.get(pshape)
    if factory is None:
        factory = _FACTORIES[pshape] = _factory(pshape)
    key = (pshape, entry_address)
    entry = _ENTRIES.get(key)
    if entry is None:
        if len(_ENTRIES) >= MAX_ENTRIES:
            _ENTRIES.clear()
        entry = _ENTRIES[key] = prototype(pshape)(entry_address)
    params = pshape[0]
    n = 2 + len(params) + params.count("V")
    return (factory, entry, abi.array(ctypes.c_uint64, n), "f" in params or "F" in params)


def make_call_with(plan: tuple[Any, ...], vmctx: int, fn: int,
                   ns: NativeStore) -> Callable[..., Any]:
    """The ``FuncInst.call`` of the compiled function at ``fn`` of the instance
    ``vmctx``, from its :func:`entry_plan`.

    Its argument block (vmctx, fn, then the arguments) belongs to the function: the
    trampoline reads the arguments before anything else can run, so nested and
    recursive calls may reuse it. The call passes it by reference (``byref``), which
    also keeps it alive with the function."""
    factory, entry, block_type, floats = plan
    block = block_type(vmctx, fn)
    # memoryviews: item assignment is cheaper than on ctypes arrays
    ub = memoryview(block).cast("B").cast("Q")
    fb = memoryview(block).cast("B").cast("d") if floats else None
    return factory(entry, ub, fb, _byref(block), ns, NativeExit)  # type: ignore[no-any-return]


_byref = ctypes.byref
