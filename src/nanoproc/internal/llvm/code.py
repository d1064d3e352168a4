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

from ..exec.trap import Frame
from . import jit
from .irgen.types import Shape
from .objfile import read_object
from .symbols import (
    entry_symbol,
    func_symbol,
    held_entry_symbol,
    host_symbol,
    runs_briefly,
    vm_layout,
)

if TYPE_CHECKING:
    from ..exec.compiled import CompiledModule

_map_lock = threading.Lock()
_starts: list[int] = []
_ranges: list[tuple[int, int, LoadedCode, int]] = []
"""Sorted by start: (start, end, code, funcidx)."""


def _register(code: LoadedCode) -> None:
    with _map_lock:
        for f, (start, size) in code.ranges.items():
            i = bisect.bisect_left(_starts, start)
            _starts.insert(i, start)
            _ranges.insert(i, (start, start + size, code, f))


def _unregister(starts: list[int]) -> None:
    with _map_lock:
        for start in starts:
            i = bisect.bisect_left(_starts, start)
            if i < len(_starts) and _starts[i] == start:
                del _starts[i]
                del _ranges[i]


def lookup(address: int) -> tuple[LoadedCode, int, int] | None:
    """(code, funcidx, offset in the function) of a code address inside a Wasm function."""
    with _map_lock:
        i = bisect.bisect_right(_starts, address) - 1
        if i < 0:
            return None
        start, end, code, f = _ranges[i]
    if start <= address < end:
        return code, f, address - start
    return None


class LoadedCode:
    """Linked code of one module: function, entry and thunk addresses, frame info."""

    def __init__(self, module: CompiledModule, objects: list[bytes], shapes: list[Shape]) -> None:
        self.module = module
        self.layout = vm_layout(module.module)
        nimp = module.num_imported_funcs
        nfuncs = len(module.func_types)
        infos = [read_object(o) for o in objects]
        fsyms = {f: func_symbol(f) for f in range(nimp, nfuncs)}
        symbols = list(fsyms.values())
        symbols += [entry_symbol(s) for s in shapes] + [host_symbol(s) for s in shapes]
        symbols += [held_entry_symbol(s) for s in shapes]
        self.library = jit.link(objects, symbols)
        addr = self.library.addresses
        self.func_addr = {f: addr[s] for f, s in fsyms.items()}
        self.entries = {s: addr[entry_symbol(s)] for s in shapes}
        self.held_entries = {s: addr[held_entry_symbol(s)] for s in shapes}
        self.thunks = {s: addr[host_symbol(s)] for s in shapes}
        sizes: dict[str, int] = {}
        self.call_sites: dict[int, list[tuple[int, int]]] = {}
        for info in infos:
            sizes.update(info.sizes)
            self.call_sites.update(info.call_sites)
        self.ranges = {f: (self.func_addr[f], sizes.get(s, 1)) for f, s in fsyms.items()}
        self._frames: dict[tuple[int, int], Frame] = {}
        self._brief: dict[int, bool] = {}
        _register(self)
        weakref.finalize(self, _unregister, [start for start, _ in self.ranges.values()])

    def runs_briefly(self, funcidx: int) -> bool:
        """Whether calls from Python may keep the GIL (see symbols.runs_briefly)."""
        brief = self._brief.get(funcidx)
        if brief is None:
            cm = self.module
            body = cm.module.funcs[funcidx - cm.num_imported_funcs].instrs
            brief = self._brief[funcidx] = runs_briefly(body)
        return brief

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
            if offsets is not None and len(offsets):
                module_offset = offsets[min(max(pc, 0), len(offsets) - 1)]
                func_offset = module_offset - func.code_offset
            else:
                module_offset = func_offset = max(pc, 0)
            fr = Frame(funcidx, cm.func_name(funcidx), cm.name, func_offset, module_offset)
            self._frames[key] = fr
        return fr
