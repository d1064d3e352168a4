"""A partial unit's object code (IR generation and LLVM), from the module's syntax tree.

One function for both places a unit is compiled: a compile worker process (task
``unit`` of ..workers, which decodes the module itself from its bytes) and, where no
worker can be had, the tier-up thread of the program's process. The code is then the
same either way. Nothing here links or loads code (see .units); nothing here needs a
CompiledModule, which a worker does not have.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..syntax.module import Module
from ..syntax.types import FuncType

if TYPE_CHECKING:
    from .irgen.module import Partition
    from .options import CodeOptions

REFS = b"refs:"
"""The last item of a unit's cache entry: its outside references (see
:func:`refs_of`), so that loading it decodes no body (a warm CPython process loads 70
units at its first instance)."""

_CALLS = frozenset({"call", "return_call"})

PART_SIZE = 5_000
"""Instructions per partition of a unit's heavy functions. Each partition is an LLVM
module of its own, compiled (and cached, see units.compile_unit_objects) on its own:
a unit that takes longer to compile than a short program runs is then finished over
several runs (the next run makes the unit left unfinished first, see
tiered/units.note_pending). Calls between a unit's partitions stay direct (the
linker resolves them); only inlining across them is lost."""


def refs_of(module: Module, nimp: int, funcs: Iterable[int]) -> set[int]:
    """Functions whose vmctx slot the code of ``funcs`` reads: the targets of their
    calls (imports too) and of their ``ref.func``s."""
    out: set[int] = set()
    for f in funcs:
        for ins in module.funcs[f - nimp].instrs:
            name = ins[0].name
            if name in _CALLS or name == "ref.func":
                out.add(ins[1])
    return out


def partition_object(module: Module, func_types: list[FuncType], part: Partition,
                     options: CodeOptions, unit: frozenset[int] | None = None) -> bytes:
    """Object code of ``part``; ``unit``: the functions of a partial unit, whose calls
    to other functions go through their FuncRecords."""
    from . import jit
    from .irgen.module import ModuleInfo, partition_text

    target = jit.host_target()
    info = ModuleInfo(module, func_types, options.opt_level, options.fuel, options.epochs,
                      options.interrupts, unit)
    text = partition_text(info, part, target.triple, target.datalayout)
    return jit.compile_ir(text, options.opt_level)


def unit_parts(module: Module, nimp: int, funcs: list[int]) -> list[Partition]:
    """The partitions of the unit of ``funcs`` (sorted defined function indices): its
    heavy functions in order, ``PART_SIZE`` instructions at most each (a bigger
    function alone), then each function for LLVM's light pipeline alone (as the
    whole-module partitioner does)."""
    from .irgen.function import light_function
    from .irgen.module import Partition

    light = [f for f in funcs if light_function(module.funcs[f - nimp].instrs)]
    alone = set(light)
    parts: list[Partition] = []
    current: list[int] = []
    size = 0
    for f in funcs:
        if f in alone:
            continue
        n = len(module.funcs[f - nimp].instrs) + 1
        if current and size + n > PART_SIZE:
            parts.append(Partition(len(parts), current, False))
            current, size = [], 0
        current.append(f)
        size += n
    if current:
        parts.append(Partition(len(parts), current, False))
    return parts + [Partition(len(parts) + i, [f], False) for i, f in enumerate(light)]


def refs_item(module: Module, nimp: int, funcs: list[int]) -> bytes:
    """The ``REFS`` item of the unit of ``funcs``."""
    return REFS + ",".join(map(str, sorted(refs_of(module, nimp, funcs)))).encode()


def unit_code(module: Module, func_types: list[FuncType], funcs: list[int],
              options: CodeOptions) -> list[bytes]:
    """The cache entry of the unit of ``funcs`` (sorted defined function indices): the
    objects of its partitions (``unit_parts``), then the ``REFS`` item. (A unit
    compiled partition by partition, as units.compile_unit_objects does, has the
    same entry.)"""
    nimp = len(func_types) - len(module.funcs)
    unit = frozenset(funcs)
    objects = [partition_object(module, func_types, part, options, unit)
               for part in unit_parts(module, nimp, funcs)]  # fmt: skip
    objects.append(refs_item(module, nimp, funcs))
    return objects
