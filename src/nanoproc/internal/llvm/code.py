"""A module's compiled code once linked into memory, and the map from code addresses
back to Wasm functions and instructions (for traps' backtraces).

Every Wasm function's machine code range is registered in one process-wide sorted
map while its module's code is loaded; a return address found on the stack is
looked up there, and the call site's instruction comes from the stackmap records
(see :mod:`.objfile`).
"""

from __future__ import annotations

import bisect
import threading
import weakref
from typing import TYPE_CHECKING

from ..exec.trap import ENTRY_PC, Frame, entry_offset
from .irgen.types import Shape
from .link import link
from .objfile import max_stack_size, read_object, read_stackmap_sections, read_stackmaps
from .symbols import (
    entry_symbol,
    func_symbol,
    held_entry_symbol,
    host_symbol,
    runs_briefly,
    thunk_shapes,
    vm_layout,
)

if TYPE_CHECKING:
    from ..exec.compiled import CompiledModule
    from .link import UnitImage

FRAME_SLACK = 64
"""Bytes of a frame the stackmap's size leaves out (return address, a tailcc
call's argument area), rounded up."""

_map_lock = threading.Lock()
_starts: list[int] = []
_ranges: list[tuple[int, int, weakref.ref[LoadedCode], int]] = []
"""Sorted by start: (start, end, code, funcidx). The map holds code weakly: code lives
as long as its module and instances do, and its ranges go when it dies."""
_dead: list[list[int]] = []
"""Start addresses of unloaded code, removed from the map by the next locked access.

The finalizer of a LoadedCode only appends here: it may run inside a garbage
collection that an allocation under ``_map_lock`` set off, on the thread that holds
the lock, so taking the lock there would deadlock (seen in CI: a spec run hung in
``_register``), and editing the lists there would shift indices mid-insert."""


def _purge() -> None:
    """Remove the ranges of unloaded code (caller holds ``_map_lock``)."""
    while _dead:
        for start in _dead.pop():
            i = bisect.bisect_left(_starts, start)
            if i < len(_starts) and _starts[i] == start:
                del _starts[i]
                del _ranges[i]


def _register(code: LoadedCode) -> None:
    ref = weakref.ref(code)
    entries = [(start, start + size, ref, f) for f, (start, size) in code.ranges.items()]
    with _map_lock:
        _purge()
        for entry in entries:
            i = bisect.bisect_left(_starts, entry[0])
            _starts.insert(i, entry[0])
            _ranges.insert(i, entry)


def lookup(address: int) -> tuple[LoadedCode, int, int] | None:
    """(code, funcidx, offset in the function) of a code address inside a Wasm function."""
    with _map_lock:
        _purge()
        i = bisect.bisect_right(_starts, address) - 1
        if i < 0:
            return None
        start, end, ref, f = _ranges[i]
    code = ref()
    if code is not None and start <= address < end:
        return code, f, address - start
    return None


class LoadedCode:
    """Linked code of one module: function, entry and thunk addresses, frame info."""

    def __init__(self, module: CompiledModule, objects: list[bytes], shapes: list[Shape],
                 funcs: list[int] | None = None, unit: UnitImage | None = None) -> None:
        """``funcs``: the defined functions the objects define (a partial unit's,
        see .units); all of them when None. ``unit``: their image already linked,
        with what loading needs of the objects (then ``objects`` is not used)."""
        self.module = module
        self.layout = vm_layout(module.module)
        nimp = module.num_imported_funcs
        nfuncs = len(module.func_types)
        fsyms = {f: func_symbol(f) for f in (range(nimp, nfuncs) if funcs is None else funcs)}
        symbols = list(fsyms.values())
        natives = thunk_shapes(shapes)
        symbols += [entry_symbol(s) for s in shapes] + [host_symbol(s) for s in natives]
        symbols += [held_entry_symbol(s) for s in shapes]
        self.library = link(objects, symbols) if unit is None else unit[0].load(symbols)
        addr = self.library.addresses
        self.func_addr = {f: addr[s] for f, s in fsyms.items()}
        self.entries = {s: addr[entry_symbol(s)] for s in shapes}
        self.held_entries = {s: addr[held_entry_symbol(s)] for s in shapes}
        self.thunks = {s: addr[host_symbol(s)] for s in natives}
        sizes: dict[str, int] | None = getattr(self.library, "sizes", None)
        if sizes is None:  # linked by LLVM: read the symbol tables
            sizes = {}
            for o in objects:
                sizes.update(read_object(o).sizes)
        self._objects = objects
        self._sections = None if unit is None else unit[3]
        """The objects' stackmap sections, when the objects are not at hand."""
        self._stackmaps: tuple[dict[int, list[tuple[int, int]]], dict[int, int]] | None = None
        """call_sites and frames, read from the stackmaps when first needed."""
        deepest = (max((max_stack_size(o) for o in objects), default=0) if unit is None
                   else unit[1])  # fmt: skip
        self.max_frame = deepest + FRAME_SLACK
        """The most stack one Wasm frame of this code takes: what a function may touch
        below its caller's stack pointer before its stack check has run."""
        self.ranges = {f: (self.func_addr[f], sizes.get(s, 1)) for f, s in fsyms.items()}
        self._frames: dict[tuple[int, int], Frame] = {}
        self._brief: dict[int, bool] = {}
        self.unit_refs: list[int] = []
        """A partial unit's: the functions outside it that its code calls or refers to
        (set by units.load_unit; their vmctx slots need records)."""
        _register(self)
        weakref.finalize(self, _dead.append, [start for start, _ in self.ranges.values()])

    def runs_briefly(self, funcidx: int) -> bool:
        """Whether calls from Python may keep the GIL (see symbols.runs_briefly)."""
        brief = self._brief.get(funcidx)
        if brief is None:
            cm = self.module
            body = cm.module.funcs[funcidx - cm.num_imported_funcs].instrs
            brief = self._brief[funcidx] = runs_briefly(body)
        return brief

    def _read_stackmaps(self) -> tuple[dict[int, list[tuple[int, int]]], dict[int, int]]:
        got = self._stackmaps
        if got is None and self._sections is not None:
            got = self._stackmaps = read_stackmap_sections(self._sections)
        if got is None:
            sites: dict[int, list[tuple[int, int]]] = {}
            frames: dict[int, int] = {}
            for o in self._objects:
                s, f = read_stackmaps(o)
                sites.update(s)
                frames.update(f)
            got = self._stackmaps = (sites, frames)
        return got

    @property
    def call_sites(self) -> dict[int, list[tuple[int, int]]]:
        """Function index -> sorted [(offset after the call, pc of the call)]."""
        return self._read_stackmaps()[0]

    @property
    def frames(self) -> dict[int, int]:
        """Function index -> its frame size as compiled (see objfile)."""
        return self._read_stackmaps()[1]

    def call_site_pc(self, funcidx: int, offset: int) -> int:
        """The pc of the call whose return address is at ``offset`` in ``funcidx``."""
        sites = self.call_sites.get(funcidx)
        if not sites:
            return 0
        i = bisect.bisect_left(sites, (offset, -1))
        if i == len(sites):
            return sites[-1][1]
        return sites[i][1]

    def frame(self, funcidx: int, pc: int) -> Frame:
        """The backtrace frame of instruction ``pc`` of function ``funcidx`` (offsets
        as the interp tier reports them)."""
        key = (funcidx, pc)
        fr = self._frames.get(key)
        if fr is None:
            cm = self.module
            func = cm.module.funcs[funcidx - cm.num_imported_funcs]
            if func.body is None and func.lazy is not None:
                func.instrs  # noqa: B018 - decoding fills in the offsets
            offsets = func.offsets
            entry = entry_offset(func) if pc == ENTRY_PC else None
            if entry is not None:
                module_offset = entry
                func_offset = module_offset - func.code_offset
            elif offsets is not None and len(offsets):
                module_offset = offsets[min(max(pc, 0), len(offsets) - 1)]
                func_offset = module_offset - func.code_offset
            else:
                module_offset = func_offset = max(pc, 0)
            fr = Frame(funcidx, cm.func_name(funcidx), cm.name, func_offset, module_offset)
            self._frames[key] = fr
        return fr
