"""The llvm tier's GC heap: structs and arrays in native memory, a collector, and
the handles Python holds on them.

Generated code allocates and accesses GC objects natively (see
``irgen/ops_gc.py``); this module owns each store's heap (``gcruntime/heap.c``,
compiled once per process), the per-type descriptors native code tests casts
with, and everything Python sees:

**Native references.** A reference is a tagged word. Null is 0; an i31 is
``(value << 1) | 1``; a GC object is its address (8-aligned, inside the heap's
range); a host (Python) object is its address. Bit 1 marks a value that crossed
hierarchies: in an ``anyref`` it flags a host object (``any.convert_extern``), in an
``externref`` a GC object (``extern.convert_any``), so both conversions only flip
that bit (nothing is allocated) and the collector tells GC objects from host
objects by address range.

**Object layout.** A header word (the address of the type's :class:`Rtt`), then
the fields at natural alignment (struct), or the length (u32) at offset 8 and the
elements from offset 16 (array). Small objects live in pages of one size class
(free lists per class, popped inline by generated code); big arrays take whole
pages.

**What keeps objects alive.** (1) Python: every GC object Python holds is a
:class:`NativeStruct`/:class:`NativeArray` handle, one per object at a time, and the
addresses of live handles are the collector's roots; tables, globals, element
segments and pins hold handles like any Python value. (2) Native frames: the
collector scans the stack between itself and the outermost Wasm entry
conservatively (any word pointing into an object keeps it; collection runs only
inside an allocation slow path or from Python, on the thread running the store).
(3) Objects reachable from those. Host objects stored in GC objects are kept in
:attr:`NativeHeap.held` (native code asks for that when it stores one, see
``H_GC_HOLD``) until a collection finds no live object referring to them; while
Wasm code runs they are then pinned until the outermost call returns, since a
native frame may still hold them.

Collections run with the GIL held: native code's slow path calls back into
Python, which snapshots the roots and calls the collector.

**Exnref fields.** Once a module whose structs or arrays hold exnrefs is
instantiated in a store, the store's collections cover both kinds of object
(:meth:`NativeHeap.attach_exceptions`): the GC's marking follows exnref fields into
exception objects and their payloads back into the GC heap, and frees the registered
exception objects nothing reached; the exception registry's own collector
(exnheap) then runs this one instead, since it cannot see inside GC objects.
Without such a module, the payloads of every registered exception object are
conservative roots of the GC (``_exception_words``), and the exception collector
runs alone.
"""

from __future__ import annotations

import ctypes
import hashlib
import struct
import threading
import weakref
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from ..errors import WasmtimeError
from ..exec.gcref import I31, ArrayRef, HostAny, StructRef
from ..exec.gctypes import MAX_ARRAY_LENGTH, array_field, struct_fields
from ..exec.trap import Trap, TrapCode
from ..exec.values import f32_to_bits, f64_to_bits
from ..records import Frozen
from ..syntax.types import (
    EXN_HIERARCHY,
    F32,
    F64,
    FUNC_HIERARCHY,
    I32,
    V128,
    FieldType,
    PackedType,
    RefType,
    StorageType,
)
from ..valid import canon
from . import abi

if TYPE_CHECKING:
    from .nativestore import NativeStore

# ---------------------------------------------------------------- layout (shared with heap.c)
PAGE = 1 << 16
SMALL_MAX = 4096
ABI_VERSION = 4
CLASS_SIZES: tuple[int, ...] = (
    tuple(range(16, 257, 8)) + tuple(range(288, 513, 32)) + tuple(range(576, 1025, 64))
    + tuple(range(1152, 2049, 128)) + tuple(range(2304, 4097, 256))
)  # fmt: skip
"""Cell sizes of the size classes (bytes)."""
HEAP_FREE = 0
"""Offset of the free-list heads (8 bytes per class) in the native heap."""
HEAP_CLASS_OF = 512
"""Offset of the table: class of an object of ``size`` bytes at ``(size + 7) >> 3``."""
HEAP_ALLOC_SLOW = 1032
"""Offset of ``np_gc_alloc_slow(heap, class) -> cell`` (0 when the heap is full)."""
HEAP_ALLOC = 1040
"""Offset of ``np_gc_alloc(heap, bytes) -> cell`` (any size; 0 when full)."""

HEADER = 8
ARRAY_LEN = 8
ARRAY_DATA = 16

RESERVE = 1 << 34
"""Address space each heap reserves (virtual only; pages are committed when used)."""
LIMIT = 1 << 32
"""Most bytes a heap may have in use: more traps (allocation too large)."""
MIN_THRESHOLD = 4 << 20
"""A collection runs once this many bytes of pages were taken since the last one
(or as many as were live after it, if more)."""

KIND_STRUCT = 1
KIND_ARRAY = 2
EXN_FIELD = 0x80000000
"""Flag of a struct's traced offset: the field holds an exnref."""
ELEMS_EXN = 2
"""``Rtt.nrefs`` of an array whose elements are exnrefs."""
assert (abi.EXN_FLAGS, abi.EXN_SIZE, abi.EXN_PAYLOAD, abi.EXN_MARK) == (8, 12, 16, 2), \
    "heap.c's EXN_* constants"


def class_of(size: int) -> int:
    """The size class of an object of ``size`` bytes (<= SMALL_MAX)."""
    for i, c in enumerate(CLASS_SIZES):
        if c >= size:
            return i
    raise ValueError(f"{size} bytes is not a small object")


def storage_bytes(t: StorageType) -> int:
    if isinstance(t, PackedType):
        return t.bits // 8
    if t is I32 or t is F32:
        return 4
    if t is V128:
        return 16
    return 8


def struct_layout(fields: Sequence[FieldType]) -> tuple[list[int], int]:
    """Byte offsets of the fields and the object's size (header included, a multiple
    of 8, at least 16). A subtype's fields extend its supertype's, so the common
    prefix has the same offsets."""
    off = HEADER
    offsets = []
    for f in fields:
        n = storage_bytes(f.storage)
        align = min(n, 8)
        off = (off + align - 1) & -align
        offsets.append(off)
        off += n
    size = max(16, (off + 7) & -8)
    return offsets, size


def is_exn(t: StorageType) -> bool:
    """Whether a field of this type holds exnrefs."""
    return isinstance(t, RefType) and isinstance(t.heap, str) and t.heap in EXN_HIERARCHY


def is_traced(t: StorageType) -> bool:
    """Whether the collector follows a field of this type (any reference but a funcref:
    function records live as long as their store)."""
    if not isinstance(t, RefType):
        return False
    h = t.heap
    if isinstance(h, str):
        return h not in FUNC_HIERARCHY
    return canon.kind(h) != "func"


# ---------------------------------------------------------------- the native runtime
_PY = ctypes.PYFUNCTYPE
COLLECT_PROTO = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)


_set = object.__setattr__


class Runtime(Frozen):
    __match_args__ = ("library", "new", "delete", "alloc", "collect", "hosts", "stats")
    library: Any
    new: Any
    delete: Any
    alloc: Any
    collect: Any
    hosts: Any
    stats: Any

    def __init__(self, library: Any, new: Any, delete: Any, alloc: Any, collect: Any, hosts: Any,
                 stats: Any) -> None:  # fmt: skip
        _set(self, "library", library)
        _set(self, "new", new)
        _set(self, "delete", delete)
        _set(self, "alloc", alloc)
        _set(self, "collect", collect)
        _set(self, "hosts", hosts)
        _set(self, "stats", stats)


@cache
def runtime() -> Runtime:
    """The compiled heap runtime (compiled once per process; the object code is kept
    in the compile cache)."""
    from . import cache as code_cache
    from .gcruntime.ir import IR
    from .link import link

    digest = hashlib.sha256(IR.encode()).hexdigest()
    objects = code_cache.load_quick(digest, "gcruntime")
    if objects is None:
        key = code_cache.cache_key(digest, "gcruntime")
        objects = code_cache.load(key)
    if objects is None:
        from .jit import compile_ir

        objects = [compile_ir(IR, 2, passes=False)]  # clang -O2 optimised the IR already
        code_cache.store(key, objects)
    names = ["np_gc_new", "np_gc_delete", "np_gc_alloc", "np_gc_collect", "np_gc_hosts",
             "np_gc_stats"]  # fmt: skip
    lib = link(objects, names)
    a = lib.addresses
    vp, u64, u32, i64 = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int64
    rt = Runtime(
        lib,
        _PY(vp, u64, u64, vp, u32, u64, vp, vp)(a["np_gc_new"]),
        _PY(None, vp)(a["np_gc_delete"]),
        _PY(u64, vp, u64)(a["np_gc_alloc"]),
        _PY(i64, vp, vp, u64, u64, vp)(a["np_gc_collect"]),
        _PY(vp, vp)(a["np_gc_hosts"]),
        _PY(None, vp, vp)(a["np_gc_stats"]),
    )
    return rt


# ---------------------------------------------------------------- type descriptors
class Rtt(ctypes.Structure):
    """What native code knows of a struct or array type (``Rtt`` in heap.c)."""

    _fields_ = [
        ("kind", ctypes.c_uint32),
        ("depth", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("nrefs", ctypes.c_uint32),
        ("display", ctypes.c_void_p),
        ("offsets", ctypes.c_void_p),
        ("cid", ctypes.c_uint64),
    ]


RTT_DEPTH = Rtt.depth.offset
RTT_DISPLAY = Rtt.display.offset
RTT_KIND = Rtt.kind.offset

_rtts: dict[int, tuple[Rtt, Any, Any]] = {}
"""Canonical id -> (descriptor, display array, offsets array): kept for the process's
life, as canonical ids are."""
_rtt_of_addr: dict[int, tuple[int, int]] = {}
"""Descriptor address -> (canonical id, kind)."""
_rtt_lock = threading.RLock()


def rtt_address(cid: int) -> int:
    """The address of the descriptor of canonical struct or array type ``cid``."""
    got = _rtts.get(cid)
    if got is not None:
        return ctypes.addressof(got[0])
    with _rtt_lock:
        got = _rtts.get(cid)
        if got is not None:
            return ctypes.addressof(got[0])
        sup = canon.supertype(cid)
        chain: list[int] = []
        depth = 0
        if sup is not None:
            rtt_address(sup)
            parent = _rtts[sup]
            depth = parent[0].depth + 1
            chain = list(parent[1])
        r = Rtt()
        r.depth = depth
        r.cid = cid
        kind = canon.kind(cid)
        offsets_arr: Any
        if kind == "struct":
            fields = struct_fields(cid)
            offsets, size = struct_layout(fields)
            traced = [o | (EXN_FIELD if is_exn(f.storage) else 0)
                      for o, f in zip(offsets, fields) if is_traced(f.storage)]
            r.kind = KIND_STRUCT
            r.size = size
            r.nrefs = len(traced)
            offsets_arr = (ctypes.c_uint32 * max(1, len(traced)))(*traced)
        elif kind == "array":
            st = array_field(cid).storage
            r.kind = KIND_ARRAY
            r.size = storage_bytes(st)
            r.nrefs = ELEMS_EXN if is_exn(st) else 1 if is_traced(st) else 0
            offsets_arr = (ctypes.c_uint32 * 1)()
        else:
            raise ValueError(f"canonical type {cid} is not a struct or array")
        r.offsets = ctypes.addressof(offsets_arr)
        display = (ctypes.c_uint64 * (depth + 1))(*chain, ctypes.addressof(r))
        r.display = ctypes.addressof(display)
        _rtts[cid] = (r, display, offsets_arr)
        _rtt_of_addr[ctypes.addressof(r)] = (cid, r.kind)
        return ctypes.addressof(r)


class ExnWorld(ctypes.Structure):
    """A store's exception objects for a collection of both kinds (``ExnWorld`` in
    heap.c)."""

    _fields_ = [
        ("reg", ctypes.c_void_p),
        ("n", ctypes.c_uint64),
        ("ranges", ctypes.c_void_p),
        ("nranges", ctypes.c_uint64),
        ("forced", ctypes.c_void_p),
        ("nforced", ctypes.c_uint64),
    ]


# ---------------------------------------------------------------- handles
class NativeStruct(StructRef):
    """Python's handle on a struct in a store's native heap (its address is a root
    while the handle lives)."""

    __slots__ = ("heap", "addr", "cid", "__weakref__")
    heap: NativeHeap
    addr: int
    cid: int


class NativeArray(ArrayRef):
    """Python's handle on an array in a store's native heap."""

    __slots__ = ("heap", "addr", "cid", "__weakref__")
    heap: NativeHeap
    addr: int
    cid: int


HANDLES = (NativeStruct, NativeArray)

_u64_at = ctypes.c_uint64.from_address
_u32_at = ctypes.c_uint32.from_address
_py_object = ctypes.py_object


def _obj_at(a: int) -> Any:
    return ctypes.cast(a, _py_object).value


_pack_f32 = struct.Struct("<I").pack_into
_STORE = {1: ctypes.c_uint8, 2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}


class NativeHeap:
    """One store's GC heap (see the module docstring)."""

    def __init__(self, ns: NativeStore) -> None:
        rt = runtime()
        self.rt = rt
        self.ns = ns
        self._cb = COLLECT_PROTO(self._collect_cb)
        sizes = (ctypes.c_uint32 * len(CLASS_SIZES))(*CLASS_SIZES)
        ptr = rt.new(RESERVE, LIMIT, sizes, len(CLASS_SIZES), MIN_THRESHOLD,
                     ctypes.cast(self._cb, ctypes.c_void_p), None)  # fmt: skip
        if not ptr:
            raise WasmtimeError("cannot reserve address space for the GC heap")
        self.ptr: int = ptr
        stats = self.stats()
        if stats["abi"] != ABI_VERSION or stats["page"] != PAGE:
            rt.delete(ptr)
            raise WasmtimeError("the GC heap runtime does not match this nanoproc")
        self.proxies: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self.held: dict[int, Any] = {}
        """Host objects stored in GC objects: address -> object."""
        self.closed = False
        self.exn_fields = False
        """Whether the store's collections cover its exception objects too (a module
        with exnref fields was instantiated; see the module docstring)."""
        ns.sc.gc_heap = ptr

    # ------------------------------------------------------------ lifetime
    def release(self) -> None:
        """The store died: free the native heap (handles left in Python only compare
        and refuse use from then on). A store closed while its code runs (from a host
        function) keeps the memory: native frames may still use it."""
        if self.closed:
            return
        self.closed = True
        running = self.ns is not None and self.ns.sc.depth
        if not running:
            self.rt.delete(self.ptr)
        self.ptr = 0
        self.held.clear()
        self.ns = None  # type: ignore[assignment]

    def _check(self) -> None:
        if self.closed:
            raise WasmtimeError("GC object of a store that no longer exists")

    # ------------------------------------------------------------ collection
    def _collect_cb(self, _ctx: int) -> int:
        try:
            self.collect()
            return 1
        except BaseException:  # a ctypes callback must not raise
            return 0

    def collect(self, keep: int = 0) -> bool:
        """Collect now: Python's handles and (while Wasm code runs) the native stack are
        the roots; with :attr:`exn_fields`, the store's exception objects are
        collected too (``keep``: one being registered). False when the collector had
        no memory for its bookkeeping (nothing was freed)."""
        self._check()
        roots = list(self.proxies.keys())
        sc = self.ns.sc
        world = None
        buffers: list[Any] = []
        if self.exn_fields:
            world, buffers = self._exn_world(keep)
        else:
            roots += self._exception_words()
        arr = (ctypes.c_uint64 * max(1, len(roots)))(*roots)
        top = sc.stack_top if sc.depth else 0
        n = self.rt.collect(self.ptr, arr, len(roots), top,
                            ctypes.byref(world) if world is not None else None)
        if world is not None:
            sc.exn_n = world.n
        del buffers  # the ranges and objects the collector read
        if n < 0:
            return False
        held = self.held
        if not held:
            return True
        found = set((ctypes.c_uint64 * n).from_address(self.rt.hosts(self.ptr))) if n else set()
        still = {a: o for a, o in held.items() if a in found}
        if len(still) != len(held):
            if sc.depth:
                for a, o in held.items():
                    if a not in still:
                        self.ns.pin(o)
            self.held = still
        return True

    def attach_exceptions(self) -> None:
        """From now on collect the store's exception objects with its GC objects (a
        module with exnref fields was instantiated in the store)."""
        if not self.exn_fields:
            self.exn_fields = True
            self.ns.heap.attach_gc(self)

    def _exn_world(self, keep: int) -> tuple[ExnWorld, list[Any]]:
        """The exception objects' registry and roots (those of exnheap's collector:
        exnref globals and tables, pins; the object in flight and ``keep`` as
        objects whose payloads are roots), for :meth:`collect`."""
        sc = self.ns.sc
        exn = self.ns.heap
        ranges: list[int] = []
        for addr, kind in exn.root_list:
            if kind == abi.ROOT_TABLE:
                data = _u64_at(addr).value
                size = _u64_at(addr + abi.TAB_SIZE).value
                ranges += (data, data + 8 * size)
            else:
                ranges += (addr, addr + 8)
        if sc.exn_npins:
            ranges += (sc.exn_pins, sc.exn_pins + 8 * sc.exn_npins)
        forced = [o for o in (sc.exn or 0, keep) if o]
        r = (ctypes.c_uint64 * max(1, len(ranges)))(*ranges)
        f = (ctypes.c_uint64 * max(1, len(forced)))(*forced)
        w = ExnWorld(sc.exn_reg or 0, sc.exn_n if sc.exn_reg else 0, ctypes.addressof(r),
                     len(ranges) // 2, ctypes.addressof(f), len(forced))
        return w, [r, f]

    def _exception_words(self) -> list[int]:
        """Every payload word of the store's exposed exception objects and of the one
        in flight (see exnheap), as conservative roots: a GC reference thrown as an
        exception's argument lives in that payload only."""
        sc = self.ns.sc
        objs = list((ctypes.c_uint64 * sc.exn_n).from_address(sc.exn_reg)) if (
            sc.exn_reg and sc.exn_n) else []
        if sc.exn:
            objs.append(sc.exn)
        words: list[int] = []
        for o in objs:
            size = ctypes.c_uint32.from_address(o + abi.EXN_SIZE).value
            if size:
                payload = (ctypes.c_uint64 * (size // 8)).from_address(o + abi.EXN_PAYLOAD)
                words += [w & ~3 for w in payload if w]
        return words

    def live_bytes(self) -> int:
        """Bytes live after the last collection (what the next one marks, roughly)."""
        self._check()
        out = (ctypes.c_uint64 * 8)()
        self.rt.stats(self.ptr, out)
        return int(out[1])

    def stats(self) -> dict[str, int]:
        out = (ctypes.c_uint64 * 8)()
        self.rt.stats(self.ptr, out)
        return {"pages": out[0], "live": out[1], "collections": out[2], "allocated": out[3],
                "threshold": out[4], "abi": out[5], "page": out[6]}  # fmt: skip

    # ------------------------------------------------------------ native <-> Python
    def proxy(self, addr: int) -> Any:
        """Python's handle on the object at ``addr``."""
        p: Any = self.proxies.get(addr)
        if p is None:
            cid, kind = _rtt_of_addr[_u64_at(addr).value & ~7]
            p = object.__new__(NativeStruct if kind == KIND_STRUCT else NativeArray)
            p.heap = self
            p.addr = addr
            p.cid = cid
            self.proxies[addr] = p
        return p

    def any_of(self, h: int) -> Any:
        """The runtime value of a native ``anyref``."""
        if not h:
            return None
        if h & 1:
            return h >> 1
        if h & 2:
            return HostAny(_obj_at(h & ~3))
        return self.proxy(h)

    def ext_of(self, h: int) -> Any:
        """The runtime value of a native ``externref`` (a GC reference inside one)."""
        if h & 1:
            return I31(h >> 1)
        if h & 2:
            return self.proxy(h & ~3)
        return _obj_at(h) if h else None

    def handle(self, v: Any) -> int:
        """The address of a GC object handle of this heap."""
        if v.heap is not self:
            raise WasmtimeError("object used with the wrong store")
        self._check()
        return v.addr  # type: ignore[no-any-return]

    def any_handle(self, v: Any, pin: bool = False) -> int:
        """The native ``anyref`` of a runtime value (``pin``: keep a host object alive
        until the outermost call returns, as for a host function's result)."""
        if v is None:
            return 0
        cls = v.__class__
        if cls is int:
            return (v << 1) | 1
        if cls is HostAny:
            o = v.obj
            if pin:
                self.ns.pin(o)
            return id(o) | 2
        if cls is NativeStruct or cls is NativeArray:
            return self.handle(v)
        raise WasmtimeError(f"not a GC reference of this store: {v!r}")

    def ext_handle(self, v: Any) -> int:
        """The native ``externref`` of a GC value found where an externref goes."""
        cls = v.__class__
        if cls is I31:
            return (v.bits << 1) | 1
        return self.handle(v) | 2

    def hold(self, a: int) -> None:
        """Native code stored host object ``a`` in a GC object: keep it alive."""
        if a not in self.held:
            self.held[a] = _obj_at(a)

    # ------------------------------------------------------------ allocation from Python
    def _alloc(self, cid: int, size: int) -> int:
        self._check()
        a = self.rt.alloc(self.ptr, size)
        if not a:
            raise Trap.of(TrapCode.ALLOCATION_TOO_LARGE)
        _u64_at(a).value = rtt_address(cid)
        ctypes.memset(a + HEADER, 0, size - HEADER)
        return int(a)

    def _write(self, a: int, st: StorageType, v: Any) -> None:
        if isinstance(st, RefType):
            h = st.heap
            if isinstance(h, str) and h in FUNC_HIERARCHY or (
                isinstance(h, int) and canon.kind(h) == "func"
            ):
                _u64_at(a).value = self.ns.func_handle(v)
                return
            if isinstance(h, str) and h in EXN_HIERARCHY:
                raw = self.ns.exn_handle(v)  # a new registered object, pinned
            elif isinstance(h, str) and h in ("extern", "noextern"):
                if v is None:
                    raw = 0
                elif isinstance(v, (I31, *HANDLES)):
                    raw = self.ext_handle(v)
                else:
                    raw = id(v)
                    self.held[raw] = v
            else:
                raw = self.any_handle(v)
                if raw & 3 == 2:
                    self.held[raw & ~3] = v.obj
            _u64_at(a).value = raw
        elif st is F32:
            _u32_at(a).value = f32_to_bits(v)
        elif st is F64:
            _u64_at(a).value = f64_to_bits(v)
        elif st is V128:
            ctypes.memmove(a, (v & ((1 << 128) - 1)).to_bytes(16, "little"), 16)
        else:
            n = storage_bytes(st)
            _STORE[n].from_address(a).value = v & ((1 << (8 * n)) - 1)

    def new_struct(self, cid: int, values: Sequence[Any]) -> Any:
        fields = struct_fields(cid)
        offsets, size = struct_layout(fields)
        a = self._alloc(cid, size)
        p = self.proxy(a)
        for off, f, v in zip(offsets, fields, values):
            self._write(a + off, f.storage, v)
        return p

    def new_array(self, cid: int, elems: Sequence[Any]) -> Any:
        n = len(elems)
        if n > MAX_ARRAY_LENGTH:
            raise Trap.of(TrapCode.ALLOCATION_TOO_LARGE)
        st = array_field(cid).storage
        es = storage_bytes(st)
        a = self._alloc(cid, ARRAY_DATA + n * es)
        _u32_at(a + ARRAY_LEN).value = n
        p = self.proxy(a)
        base = a + ARRAY_DATA
        for i, v in enumerate(elems):
            if v is not None and not (v.__class__ is int and v == 0):
                self._write(base + i * es, st, v)
        return p

    def array_elems(self, arr: Any) -> tuple[int, int, StorageType]:
        """(address of the elements, length, element type) of an array handle."""
        a = self.handle(arr)
        return a + ARRAY_DATA, _u32_at(a + ARRAY_LEN).value, array_field(arr.cid).storage

    def write_elems(self, arr: Any, start: int, values: Sequence[Any]) -> None:
        base, _, st = self.array_elems(arr)
        es = storage_bytes(st)
        for i, v in enumerate(values, start):
            self._write(base + i * es, st, v)
