"""Run-time state of component instances (CanonicalABI.md "Runtime State").

A :class:`ComponentInstance` holds the spec's per-instance state: the handle table
(resources), the ``may_enter``/``may_leave`` flags, backpressure and the current
thread's context slots. Handle-table operations and the helpers that generated
lifting/lowering code calls (allocation through ``realloc``, strings, resources)
live here; their trap messages are wasmtime's, which the test suite checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import WasmtimeError
from ..trap import Trap
from .values import ResourceAny, ResourceHost, RType

MAX_HANDLES = (1 << 28) - 1
MAX_STRING_BYTES = (1 << 28) - 1
MAX_LIST_BYTES = (1 << 28) - 1
UTF16_TAG = 1 << 31


class ComponentInstance:
    """One instantiated component (the runtime half; its index spaces are built by
    :mod:`.instantiate`). ``ancestry`` is the instance and its ancestors: the set a
    call from the host enters."""

    __slots__ = (
        "store", "parent", "handles", "free", "may_enter", "may_leave", "backpressure",
        "ctx", "_exports", "pending", "ancestry", "name", "__weakref__",
    )  # fmt: skip

    def __init__(self, store: Any, parent: ComponentInstance | None, name: str = "") -> None:
        self.store = store
        self.parent = parent
        self.handles: list[Any] = [None]
        self.free: list[int] = []
        self.may_enter = True
        self.may_leave = True
        self.backpressure = 0
        self.ctx = [0, 0]
        self._exports: dict[str, Any] = {}
        self.pending: Callable[[], None] | None = None
        """The definitions instantiation deferred to first use of the exports (see
        ``instantiate``): ``pending()`` runs them."""
        self.name = name
        chain: list[ComponentInstance] = [self]
        p = parent
        while p is not None:
            chain.append(p)
            p = p.parent
        self.ancestry: tuple[ComponentInstance, ...] = tuple(chain)
        store.components.append(self)

    @property
    def exports(self) -> dict[str, Any]:
        """Export name -> value; reading it first runs the deferred definitions."""
        pending = self.pending
        if pending is not None:
            pending()
        return self._exports

    @exports.setter
    def exports(self, value: dict[str, Any]) -> None:
        self._exports = value

    def release(self) -> None:
        """Drop this instance's links (exports, handles, its ancestry, which holds
        itself, deferred definitions) once its store died (``StoreState.release``),
        so that reference counting frees it: functions and resource types refer
        back to it."""
        self.pending = None
        self._exports = {}
        self.handles = [None]
        self.free = []
        self.ancestry = ()
        self.parent = None

    def entering(self, caller: ComponentInstance | None) -> tuple[ComponentInstance, ...]:
        """The instances a call from ``caller`` (None: the host) into this one enters."""
        if caller is None:
            return self.ancestry
        return tuple(i for i in self.ancestry if i not in caller.ancestry)

    def __repr__(self) -> str:
        return f"<ComponentInstance {self.name}>"


class Handle:
    """An entry of a handle table: a resource handle (CanonicalABI.md ResourceHandle)."""

    __slots__ = ("rt", "rep", "own", "scope", "lends")

    def __init__(self, rt: RType, rep: int, own: bool, scope: Any = None) -> None:
        self.rt = rt
        self.rep = rep
        self.own = own
        self.scope = scope
        self.lends = 0


class Task:
    """The callee side of a call whose parameters hold borrows: counts the borrow
    handles lent to it, which must all be dropped before it returns."""

    __slots__ = ("borrows",)

    def __init__(self) -> None:
        self.borrows = 0


def trap(message: str) -> Trap:
    return Trap(message)


# ---------------------------------------------------------------- handle table
def table_add(inst: ComponentInstance, h: Any) -> int:
    free = inst.free
    if free:
        i = free.pop()
        inst.handles[i] = h
        return i
    arr = inst.handles
    i = len(arr)
    if i > MAX_HANDLES:
        raise trap("handle table full")
    arr.append(h)
    return i


def table_get(inst: ComponentInstance, i: int) -> Any:
    arr = inst.handles
    if i >= len(arr):
        raise trap(f"unknown handle index {i}")
    h = arr[i]
    if h is None:
        raise trap(f"unknown handle index {i}")
    return h


def table_remove(inst: ComponentInstance, i: int) -> Any:
    h = table_get(inst, i)
    inst.handles[i] = None
    inst.free.append(i)
    return h


def _definer(rt: RType) -> str:
    return "guest-defined" if rt.host_id is None else "host-defined"


def resource_at(inst: ComponentInstance, rt: RType, i: int) -> Handle:
    """The resource handle at index ``i`` of type ``rt`` (traps otherwise)."""
    h = table_get(inst, i)
    if not isinstance(h, Handle):
        raise trap(f"handle index {i} does not name a resource")
    if h.rt.key is not rt.key:
        raise trap(f"handle index {i} used with the wrong type, expected {_definer(rt)} "
                   f"resource but found a different {_definer(h.rt)} resource")  # fmt: skip
    return h


def take_own(inst: ComponentInstance, rt: RType, i: int) -> int:
    """``lift_own``: remove an owned handle; its rep."""
    h = resource_at(inst, rt, i)
    if h.lends:
        raise trap("cannot remove owned resource while borrowed")
    if not h.own:
        raise trap(f"handle index {i} is a borrow, not an owned resource")
    inst.handles[i] = None
    inst.free.append(i)
    return h.rep


def lift_own(inst: ComponentInstance, rt: RType, i: int) -> ResourceAny:
    return ResourceAny._new(rt, take_own(inst, rt, i), True)


def lift_borrow(inst: ComponentInstance, rt: RType, i: int, lenders: list[Any]) -> ResourceAny:
    """``lift_borrow``: lend the handle for the call; a borrowed view of it."""
    h = resource_at(inst, rt, i)
    h.lends += 1
    lenders.append(h)
    view = ResourceAny._new(rt, h.rep, False)
    lenders.append(view)
    return view


def end_lends(lenders: list[Any]) -> None:
    """After a call: give the lent handles back and expire the borrowed views."""
    for x in lenders:
        if x.__class__ is Handle:
            x.lends -= 1
        else:
            x._live = False


def lower_own(inst: ComponentInstance, rt: RType, v: Any) -> int:
    """``lower_own`` of a host value: moves an owned handle into ``inst``'s table."""
    if v.__class__ is ResourceAny:
        if not v._owned:
            raise TypeError("expected an owned resource, found a borrow")
        if not v._live:
            raise ValueError("resource handle has already been dropped or moved")
        if v._rt.key is not rt.key:
            raise TypeError(f"resource type mismatch: expected {rt}, found {v._rt}")
        v._live = False
        rep = v._rep
    elif v.__class__ is ResourceHost:
        if rt.host_id is None or rt.host_id != v._ty:
            raise TypeError(f"resource type mismatch: expected {rt}, found host resource {v._ty}")
        if not v._owned:
            raise TypeError("expected an owned resource, found a borrow")
        rep = v._rep
    else:
        raise TypeError(f"expected ResourceAny or ResourceHost, found {type(v).__name__}")
    return table_add(inst, Handle(rt, rep, True))


def lower_borrow(inst: ComponentInstance, rt: RType, v: Any, task: Task) -> int:
    """``lower_borrow``: a borrow handle in ``inst`` for the call (or the rep itself
    when ``inst`` defines the resource)."""
    if v.__class__ is ResourceAny:
        if not v._live:
            raise ValueError("resource handle has already been dropped or moved")
        if v._rt.key is not rt.key:
            raise TypeError(f"resource type mismatch: expected {rt}, found {v._rt}")
        rep = v._rep
    elif v.__class__ is ResourceHost:
        if rt.host_id is None or rt.host_id != v._ty:
            raise TypeError(f"resource type mismatch: expected {rt}, found host resource {v._ty}")
        rep = v._rep
    else:
        raise TypeError(f"expected ResourceAny or ResourceHost, found {type(v).__name__}")
    if inst is rt.impl:
        return rep  # type: ignore[no-any-return]
    task.borrows += 1
    return table_add(inst, Handle(rt, rep, False, task))


# ---------------------------------------------------------------- allocation
_OOB = {"list": "list", "string": "string"}


def make_alloc(inst: ComponentInstance, realloc: Any, mem: Any,
               mode: str) -> Callable[[int, int, str], int]:  # fmt: skip
    """``alloc(align, nbytes, what)``: ``realloc(0, 0, align, nbytes)`` with
    ``may_leave`` cleared, its result checked (``what``: list/string/tuple, for
    the message). ``realloc`` is the core FuncInst."""

    def alloc(align: int, nbytes: int, what: str) -> int:
        if realloc is None:  # pragma: no cover - validation requires realloc
            raise trap("no realloc function to allocate with")
        inst.may_leave = False
        ptr = realloc.call(0, 0, align, nbytes)
        inst.may_leave = True
        return check_alloc(ptr, align, nbytes, what, mem, mode)

    return alloc


def make_realloc(inst: ComponentInstance, realloc: Any, mem: Any,
                 mode: str) -> Callable[[int, int, int, int, str], int]:  # fmt: skip
    def re(old: int, old_size: int, align: int, nbytes: int, what: str) -> int:
        if realloc is None:  # pragma: no cover
            raise trap("no realloc function to allocate with")
        inst.may_leave = False
        ptr = realloc.call(old, old_size, align, nbytes)
        inst.may_leave = True
        return check_alloc(ptr, align, nbytes, what, mem, mode)

    return re


def check_alloc(ptr: int, align: int, nbytes: int, what: str, mem: Any, mode: str) -> int:
    if mode == "host":
        if ptr & (align - 1):
            raise trap("realloc return: result not aligned")
        if ptr + nbytes > len(mem.view):
            raise trap("realloc return: beyond end of memory")
    else:
        if ptr & (align - 1):
            raise trap("unaligned pointer")
        if ptr + nbytes > len(mem.view):
            if what in _OOB:
                raise trap(f"{what} content out-of-bounds")
            raise trap("out of bounds memory access")
    return ptr


# ---------------------------------------------------------------- strings
def _utf8_error(e: UnicodeDecodeError) -> Trap:
    if e.reason == "unexpected end of data":
        return trap(f"incomplete utf-8 byte sequence from index {e.start}")
    return trap(f"invalid utf-8 sequence of {e.end - e.start} bytes from index {e.start}")


def make_string_load(mem: Any, encoding: str, mode: str) -> Callable[[int, int], str]:
    """``load(ptr, tagged_code_units)``: the string in ``mem`` (load_string_from_range)."""
    oob = "string pointer/length out of bounds of memory" if mode == "host" else \
        "string content out-of-bounds"  # fmt: skip
    unaligned = "string pointer not aligned to 2" if mode == "host" else "unaligned pointer"

    if encoding == "utf8":
        def load8(ptr: int, n: int) -> str:
            view = mem.view
            if n > MAX_STRING_BYTES or ptr + n > len(view):
                raise trap(oob)
            try:
                return str(view[ptr:ptr + n], "utf-8")
            except UnicodeDecodeError as e:
                raise _utf8_error(e) from None
        return load8

    def load16(ptr: int, n: int) -> str:
        if encoding == "latin1+utf16" and not n & UTF16_TAG:
            codec, nbytes = "latin-1", n
        else:
            codec, nbytes = "utf-16-le", 2 * (n & ~UTF16_TAG)
        if nbytes > MAX_STRING_BYTES:
            raise trap(oob)
        if ptr & 1:
            raise trap(unaligned)
        view = mem.view
        if ptr + nbytes > len(view):
            raise trap(oob)
        try:
            return str(view[ptr:ptr + nbytes], codec)
        except UnicodeDecodeError:
            raise trap("invalid utf-16 string") from None

    return load16


def _encoded(s: Any, codec: str) -> bytes:
    if s.__class__ is not str:
        if not isinstance(s, str):
            raise TypeError(f"expected str for a string, found {type(s).__name__}")
    try:
        return s.encode(codec)  # type: ignore[no-any-return]
    except UnicodeEncodeError:
        raise ValueError("string holds a lone surrogate, which is not a Unicode "
                         "scalar value") from None  # fmt: skip


def _src_units(s: str, src: str) -> tuple[str, int]:
    """(the simple source encoding, its code units), as load_string reported."""
    if src == "utf8":
        return "utf8", (len(s) if s.isascii() else len(_encoded(s, "utf-8")))
    if src == "utf16":
        return "utf16", len(_encoded(s, "utf-16-le")) // 2
    # latin1+utf16: a producer stores Latin-1 when every code point fits
    if all(ord(c) < 256 for c in s):
        return "latin1", len(s)
    return "utf16", len(_encoded(s, "utf-16-le")) // 2


def _store_utf8(s: Any, inst: ComponentInstance, realloc: Any, mem: Any, src: str,
                mode: str, alloc: Any) -> tuple[int, int]:  # fmt: skip
    """store_string_into_range to utf8 of a string that is not plain ASCII (or not a
    str at all, which raises)."""
    data = _encoded(s, "utf-8")
    kind, units = _src_units(s, src)
    if kind == "utf8":
        ptr = alloc(1, len(data), "string")
        mem.view[ptr:ptr + len(data)] = data
        return ptr, len(data)
    # store_string_to_utf8: optimistic one byte per code unit, then worst case
    realloc2 = make_realloc(inst, realloc, mem, mode)
    worst = units * (3 if kind == "utf16" else 2)
    ptr = alloc(1, units, "string")
    ptr = realloc2(ptr, units, 1, worst, "string")
    mem.view[ptr:ptr + len(data)] = data
    if worst > len(data):
        ptr = realloc2(ptr, worst, 1, len(data), "string")
    return ptr, len(data)


def make_string_store(inst: ComponentInstance, realloc: Any, mem: Any,
                      encoding: str, src: str, mode: str,
                      alloc: Any = None) -> Callable[[Any], tuple[int, int]]:  # fmt: skip
    """``store(s) -> (ptr, tagged_code_units)``: ``s`` written into ``mem`` in
    ``encoding``, allocating with ``realloc`` as store_string_into_range does for a
    source string in encoding ``src`` (utf8 for host strings). Only the closures
    ``encoding`` needs are made (a lifted function makes one per instance, on its
    first call): for utf8, the store and ``alloc`` (given, or made here); what
    a non-ASCII string needs besides is made when one comes."""
    if alloc is None:
        alloc = make_alloc(inst, realloc, mem, mode)

    if encoding == "utf8":
        def store_utf8(s: Any) -> tuple[int, int]:
            if s.__class__ is str and s.isascii():
                data = s.encode("ascii")
                ptr = alloc(1, len(data), "string")
                mem.view[ptr:ptr + len(data)] = data
                return ptr, len(data)
            return _store_utf8(s, inst, realloc, mem, src, mode, alloc)

        return store_utf8

    realloc2 = make_realloc(inst, realloc, mem, mode)
    encoded = _encoded

    def src_units(s: str) -> tuple[str, int]:
        return _src_units(s, src)

    def put(ptr: int, data: bytes) -> None:
        mem.view[ptr:ptr + len(data)] = data

    if encoding == "utf16":
        def store_utf16(s: Any) -> tuple[int, int]:
            data = encoded(s, "utf-16-le")
            kind, units = src_units(s)
            if kind == "utf8":
                worst = 2 * units
                ptr = alloc(2, worst, "string")
                put(ptr, data)
                if len(data) < worst:
                    ptr = realloc2(ptr, worst, 2, len(data), "string")
                return ptr, len(data) // 2
            ptr = alloc(2, len(data), "string")
            put(ptr, data)
            return ptr, len(data) // 2

        return store_utf16

    def store_compact(s: Any) -> tuple[int, int]:
        if s.__class__ is not str:
            encoded(s, "utf-8")
        kind, units = src_units(s)
        latin1 = all(ord(c) < 256 for c in s)
        if src == "latin1+utf16" and kind == "latin1":
            data = s.encode("latin-1")
            ptr = alloc(2, len(data), "string")
            put(ptr, data)
            return ptr, len(data)
        if src == "latin1+utf16":  # store_probably_utf16_to_latin1_or_utf16
            data = encoded(s, "utf-16-le")
            ptr = alloc(2, len(data), "string")
            put(ptr, data)
            if not latin1:
                return ptr, (len(data) // 2) | UTF16_TAG
            small = s.encode("latin-1")
            put(ptr, small)
            ptr = realloc2(ptr, len(data), 1, len(small), "string")
            return ptr, len(small)
        # store_string_to_latin1_or_utf16
        ptr = alloc(2, units, "string")
        if latin1:
            data = s.encode("latin-1")
            put(ptr, data)
            if len(data) < units:
                ptr = realloc2(ptr, units, 2, len(data), "string")
            return ptr, len(data)
        data = encoded(s, "utf-16-le")
        worst = 2 * units
        ptr = realloc2(ptr, units, 2, worst, "string")
        put(ptr, data)
        if worst > len(data):
            ptr = realloc2(ptr, worst, 2, len(data), "string")
        return ptr, (len(data) // 2) | UTF16_TAG

    return store_compact


# ---------------------------------------------------------------- host-held resources
def host_drop(r: ResourceAny, store: Any) -> None:
    """``ResourceAny.drop``: the host drops an owned handle it holds."""
    if not r._owned:
        raise WasmtimeError("cannot drop a borrowed resource")
    if not r._live:
        raise WasmtimeError("resource handle has already been dropped or moved")
    r._live = False
    run_dtor(r._rt, r._rep, None)


def run_dtor(rt: RType, rep: int, caller: ComponentInstance | None) -> None:
    """Call ``rt``'s destructor for ``rep`` from ``caller`` (None: the host), as
    ``canon resource.drop`` does: a sync call into the defining instance. A host
    type's destructor is a Python callable ``dtor(rep)`` (the API binds the store)."""
    dtor = rt.dtor
    if dtor is None:
        return
    impl = rt.impl
    if impl is None:
        dtor(rep)
        return
    enter = impl.entering(caller)
    for i in enter:
        if not i.may_enter:
            raise trap("cannot enter component instance")
    for i in enter:
        i.may_enter = False
    dtor(rep)
    for i in enter:
        i.may_enter = True
