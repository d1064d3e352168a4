"""Partial units: native code for some of a module's functions (per-function tier-up).

A composing backend (internal.tiered) runs a module on the interp tier and has the
functions it finds hot compiled here, a few at a time, each set as one LLVM module
(a *unit*). A unit's code calls the functions of its own set directly; every other
function (an import, or a defined function not in the unit) through the FuncRecord
in its vmctx slot, as calls to imports go: a function still on the interp tier has
the record of a host function calling it (``LLVMBackend.foreign``), one compiled by
an earlier unit the native record made by that unit.

Every unit of an instance shares one vmctx (:class:`UnitsState`): memories, tables,
globals, passive data segments and the StoreCtx are the instance's one state, whatever
tier the running function is on. Installing a unit writes its records, points the
vmctx slots of its functions at them (code already running keeps the record it
loaded on entry: the old one still works) and refreshes the native mirrors of the
instance's tables, so ``call_indirect`` reaches the new code too.

Units go to the compile cache, keyed by the module and the function set.
"""

from __future__ import annotations

import ctypes
import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..exec.compiled import CompiledModule
from ..exec.instance import ModuleInstance
from ..exec.link import close_global
from ..syntax.types import FuncType
from . import abi, cache, elflink
from .code import LoadedCode
from .compiler import module_binary, module_digest
from .entry import make_call
from .gcheap import rtt_address
from .glue import glue_keys, glue_objects
from .hostcall import INSTANCES, register_thunks
from .instance import InstanceState, bind_state
from .irgen.types import shape_of
from .link import UnitImage, load_unit_image, store_unit_image, unit_image_key
from .nativestore import NativeStore
from .objfile import max_stack_size, stackmap_section
from .options import CodeOptions
from .refs import py_letter, py_shape
from .symbols import vm_layout
from .tables import NativeElems
from .unitcode import REFS, partition_object, refs_item, refs_of, unit_parts


def unit_key(cm: CompiledModule, funcs: list[int], options: CodeOptions) -> str:
    """The compile cache's key of the unit of ``funcs`` (sorted) of ``cm``."""
    digest = hashlib.sha256(",".join(map(str, funcs)).encode()).hexdigest()[:32]
    return cache.reading_key(f"{module_digest(cm)}:unit:{digest}", options.key())


def unit_shapes(cm: CompiledModule, funcs: Iterable[int]) -> list[tuple[str, str]]:
    """Entry shapes of ``funcs`` (each once)."""
    mod = cm.module
    return list(dict.fromkeys(py_shape(cm.func_types[f], mod) for f in funcs))


def outside_refs(cm: CompiledModule, funcs: Iterable[int]) -> set[int]:
    """Functions whose vmctx slot the code of ``funcs`` reads: the targets of their
    calls (imports too) and of their ``ref.func``s."""
    return refs_of(cm.module, cm.num_imported_funcs, funcs)


def unit_objects(cm: CompiledModule, funcs: list[int], options: CodeOptions,
                 cached_only: bool = False, background: bool = True) -> list[bytes] | None:
    """Object code of the unit of ``funcs`` (sorted defined function indices), from
    the compile cache or compiled now (see compile_unit_objects) and stored there,
    then the ``REFS`` item. ``cached_only``: None when it is not cached."""
    key = unit_key(cm, funcs, options)
    objects = cache.load(key)
    if objects is not None or cached_only:
        return objects
    objects = compile_unit_objects(cm, funcs, options, background)
    cache.store(key, objects)
    return objects


def compile_unit_objects(cm: CompiledModule, funcs: list[int], options: CodeOptions,
                         background: bool = True) -> list[bytes]:
    """The unit's cache entry, compiled by a worker process when one can be had (IR
    generation and LLVM outside this process: the program's threads neither wait
    for the interpreter lock nor share the CPU with it, and an exit kills the
    worker instead of waiting; ``background``: a niced one, see
    workers.BACKGROUND_NICE), else in this thread; the same code either way
    (unitcode.py). What a worker sends back is checked to be an object; the
    objects themselves are checked by the linker. While the interpreter exits:
    workers.ShuttingDown.

    A unit of several partitions (unitcode.unit_parts) is compiled one partition
    per task, each stored in the cache as it arrives: a program that ends before
    the whole unit is compiled leaves those to the next run, which makes the same
    unit first (tiered/units.note_pending)."""
    from ..workers import run_one

    mod = cm.module
    nimp = cm.num_imported_funcs
    parts = unit_parts(mod, nimp, funcs)
    unit = frozenset(funcs)
    base = unit_key(cm, funcs, options)
    digest = module_digest(cm)
    wasm = module_binary(cm)
    objects = []
    for part in parts:
        key = hashlib.sha256(f"{base}:part={part.index}/{len(parts)}".encode()).hexdigest()
        got = cache.load(key, memory=False) if len(parts) > 1 else None
        if got is not None and len(got) == 1:
            objects.append(got[0])
            continue

        def here(part: Any = part) -> bytes:
            return partition_object(mod, cm.func_types, part, options, unit)

        obj = run_one("unitpart", digest, wasm, (part.funcs, part.index, funcs, options),
                      here, background)
        if not isinstance(obj, bytes):  # pragma: no cover - a worker of another build
            obj = here()
        if len(parts) > 1:
            cache.store(key, [obj], memory=False)
        objects.append(obj)
    objects.append(refs_item(mod, nimp, funcs))
    return objects


def load_unit(cm: CompiledModule, funcs: list[int], objects: list[bytes],
              options: CodeOptions) -> LoadedCode:
    """Link a unit's objects (with the entries of its functions' shapes); the last
    item of ``objects`` may be the ``REFS`` one (see unit_objects)."""
    refs: list[int] | None = None
    if objects and objects[-1].startswith(REFS):
        refs = [int(x) for x in objects[-1][len(REFS):].split(b",") if x]
        objects = objects[:-1]
    shapes = unit_shapes(cm, funcs)
    objects = objects + glue_objects(shapes, options.opt_level)
    if refs is None:
        refs = sorted(outside_refs(cm, funcs))
    unit: UnitImage | None = None
    key = _image_key(cm, funcs, options, shapes)
    if key is not None:
        try:
            img = elflink.prelink(objects)
        except elflink.Unsupported:
            pass  # LLVM links it (LoadedCode, through link.link)
        else:
            deepest = max((max_stack_size(o) for o in objects), default=0)
            unit = (img, deepest, refs, [stackmap_section(o) for o in objects])
            store_unit_image(key, unit)
    code = LoadedCode(cm, objects, shapes, funcs, unit)
    register_thunks(code)
    code.unit_refs = refs
    return code


def _image_key(cm: CompiledModule, funcs: list[int], options: CodeOptions,
               shapes: list[Any]) -> str | None:
    return unit_image_key(unit_key(cm, funcs, options), glue_keys(shapes, options.opt_level))


def cached_unit(cm: CompiledModule, funcs: list[int], options: CodeOptions) -> LoadedCode | None:
    """The unit of ``funcs`` from its linked image in the compile cache, or None.
    Its objects are neither read nor hashed: the image entry is keyed by the unit's
    key and holds what loading needs of them (a warm CPython process loads ~70
    units at its first instance; hashing their objects was ~19 % of its first run).
    The entry's checksum is checked; a damaged or unusable one gives None (the
    caller links the objects again, which rewrites it)."""
    shapes = unit_shapes(cm, funcs)
    key = _image_key(cm, funcs, options, shapes)
    unit = load_unit_image(key) if key is not None else None
    if unit is None:
        return None
    try:
        code = LoadedCode(cm, [], shapes, funcs, unit)
    except KeyError:  # a symbol missing: not this unit's image
        return None
    register_thunks(code)
    code.unit_refs = unit[2]
    return code


def prepare_thunks(cm: CompiledModule) -> None:
    """Host thunks for every function type of ``cm`` (one glue library for those
    missing), so that host records made later on the store's thread (its tables'
    entries, the functions units call) never compile: a compile there would wait
    for LLVM's lock, which a unit compiled on another thread holds for seconds."""
    from .compiler import glue_library
    from .hostcall import THUNKS

    fts = cm.func_types  # 89,060 functions, ~2,600 types (C-level maps: per first instance)
    types = dict(zip(map(id, fts), fts)).values()
    missing = [s for s in dict.fromkeys(map(shape_of, types)) if s not in THUNKS]
    if missing:
        lib = glue_library(missing)
        for s in missing:
            THUNKS.setdefault(s, (lib.thunks[s], lib))


class UnitsState(InstanceState):
    """The native side of an instance running partly on another tier: one vmctx for
    all its units (see the module docstring). Functions without native code have
    no record of their own here; the slot of one that a unit's code reads holds the
    record of a host function calling it (``NativeStore.func_handle``)."""

    def __init__(self, inst: ModuleInstance, ns: NativeStore,  # noqa: PLW0231
                 units: Sequence[tuple[LoadedCode, list[int]]] = ()) -> None:
        # Not InstanceState.__init__: that binds one LoadedCode of the whole module.
        self.inst = inst
        self.ns = ns
        cm = inst.module
        mod = cm.module
        self.layout = layout = vm_layout(mod)
        self.vm = vm = abi.array(ctypes.c_uint64, layout.size // 8 or 1)()
        self.vmctx = vm_addr = ctypes.addressof(vm)
        vm[0] = ns.sc_addr
        self.codes: dict[int, LoadedCode] = {}
        """Defined function -> the unit's code defining it."""
        self.records: list[Any] = []
        self.func_off = layout.func_off // 8
        nimp = cm.num_imported_funcs
        funcs = inst.funcs
        if nimp:
            vm[self.func_off : self.func_off + nimp] = ns.func_handles(funcs[:nimp])
        types = [cm.canon(t) if isinstance(st.comp, FuncType) else rtt_address(cm.canon(t))
                 for t, st in enumerate(mod.deftypes)]
        if types:
            off = layout.type_off // 8
            vm[off : off + len(types)] = types
        # The units' own records before the tables are mirrored: a table entry of a
        # native function then needs no host record (CPython's table: 40,000 entries)
        self._bind_records(units)
        nimp_globals = sum(1 for imp in mod.imports if imp.kind == "global")
        letters: list[str | None] = [None] * nimp_globals
        letters += [py_letter(close_global(g.type, cm).type) for g in mod.globals]
        self.datas = bind_state(vm, layout, ns, inst, letters)
        self._bind_refs(units)
        INSTANCES[vm_addr] = self

    def add_units(self, units: list[tuple[LoadedCode, list[int]]]) -> None:
        """Bind the units ``(code, funcs)`` (each ``code`` defining ``funcs``) into this
        instance: records, vmctx slots, then the entries of the instance's tables
        that hold their functions (one pass for all). On the thread running the
        store's code (no native code of it runs meanwhile but frames below this
        call, which keep the records they loaded)."""
        mine = self._bind_records(units)
        self._bind_refs(units)
        if not mine:
            return
        for tab in self.inst.tables:
            elems = tab.elems
            if isinstance(elems, NativeElems) and elems.mirror.funcref:
                mirror = elems.mirror
                data = mirror.data
                for i, v in enumerate(elems):
                    if v in mine:
                        data[i] = mirror.handle(v)

    def _bind_records(self, units: Sequence[tuple[LoadedCode, list[int]]]) -> set[Any]:
        """The records and vmctx slots of the units' functions; returns those."""
        inst = self.inst
        ns = self.ns
        cm = inst.module
        nimp = cm.num_imported_funcs
        vm = self.vm
        step = abi.REC_SIZE // 8
        mine = set()
        for code, funcs in units:
            recs = abi.array(ctypes.c_uint64, max(1, len(funcs) * step))()
            words = [0] * (len(funcs) * step)
            for i, f in enumerate(funcs):
                words[i * step] = code.func_addr[f]
                words[i * step + 1] = self.vmctx
                words[i * step + 2] = cm.canon(cm.module.funcs[f - nimp].typeidx)
            recs[:] = words
            ns.keep.append(recs)
            self.records.append(recs)
            base = ctypes.addressof(recs)
            ns.reserve_frame(code.max_frame)
            for i, f in enumerate(funcs):
                fi = inst.funcs[f]
                ns.add_record(fi, base + abi.REC_SIZE * i)
                vm[self.func_off + f] = base + abi.REC_SIZE * i
                self.codes[f] = code
                mine.add(fi)
        return mine

    def _bind_refs(self, units: Sequence[tuple[LoadedCode, list[int]]]) -> None:
        """The vmctx slots the units' code reads of functions not native (yet)."""
        vm = self.vm
        off = self.func_off
        funcs = self.inst.funcs
        missing = [f for code, _funcs in units for f in code.unit_refs if not vm[off + f]]
        if missing:
            handles = self.ns.func_handles([funcs[f] for f in missing])
            for f, h in zip(missing, handles):
                vm[off + f] = h

    def bind_call(self, f: int) -> Callable[..., Any]:
        """The ctypes entry of native function ``f`` (``FuncInst.call`` is left to the
        caller, which installs it)."""
        code = self.codes[f]
        shape = py_shape(self.inst.funcs[f].type, self.inst.module.module)
        entries = code.held_entries if code.runs_briefly(f) else code.entries
        return make_call(shape, entries[shape], self.vmctx, code.func_addr[f], self.ns)

    def resolve(self, f: int) -> Callable[..., Any]:  # pragma: no cover - never the tier_state
        raise AssertionError("UnitsState is not an instance's tier_state")


def units_state(inst: ModuleInstance, backend: Any,
                units: Sequence[tuple[LoadedCode, list[int]]] = ()) -> UnitsState:
    """A new UnitsState for ``inst`` (its store's native state made if needed), with
    ``units`` bound."""
    ns = NativeStore.of(inst.store, backend)
    return UnitsState(inst, ns, units)
