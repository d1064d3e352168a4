"""Per-instance state: the vmctx native code runs with, and the helper operations.

Binding an instance fills its vmctx (see abi.VMLayout): the StoreCtx, every
memory's and table's cell, every global's cell, the canonical id of every type,
a FuncRecord pointer for every function (imports' records from the store, the
instance's own in one array made here), and the passive data segments. Its
functions' ``FuncInst.call`` stay unset until first read, which builds the ctypes entry.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..exec.gctypes import MAX_ARRAY_LENGTH
from ..exec.instance import ModuleInstance
from ..exec.link import close_global
from ..exec.values import MASK32
from ..syntax.types import FuncType
from . import abi
from .cells import global_cell, mem_cell
from .datas import bind_datas
from .entry import entry_plan, make_call_with
from .gcheap import rtt_address
from .hostcall import INSTANCES, subtype
from .nativestore import NativeStore
from .refs import py_letter, py_shape
from .tables import table_cell

if TYPE_CHECKING:
    from .code import LoadedCode

def bind_state(vm: Any, layout: Any, ns: NativeStore, inst: ModuleInstance,
               global_letters: list[Any]) -> list[Any]:
    """Fill the vmctx slots of ``inst``'s memories, tables, globals, passive data
    segments and tags: cells over the instance's own entities, so that every tier
    and every unit of native code shares one state. Returns the data buffers to
    keep alive."""
    off = layout.mem_off // 8
    for m, mem in enumerate(inst.memories):
        vm[off + m] = mem_cell(ns, mem)
    off = layout.table_off // 8
    for t, tab in enumerate(inst.tables):
        vm[off + t] = table_cell(ns, tab)
    off = layout.global_off // 8
    for g, gi in enumerate(inst.globals):
        vm[off + g] = global_cell(ns, gi, global_letters[g])
    datas = bind_datas(inst, inst.module.module.datas, vm, layout.data_off // 8)
    if inst.tags:
        off = layout.tag_off // 8
        heap = ns.heap
        for t, ti in enumerate(inst.tags):
            vm[off + t] = heap.tag_record(ti)
    return datas


class InstanceState:
    """What the llvm tier keeps per instance (``ModuleInstance.tier_state``)."""

    def __init__(self, inst: ModuleInstance, code: LoadedCode, ns: NativeStore) -> None:
        self.inst = inst
        self.code = code
        self.ns = ns
        cm = inst.module
        layout = code.layout
        self.image = image = _image(code, cm)
        self.vm = image.vm_type()
        self.vmctx = vm_addr = ctypes.addressof(self.vm)
        vm = self.vm
        vm[0] = ns.sc_addr
        nimp = image.nimp
        funcs = inst.funcs
        ndef = image.ndef
        # Own function records first: tables and globals may refer to them.
        # copied from the image, then each record's vmctx word set
        self.records = records = image.records_type.from_buffer_copy(image.records)
        rec_base = ctypes.addressof(records)
        if ndef:
            records[1 :: abi.REC_SIZE // 8] = image.vm_slots(vm_addr)
            addresses = range(rec_base, rec_base + abi.REC_SIZE * ndef, abi.REC_SIZE)
            ns.add_records(funcs[nimp:], addresses)
        ns.keep.append(records)
        off = image.func_off
        if nimp:
            vm[off : off + nimp] = ns.func_handles(funcs[:nimp])
        if ndef:
            vm[off + nimp : off + nimp + ndef] = addresses
        if image.types:
            off = image.type_off
            vm[off : off + len(image.types)] = image.types
        self.datas = bind_state(vm, layout, ns, inst, image.global_letters)
        INSTANCES[vm_addr] = self
        # A defined function's FuncInst.call is left unset: its first read asks
        # ``resolve`` (see FuncInst), which builds the entry.

    # ------------------------------------------------------------ calls from Python
    def resolve(self, f: int) -> Callable[..., Any]:
        """``FuncInst.call`` of defined function ``f`` read for the first time."""
        return self.bind_call(f)

    def bind_call(self, f: int) -> Callable[..., Any]:
        """Make (and install) the ctypes entry of function ``f``."""
        fi = self.inst.funcs[f]
        entries = self.image.entries
        got = entries.get(f)
        if got is None:
            shape = py_shape(fi.type, self.inst.module.module)
            code = self.code
            table = code.held_entries if code.runs_briefly(f) else code.entries
            got = entries[f] = (entry_plan(shape, table[shape]), code.func_addr[f])
        call = make_call_with(got[0], self.vmctx, got[1], self.ns)
        fi.call = call
        return call

    # ------------------------------------------------------------ helper operations
    def helper(self, op: int, a: int, b: int, c: int, d: int) -> int:
        return _OPS[op](self, a, b, c, d)

    def trap(self, kind: int) -> int:
        self.ns.sc.host_error = kind
        return 0

    def ref_of(self, h: int, letter: str) -> Any:
        """The runtime value of native reference ``h`` of kind ``letter`` (see refs)."""
        if letter == "r":
            return self.ns.func_of(h)
        if letter == "a":
            return self.ns.any_of(h)
        if letter == "e":
            return self.ns.exn_of(h)
        return self.ns.obj_of(h)


class _Image:
    """What every instance of one module's code writes the same way into its vmctx and
    records (computed once per LoadedCode; instantiation copies it)."""

    def __init__(self, code: LoadedCode, cm: Any) -> None:
        layout = code.layout
        self.vm_type = abi.array(ctypes.c_uint64, layout.size // 8 or 1)
        self.nimp = nimp = cm.num_imported_funcs
        self.ndef = ndef = len(cm.func_types) - nimp
        step = abi.REC_SIZE // 8
        self.records_type = abi.array(ctypes.c_uint64, max(1, ndef * step))
        words = [0] * (ndef * step)
        for i in range(ndef):
            words[i * step] = code.func_addr[nimp + i]
            words[i * step + 2] = cm.canon(cm.module.funcs[i].typeidx)
        self.records = bytes(self.records_type(*words))
        """Every record's bytes, their vmctx left 0 (filled per instance)."""
        self.func_off = layout.func_off // 8
        self.type_off = layout.type_off // 8
        # a function type's canonical id; a struct or array type's descriptor
        self.types = [
            cm.canon(t) if isinstance(st.comp, FuncType) else rtt_address(cm.canon(t))
            for t, st in enumerate(cm.module.deftypes)
        ]

        # py_letter of each global's type, closed as instantiation closes it (None
        # for imported ones: their own module's letter applies)
        nimp_globals = sum(1 for imp in cm.module.imports if imp.kind == "global")
        self.global_letters: list[str | None] = [None] * nimp_globals
        self.global_letters += [py_letter(close_global(g.type, cm).type)
                                for g in cm.module.globals]  # fmt: skip

        self.entries: dict[int, tuple[Any, int]] = {}
        """Function index -> (its entry's plan (see entry.entry_plan), its code's
        address), found on its first call in any instance."""

    def vm_slots(self, vm_addr: int) -> list[int]:
        return [vm_addr] * self.ndef


def _image(code: LoadedCode, cm: Any) -> _Image:
    image: _Image | None = getattr(code, "_instance_image", None)
    if image is None:
        image = _Image(code, cm)
        code._instance_image = image  # type: ignore[attr-defined]
    return image


def _memory_grow(st: InstanceState, m: int, delta: int, _c: int, _d: int) -> int:
    return st.inst.memories[m].grow(delta)  # old size or -1 (the callback returns an i64)


def _table_elems(st: InstanceState, t: int) -> tuple[list[Any], str]:
    tab = st.inst.tables[t]
    return tab.elems, tab.elems.mirror.letter  # type: ignore[attr-defined]


def _table_set(st: InstanceState, t: int, i: int, h: int, _d: int) -> int:
    elems, letter = _table_elems(st, t)
    if i >= len(elems):
        return st.trap(abi.TRAP_TABLE_OOB)
    elems[i] = st.ref_of(h, letter)
    return 0


def _table_grow(st: InstanceState, t: int, h: int, n: int, _d: int) -> int:
    tab = st.inst.tables[t]
    _, letter = _table_elems(st, t)
    return tab.grow(n, st.ref_of(h, letter))


def _table_fill(st: InstanceState, t: int, i: int, h: int, n: int) -> int:
    elems, letter = _table_elems(st, t)
    if i + n > len(elems):
        return st.trap(abi.TRAP_TABLE_OOB)
    if n:
        elems[i : i + n] = [st.ref_of(h, letter)] * n
    return 0


def _table_copy(st: InstanceState, which: int, d: int, s: int, n: int) -> int:
    dst, _ = _table_elems(st, which >> 32)
    src, _ = _table_elems(st, which & MASK32)
    if d + n > len(dst) or s + n > len(src):
        return st.trap(abi.TRAP_TABLE_OOB)
    if n:
        dst[d : d + n] = src[s : s + n]
    return 0


def _table_init(st: InstanceState, which: int, d: int, s: int, n: int) -> int:
    refs = st.inst.elems[which >> 32]
    dst, _ = _table_elems(st, which & MASK32)
    if s + n > len(refs) or d + n > len(dst):
        return st.trap(abi.TRAP_TABLE_OOB)
    if n:
        dst[d : d + n] = refs[s : s + n]
    return 0


def _elem_drop(st: InstanceState, seg: int, _b: int, _c: int, _d: int) -> int:
    st.inst.elems[seg] = []
    return 0


def _subtype(st: InstanceState, have: int, want: int, _c: int, _d: int) -> int:
    return subtype(have, want)


def _epoch(st: InstanceState, _a: int, _b: int, _c: int, _d: int) -> int:
    """The store's trip byte is set: trap (0) if its epoch deadline is due, else
    clear the byte and go on (1). The byte is also set by a SIGINT (see
    ..interrupts): by the time this runs, Python has run its signal handler, whose
    KeyboardInterrupt the native caller has caught as this call's exception."""
    store = st.inst.store
    if st.ns.epochs and store.engine.epoch >= store.epoch_deadline:
        return 0  # the code traps with INTERRUPT (see irgen.metering.check_epoch)
    st.ns.sync_trip()
    return 1


def _global_set(st: InstanceState, g: int, h: int, _c: int, _d: int) -> int:
    gi = st.inst.globals[g]
    gi.value = st.ref_of(h, py_letter(gi.type.type))
    return 0


def _gc_hold(st: InstanceState, a: int, _b: int, _c: int, _d: int) -> int:
    st.ns.gc_heap().hold(a)
    return 0


def _extern_object(st: InstanceState, h: int, _b: int, _c: int, _d: int) -> Any:
    return st.ns.obj_of(h)


def _array_new_elem(st: InstanceState, which: int, s: int, n: int, _d: int) -> int:
    inst = st.inst
    refs = inst.elems[which & MASK32]
    if s + n > len(refs):
        return st.trap(abi.TRAP_TABLE_OOB)
    if n > MAX_ARRAY_LENGTH:
        return st.trap(abi.TRAP_ALLOCATION_TOO_LARGE)
    heap = st.ns.gc_heap()
    arr = heap.new_array(inst.module.canon(which >> 32), refs[s : s + n])
    return heap.handle(arr)


def _array_init_elem(st: InstanceState, a: int, seg: int, ds: int, n: int) -> int:
    heap = st.ns.gc_heap()
    arr = heap.proxy(a)
    _, length, _ = heap.array_elems(arr)
    refs = st.inst.elems[seg]
    d, s = ds >> 32, ds & MASK32
    if d + n > length:
        return st.trap(abi.TRAP_ARRAY_OOB)
    if s + n > len(refs):
        return st.trap(abi.TRAP_TABLE_OOB)
    heap.write_elems(arr, d, refs[s : s + n])
    return 0


def _host_throw(st: InstanceState, _a: int, _b: int, _c: int, _d: int) -> int:
    return st.ns.host_throw()


_OPS: dict[int, Callable[[InstanceState, int, int, int, int], int]] = {
    abi.H_MEMORY_GROW: _memory_grow,
    abi.H_TABLE_SET: _table_set,
    abi.H_TABLE_GROW: _table_grow,
    abi.H_TABLE_FILL: _table_fill,
    abi.H_TABLE_COPY: _table_copy,
    abi.H_TABLE_INIT: _table_init,
    abi.H_ELEM_DROP: _elem_drop,
    abi.H_SUBTYPE: _subtype,
    abi.H_GLOBAL_SET: _global_set,
    abi.H_EPOCH: _epoch,
    abi.H_HOST_THROW: _host_throw,
    abi.H_GC_HOLD: _gc_hold,
    abi.H_ARRAY_NEW_ELEM: _array_new_elem,
    abi.H_ARRAY_INIT_ELEM: _array_init_elem,
    abi.H_EXTERN_OBJECT: _extern_object,
}
