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


def unit_code(module: Module, func_types: list[FuncType], funcs: list[int],
              options: CodeOptions) -> list[bytes]:
    """The cache entry of the unit of ``funcs`` (sorted defined function indices): its
    objects (the functions for LLVM's light pipeline each alone, as the whole-module
    partitioner does), then the ``REFS`` item."""
    from .irgen.function import light_function
    from .irgen.module import Partition

    nimp = len(func_types) - len(module.funcs)
    unit = frozenset(funcs)
    light = [f for f in funcs if light_function(module.funcs[f - nimp].instrs)]
    alone = set(light)
    heavy = [f for f in funcs if f not in alone]
    parts = [Partition(0, heavy, False)] if heavy else []
    parts += [Partition(len(parts) + i, [f], False) for i, f in enumerate(light)]
    objects = [partition_object(module, func_types, part, options, unit) for part in parts]
    objects.append(REFS + ",".join(map(str, sorted(refs_of(module, nimp, funcs)))).encode())
    return objects
