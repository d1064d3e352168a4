"""Wasm exception objects of the llvm tier: their collector, and their conversion to
and from the runtime's :class:`ExnInst`.

Native code allocates an exception object (malloc) when it throws; its address is
the exnref. An object caught by a plain ``catch`` is freed at once (see
:mod:`.irgen.ops_exc`); one an exnref may still reach is *exposed*: registered in
the store's registry (StoreCtx.exn_reg). When the registry is full, the collector
(native code, :data:`COLLECTOR_IR`) frees the registered objects nothing reaches:

* roots are scanned conservatively: every 8-byte word of the thread's stack from
  the collector's frame up to the stack's top (after ``_setjmp`` has spilled the
  callee-saved registers into that range), the exnref globals' cells and tables'
  elements (StoreCtx.exn_roots), the objects Python just handed to native code
  (StoreCtx.exn_pins), and the payload of the object being registered;
* a word is a reference when it equals a registered object's address (a hash set
  built for the collection); a reachable object's payload is scanned in turn;
* everything else in the registry is freed; the registry doubles when more than
  half of it survives, so the cost per registration stays constant.

Once the store holds GC objects with exnref fields, this collector cannot see all
references: the GC heap's collector then collects both kinds of object, and the
registry's collections run it instead (:meth:`ExnHeap.attach_gc`, see gcheap).

A word that merely looks like an address keeps an object alive a little longer;
nothing reachable is ever freed. Exceptions cross to Python as copies (ExnInst),
and Python's ExnInsts cross to native code as new registered objects: exnref
identity is not observable in Wasm.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from typing import TYPE_CHECKING, Any

from ..exec.entities import TagInst
from ..exec.exceptions import ExnInst
from ..exec.trap import Trap
from ..exec.values import MASK32, MASK64, f32_from_bits, f32_to_bits
from ..syntax.types import V128
from . import abi
from .refs import py_letter
from .stack import thread_stack

if TYPE_CHECKING:
    from .nativestore import NativeStore

_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.realloc.restype = ctypes.c_void_p
_libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.free.restype = None
_libc.free.argtypes = [ctypes.c_void_p]

_U64 = ctypes.c_uint64
_F64 = struct.Struct("<Q")
_D64 = struct.Struct("<d")

INITIAL_CAPACITY = 4096
"""Registry slots at first (each collection scans the stack once: amortised over at
least this many registrations)."""
MAX_REGISTRY = 1 << 20
"""Most exception objects an exnref may reach at once (~1 million, under 100 MB):
more traps ("out of memory"), as wasmtime's GC heap has a bound. A guest can keep
any number alive (a chain of exceptions in each other's payloads), so without one
it could take all of the host's memory."""

GC_BYTES_PER_SLOT = 64
"""With the GC collecting exception objects too (:meth:`ExnHeap.attach_gc`): a full
registry grows instead of collecting while it has fewer slots than the GC heap's
live bytes (after its last collection) / this: garbage exceptions then take at most
about half as much memory as the live GC objects, and a registration pays a small
share of a collection."""

_SC = abi.SC
_MARK = abi.EXN_MARK

COLLECTOR_IR = f"""\
declare i32 @_setjmp(ptr) returns_twice
declare noalias ptr @malloc(i64) nounwind
declare noalias ptr @calloc(i64, i64) nounwind
declare ptr @realloc(ptr, i64) nounwind
declare void @free(ptr) nounwind

; The collection's state: {{table, mask, shift, lo, hi, work, work length}}.
%st = type {{ ptr, i64, i64, i64, i64, ptr, i64 }}

define internal void @np_mark(ptr %s, i64 %w) #0 {{
entry:
  %lop = getelementptr inbounds %st, ptr %s, i32 0, i32 3
  %lo = load i64, ptr %lop, align 8
  %hip = getelementptr inbounds %st, ptr %s, i32 0, i32 4
  %hi = load i64, ptr %hip, align 8
  %below = icmp ult i64 %w, %lo
  %above = icmp ugt i64 %w, %hi
  %outside = or i1 %below, %above
  br i1 %outside, label %ret, label %hash
hash:
  %tab = load ptr, ptr %s, align 8
  %mp = getelementptr inbounds %st, ptr %s, i32 0, i32 1
  %mask = load i64, ptr %mp, align 8
  %shp = getelementptr inbounds %st, ptr %s, i32 0, i32 2
  %sh = load i64, ptr %shp, align 8
  %w4 = lshr i64 %w, 4
  %hm = mul i64 %w4, -7046029254386353131
  %h0 = lshr i64 %hm, %sh
  br label %probe
probe:
  %h = phi i64 [ %h0, %hash ], [ %h1, %next ]
  %slot = getelementptr inbounds i64, ptr %tab, i64 %h
  %v = load i64, ptr %slot, align 8
  %hit = icmp eq i64 %v, %w
  br i1 %hit, label %found, label %miss
miss:
  %empty = icmp eq i64 %v, 0
  br i1 %empty, label %ret, label %next
next:
  %h2 = add i64 %h, 1
  %h1 = and i64 %h2, %mask
  br label %probe
found:
  %o = inttoptr i64 %w to ptr
  %fp = getelementptr inbounds i8, ptr %o, i64 {abi.EXN_FLAGS}
  %f = load i32, ptr %fp, align 4
  %mk = and i32 %f, {_MARK}
  %seen = icmp ne i32 %mk, 0
  br i1 %seen, label %ret, label %new
new:
  %f1 = or i32 %f, {_MARK}
  store i32 %f1, ptr %fp, align 4
  %wp = getelementptr inbounds %st, ptr %s, i32 0, i32 5
  %work = load ptr, ptr %wp, align 8
  %wnp = getelementptr inbounds %st, ptr %s, i32 0, i32 6
  %wn = load i64, ptr %wnp, align 8
  %ws = getelementptr inbounds ptr, ptr %work, i64 %wn
  store ptr %o, ptr %ws, align 8
  %wn1 = add i64 %wn, 1
  store i64 %wn1, ptr %wnp, align 8
  br label %ret
ret:
  ret void
}}

; Every aligned word in [from, to).
define internal void @np_scan(ptr %s, i64 %from, i64 %to) #0 {{
entry:
  %fa = add i64 %from, 7
  %f8 = and i64 %fa, -8
  br label %loop
loop:
  %p = phi i64 [ %f8, %entry ], [ %p1, %body ]
  %p1 = add i64 %p, 8
  %more = icmp ule i64 %p1, %to
  %nowrap = icmp ugt i64 %p1, %p
  %go = and i1 %more, %nowrap
  br i1 %go, label %body, label %ret
body:
  %pp = inttoptr i64 %p to ptr
  %w = load i64, ptr %pp, align 8
  call void @np_mark(ptr %s, i64 %w)
  br label %loop
ret:
  ret void
}}

; The payload of object %o.
define internal void @np_scan_obj(ptr %s, ptr %o) #0 {{
entry:
  %szp = getelementptr inbounds i8, ptr %o, i64 {abi.EXN_SIZE}
  %sz32 = load i32, ptr %szp, align 4
  %sz = zext i32 %sz32 to i64
  %oi = ptrtoint ptr %o to i64
  %from = add i64 %oi, {abi.EXN_PAYLOAD}
  %to = add i64 %from, %sz
  call void @np_scan(ptr %s, i64 %from, i64 %to)
  ret void
}}

; flags: 1 = forget the pins (native code runs: it holds what Python handed it),
; 2 = scan the stack. Returns 0, or 1 when memory for the collection ran out.
define dso_local i32 @np_exn_collect(ptr %sc, ptr %keep, i32 %flags) #1 {{
entry:
  %jb = alloca [40 x i64], align 16
  %s = alloca %st, align 8
  %sj = call i32 @_setjmp(ptr %jb) #2
  %np = getelementptr inbounds i8, ptr %sc, i64 {_SC["exn_n"]}
  %n = load i64, ptr %np, align 8
  %rp = getelementptr inbounds i8, ptr %sc, i64 {_SC["exn_reg"]}
  %reg = load ptr, ptr %rp, align 8
  %n2 = shl i64 %n, 1
  br label %size
size:
  %cap = phi i64 [ 16, %entry ], [ %cap1, %size ]
  %sh = phi i64 [ 60, %entry ], [ %sh1, %size ]
  %cap1 = shl i64 %cap, 1
  %sh1 = sub i64 %sh, 1
  %small = icmp ult i64 %cap, %n2
  br i1 %small, label %size, label %alloc
alloc:
  %tab = call ptr @calloc(i64 %cap, i64 8)
  %wb = shl i64 %n, 3
  %wb1 = add i64 %wb, 8
  %work = call ptr @malloc(i64 %wb1)
  %tn = icmp eq ptr %tab, null
  %wnl = icmp eq ptr %work, null
  %anyn = or i1 %tn, %wnl
  br i1 %anyn, label %oom, label %init
oom:
  call void @free(ptr %tab)
  call void @free(ptr %work)
  ret i32 1
init:
  %mask = sub i64 %cap, 1
  store ptr %tab, ptr %s, align 8
  %mp = getelementptr inbounds %st, ptr %s, i32 0, i32 1
  store i64 %mask, ptr %mp, align 8
  %shp = getelementptr inbounds %st, ptr %s, i32 0, i32 2
  store i64 %sh, ptr %shp, align 8
  %wp = getelementptr inbounds %st, ptr %s, i32 0, i32 5
  store ptr %work, ptr %wp, align 8
  %wnp = getelementptr inbounds %st, ptr %s, i32 0, i32 6
  store i64 0, ptr %wnp, align 8
  br label %ins
ins:
  %i = phi i64 [ 0, %init ], [ %i1, %placed ]
  %lo = phi i64 [ -1, %init ], [ %lo1, %placed ]
  %hi = phi i64 [ 0, %init ], [ %hi1, %placed ]
  %insmore = icmp ult i64 %i, %n
  br i1 %insmore, label %insbody, label %insdone
insbody:
  %rs = getelementptr inbounds i64, ptr %reg, i64 %i
  %o = load i64, ptr %rs, align 8
  %ltlo = icmp ult i64 %o, %lo
  %lo1 = select i1 %ltlo, i64 %o, i64 %lo
  %gthi = icmp ugt i64 %o, %hi
  %hi1 = select i1 %gthi, i64 %o, i64 %hi
  %o4 = lshr i64 %o, 4
  %om = mul i64 %o4, -7046029254386353131
  %oh = lshr i64 %om, %sh
  br label %insprobe
insprobe:
  %ih = phi i64 [ %oh, %insbody ], [ %ih1, %insnext ]
  %is = getelementptr inbounds i64, ptr %tab, i64 %ih
  %iv = load i64, ptr %is, align 8
  %free = icmp eq i64 %iv, 0
  br i1 %free, label %put, label %insnext
insnext:
  %ih2 = add i64 %ih, 1
  %ih1 = and i64 %ih2, %mask
  br label %insprobe
put:
  store i64 %o, ptr %is, align 8
  br label %placed
placed:
  %i1 = add i64 %i, 1
  br label %ins
insdone:
  %lop = getelementptr inbounds %st, ptr %s, i32 0, i32 3
  store i64 %lo, ptr %lop, align 8
  %hip = getelementptr inbounds %st, ptr %s, i32 0, i32 4
  store i64 %hi, ptr %hip, align 8
  ; roots: the object being registered
  %kn = icmp ne ptr %keep, null
  br i1 %kn, label %rkeep, label %rstack
rkeep:
  %ki = ptrtoint ptr %keep to i64
  call void @np_mark(ptr %s, i64 %ki)
  call void @np_scan_obj(ptr %s, ptr %keep)
  br label %rstack
rstack:
  %fs = and i32 %flags, 2
  %dostack = icmp ne i32 %fs, 0
  br i1 %dostack, label %rstack1, label %rlist
rstack1:
  %topp = getelementptr inbounds i8, ptr %sc, i64 {_SC["exn_stack_top"]}
  %top = load i64, ptr %topp, align 8
  %low = ptrtoint ptr %jb to i64
  call void @np_scan(ptr %s, i64 %low, i64 %top)
  br label %rlist
rlist:
  %rtp = getelementptr inbounds i8, ptr %sc, i64 {_SC["exn_roots"]}
  %rt = load ptr, ptr %rtp, align 8
  %rnp = getelementptr inbounds i8, ptr %sc, i64 {_SC["exn_nroots"]}
  %rn = load i64, ptr %rnp, align 8
  br label %rloop
rloop:
  %j = phi i64 [ 0, %rlist ], [ %j1, %rnext ]
  %rmore = icmp ult i64 %j, %rn
  br i1 %rmore, label %rbody, label %rpins
rbody:
  %j2 = shl i64 %j, 1
  %ra = getelementptr inbounds i64, ptr %rt, i64 %j2
  %addr = load i64, ptr %ra, align 8
  %rk = getelementptr inbounds i64, ptr %ra, i64 1
  %kind = load i64, ptr %rk, align 8
  %istab = icmp eq i64 %kind, {abi.ROOT_TABLE}
  br i1 %istab, label %rtab, label %rcell
rcell:
  %ce = add i64 %addr, 8
  call void @np_scan(ptr %s, i64 %addr, i64 %ce)
  br label %rnext
rtab:
  %tcp = inttoptr i64 %addr to ptr
  %data = load i64, ptr %tcp, align 8
  %tsp = getelementptr inbounds i8, ptr %tcp, i64 {abi.TAB_SIZE}
  %tsz = load i64, ptr %tsp, align 8
  %tb = shl i64 %tsz, 3
  %te = add i64 %data, %tb
  call void @np_scan(ptr %s, i64 %data, i64 %te)
  br label %rnext
rnext:
  %j1 = add i64 %j, 1
  br label %rloop
rpins:
  %pp = getelementptr inbounds i8, ptr %sc, i64 {_SC["exn_pins"]}
  %pins = load i64, ptr %pp, align 8
  %pnp = getelementptr inbounds i8, ptr %sc, i64 {_SC["exn_npins"]}
  %pn = load i64, ptr %pnp, align 8
  %pb = shl i64 %pn, 3
  %pe = add i64 %pins, %pb
  call void @np_scan(ptr %s, i64 %pins, i64 %pe)
  br label %trans
trans:
  %wn = load i64, ptr %wnp, align 8
  %wany = icmp ne i64 %wn, 0
  br i1 %wany, label %tbody, label %sweep
tbody:
  %wn1 = sub i64 %wn, 1
  store i64 %wn1, ptr %wnp, align 8
  %wsl = getelementptr inbounds ptr, ptr %work, i64 %wn1
  %wo = load ptr, ptr %wsl, align 8
  call void @np_scan_obj(ptr %s, ptr %wo)
  br label %trans
sweep:
  br label %sloop
sloop:
  %k = phi i64 [ 0, %sweep ], [ %k1, %snext ]
  %live = phi i64 [ 0, %sweep ], [ %live1, %snext ]
  %smore = icmp ult i64 %k, %n
  br i1 %smore, label %sbody, label %sdone
sbody:
  %ss = getelementptr inbounds ptr, ptr %reg, i64 %k
  %so = load ptr, ptr %ss, align 8
  %sfp = getelementptr inbounds i8, ptr %so, i64 {abi.EXN_FLAGS}
  %sf = load i32, ptr %sfp, align 4
  %smk = and i32 %sf, {_MARK}
  %alive = icmp ne i32 %smk, 0
  br i1 %alive, label %skeep, label %sfree
skeep:
  %sf1 = and i32 %sf, {~_MARK & 0xFFFFFFFF}
  store i32 %sf1, ptr %sfp, align 4
  %ds = getelementptr inbounds ptr, ptr %reg, i64 %live
  store ptr %so, ptr %ds, align 8
  %livep = add i64 %live, 1
  br label %snext
sfree:
  call void @free(ptr %so)
  br label %snext
snext:
  %live1 = phi i64 [ %livep, %skeep ], [ %live, %sfree ]
  %k1 = add i64 %k, 1
  br label %sloop
sdone:
  store i64 %live, ptr %np, align 8
  call void @free(ptr %tab)
  call void @free(ptr %work)
  %fp1 = and i32 %flags, 1
  %unpin = icmp ne i32 %fp1, 0
  br i1 %unpin, label %dounpin, label %grow
dounpin:
  store i64 0, ptr %pnp, align 8
  br label %grow
grow:
  %cp = getelementptr inbounds i8, ptr %sc, i64 {_SC["exn_cap"]}
  %rcap = load i64, ptr %cp, align 8
  %twice = shl i64 %live, 1
  %crowded = icmp uge i64 %twice, %rcap
  br i1 %crowded, label %regrow, label %done
regrow:
  %atmax = icmp uge i64 %rcap, {MAX_REGISTRY}
  br i1 %atmax, label %noroom, label %regrow1
regrow1:
  %ncap = shl i64 %rcap, 1
  %nb = shl i64 %ncap, 3
  %nreg = call ptr @realloc(ptr %reg, i64 %nb)
  %gotn = icmp ne ptr %nreg, null
  br i1 %gotn, label %setreg, label %noroom
setreg:
  store ptr %nreg, ptr %rp, align 8
  store i64 %ncap, ptr %cp, align 8
  br label %done
noroom:
  %full = icmp uge i64 %live, %rcap
  %r = zext i1 %full to i32
  ret i32 %r
done:
  ret i32 0
}}

attributes #0 = {{ nounwind }}
attributes #1 = {{ noinline nounwind "frame-pointer"="all" }}
attributes #2 = {{ returns_twice }}
"""

_lock = threading.Lock()
_collector: list[Any] = []
"""[library, address] once compiled (one collector per process)."""

COLLECT_PROTO = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32)


def collector_address() -> int:
    """The native collector's address (compiled on first use, or read from the cache)."""
    with _lock:
        if not _collector:
            from . import cache
            from .link import link

            objects = cache.load_quick("exnheap", "opt=2")
            if objects is None:
                from . import jit

                key = cache.cache_key("exnheap", "opt=2")
                objects = cache.load(key)
            if objects is None:
                target = jit.host_target()
                head = f'target datalayout = "{target.datalayout}"\ntarget triple = "{target.triple}"\n'
                objects = [jit.compile_ir(head + COLLECTOR_IR, 2)]
                cache.store(key, objects)
            lib = link(objects, ["np_exn_collect"])
            _collector[:] = [lib, lib.addresses["np_exn_collect"]]
        return _collector[1]  # type: ignore[no-any-return]


class ExnHeap:
    """One store's exception objects: tag records, the registry, roots and pins, and
    the conversions between native objects and ExnInsts."""

    def __init__(self, ns: NativeStore) -> None:
        self.ns = ns
        sc = ns.sc
        self.sc = sc
        collect = collector_address()
        self._collect = COLLECT_PROTO(collect)
        reg = _libc.malloc(8 * INITIAL_CAPACITY)
        if not reg:
            raise MemoryError("no memory for the exception registry")
        sc.exn_reg = reg
        sc.exn_n = 0
        sc.exn_cap = INITIAL_CAPACITY
        self.roots = abi.array(ctypes.c_uint64, 0)()
        self.root_list: list[tuple[int, int]] = []
        self.pins = abi.array(ctypes.c_uint64, 0)()
        self.pin_cap = 0
        self.records: dict[TagInst, Any] = {}
        self.tag_at: dict[int, TagInst] = {}
        self.letters: dict[TagInst, str] = {}
        """Each tag's payload letters (see refs.py_letter; ``v`` for v128)."""
        self.layouts: dict[TagInst, tuple[list[int], int]] = {}
        """Each tag's payload offsets and size (see abi.payload_layout)."""
        sc.exn_collect = collect
        self.gc: Any = None
        """The GC heap collecting these objects too (see :meth:`attach_gc`), or None."""
        if ns.gc is not None and ns.gc.exn_fields:
            self.attach_gc(ns.gc)

    def attach_gc(self, gc: Any) -> None:
        """Let the GC heap ``gc`` (a NativeHeap whose objects may hold exnrefs) collect
        these objects: a full registry runs its collection, from native code too."""
        if self.gc is not None:
            return
        self.gc = gc
        self._gc_cb = COLLECT_PROTO(self._gc_collect_cb)
        self.sc.exn_collect = ctypes.cast(self._gc_cb, ctypes.c_void_p).value

    def _gc_collect_cb(self, _sc: int, keep: int | None, flags: int) -> int:
        try:
            return self._gc_collect(keep or 0, flags)
        except BaseException:  # a ctypes callback must not raise: no room, so a trap
            return 1

    def _gc_collect(self, keep: int, flags: int) -> int:
        """np_exn_collect's contract through the GC's collector: 0, or 1 when no
        memory was left for the collection.

        A collection marks the whole GC heap: while the registry is small next to
        it (fewer slots than its live bytes / GC_BYTES_PER_SLOT), the registry
        doubles instead, so registering costs a bounded share of a collection (a
        catch_ref loop next to a large live heap would collect every few thousand
        exceptions otherwise)."""
        sc = self.sc
        cap = sc.exn_cap
        if cap < MAX_REGISTRY and cap * GC_BYTES_PER_SLOT < self.gc.live_bytes():
            reg = _libc.realloc(sc.exn_reg, 16 * cap)
            if reg:
                sc.exn_reg = reg
                sc.exn_cap = 2 * cap
                return 0
        if not self.gc.collect(keep):
            return 1
        if flags & 1:
            sc.exn_npins = 0
        live, cap = sc.exn_n, sc.exn_cap
        if 2 * live >= cap and cap < MAX_REGISTRY:
            reg = _libc.realloc(sc.exn_reg, 16 * cap)
            if reg:
                sc.exn_reg = reg
                sc.exn_cap = 2 * cap
        return 0

    # ------------------------------------------------------------ tags
    def tag_record(self, ti: TagInst) -> int:
        """The native identity of tag ``ti`` in this store."""
        rec = self.records.get(ti)
        if rec is None:
            rec = abi.array(ctypes.c_uint64, 2)(len(ti.functype.params), 0)
            self.records[ti] = rec
            self.tag_at[ctypes.addressof(rec)] = ti
            letters = "".join("v" if t is V128 else py_letter(t) for t in ti.functype.params)
            self.letters[ti] = letters
            self.layouts[ti] = abi.payload_layout([16 if k == "v" else 8 for k in letters])
        return ctypes.addressof(rec)

    # ------------------------------------------------------------ roots and pins
    def add_root(self, address: int, kind: int) -> None:
        """Scan ``address`` (a cell, or a TableCell) at every collection."""
        self.root_list.append((address, kind))
        arr = abi.array(ctypes.c_uint64, 2 * len(self.root_list))()
        for i, (a, k) in enumerate(self.root_list):
            arr[2 * i] = a
            arr[2 * i + 1] = k
        self.sc.exn_roots = ctypes.addressof(arr)
        self.sc.exn_nroots = len(self.root_list)
        self.ns.keep.append(self.roots)
        self.roots = arr

    def _pin(self, p: int) -> None:
        n = self.sc.exn_npins
        if n >= self.pin_cap:
            cap = max(16, 2 * self.pin_cap)
            arr = abi.array(ctypes.c_uint64, cap)()
            ctypes.memmove(arr, self.pins, 8 * n)
            self.ns.keep.append(self.pins)
            self.pins = arr
            self.pin_cap = cap
            self.sc.exn_pins = ctypes.addressof(arr)
        self.pins[n] = p
        self.sc.exn_npins = n + 1

    def unpin(self) -> None:
        """No native frame is left: nothing Python handed over needs pinning."""
        self.sc.exn_npins = 0

    def collect(self, keep: int = 0) -> int:
        """Run the collector from Python (native frames may be on the stack: with the
        store running, its stack is scanned too)."""
        sc = self.sc
        if self.gc is not None:
            return self._gc_collect(keep, 0)
        flags = 0
        if sc.depth:
            low, size = thread_stack()
            sc.exn_stack_top = low + size
            flags = 2
        return int(self._collect(self.ns.sc_addr, keep, flags))

    def register(self, p: int) -> None:
        sc = self.sc
        if sc.exn_n >= sc.exn_cap:
            self.collect(p)
            if sc.exn_n >= sc.exn_cap:
                _libc.free(p)
                raise Trap("out of memory: no room for a Wasm exception")
        reg = abi.array(ctypes.c_uint64, sc.exn_cap).from_address(sc.exn_reg)
        reg[sc.exn_n] = p
        sc.exn_n += 1

    # ------------------------------------------------------------ conversions
    def to_native(self, exn: ExnInst | None) -> int:
        """A new native object with ``exn``'s tag and payload (registered and pinned);
        0 for None."""
        if exn is None:
            return 0
        made: dict[int, int] = {}
        todo = [exn]
        order: list[ExnInst] = []
        while todo:
            e = todo.pop()
            if id(e) in made:
                continue
            self.tag_record(e.tag)
            letters = self.letters[e.tag]
            size = abi.EXN_PAYLOAD + self.layouts[e.tag][1]
            p = _libc.malloc(size)
            if not p:
                raise MemoryError("no memory for a Wasm exception")
            made[id(e)] = p
            order.append(e)
            for k, v in zip(letters, e.payload):
                if k == "e" and v is not None:
                    todo.append(v)
        ns = self.ns
        for e in order:
            p = made[id(e)]
            letters = self.letters[e.tag]
            offsets, size = self.layouts[e.tag]
            words = abi.array(ctypes.c_uint64, 2 + size // 8).from_address(p)
            words[0] = self.tag_record(e.tag)
            words[1] = abi.EXN_EXPOSED | (size << 32)
            for off, k, v in zip(offsets, letters, e.payload):
                i = off // 8
                if k == "v":
                    words[i] = v & MASK64
                    words[i + 1] = v >> 64
                    continue
                if k in "iI":
                    w = v
                elif k == "f":
                    w = f32_to_bits(v)
                elif k == "F":
                    w = _F64.unpack(_D64.pack(v))[0]
                elif k == "r":
                    w = ns.func_handle(v)
                elif k == "e":
                    w = made[id(v)] if v is not None else 0
                elif k == "a":
                    w = ns.pinned_any(v)  # a GC reference (see gcheap)
                else:
                    ns.pin(v)
                    w = ns.obj_handle(v)
                words[i] = w
            self._pin(p)
            self.register(p)
        return made[id(exn)]

    def from_native(self, p: int) -> ExnInst | None:
        """The ExnInst of native object ``p`` (a copy; None for 0)."""
        if not p:
            return None
        made: dict[int, ExnInst] = {}
        todo = [p]
        order: list[tuple[int, str, list[int], Any]] = []
        while todo:
            q = todo.pop()
            if q in made:
                continue
            tag = self.tag_at[_U64.from_address(q).value]
            letters = self.letters[tag]
            offsets, size = self.layouts[tag]
            words = abi.array(ctypes.c_uint64, 2 + size // 8).from_address(q)
            made[q] = ExnInst(tag, ())
            order.append((q, letters, offsets, words))
            if "e" in letters:
                todo.extend(w for k, o in zip(letters, offsets)
                            if k == "e" and (w := words[o // 8]))
        ns = self.ns
        for q, letters, offsets, words in order:
            vals: list[Any] = []
            for k, off in zip(letters, offsets):
                w = words[off // 8]
                if k == "v":
                    vals.append(w | (words[off // 8 + 1] << 64))
                elif k == "i":
                    vals.append(w & MASK32)
                elif k == "I":
                    vals.append(w)
                elif k == "f":
                    vals.append(f32_from_bits(w & MASK32))
                elif k == "F":
                    vals.append(_D64.unpack(_F64.pack(w))[0])
                elif k == "r":
                    vals.append(ns.func_of(w))
                elif k == "e":
                    vals.append(made[w] if w else None)
                elif k == "a":
                    vals.append(ns.any_of(w))
                else:
                    vals.append(ns.obj_of(w))
            made[q].payload = tuple(vals)
        return made[p]

    def take_uncaught(self, p: int) -> ExnInst | None:
        """The ExnInst of an exception that left native code uncaught; its object is
        freed unless an exnref may still reach it."""
        exn = self.from_native(p)
        if p and not ctypes.c_uint32.from_address(p + abi.EXN_FLAGS).value & abi.EXN_EXPOSED:
            _libc.free(p)
        self.sc.exn = 0
        return exn

    def release(self) -> None:
        """The store died: free every registered object and the registry."""
        sc = self.sc
        reg = sc.exn_reg
        if reg:
            n = sc.exn_n
            objs = abi.array(ctypes.c_uint64, n).from_address(reg) if n else []
            for o in list(objs):
                _libc.free(o)
            _libc.free(reg)
            sc.exn_reg = None
            sc.exn_n = sc.exn_cap = 0
        sc.exn_npins = 0
        sc.exn_nroots = 0
