"""Names and layouts that both code generation and loading need.

Kept apart from the IR generator so that loading cached or AOT-compiled code never
imports it: a process that finds its code in the cache does no IR work at all.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..syntax.module import Module
from ..syntax.types import FuncType
from . import abi
from .irgen.types import Shape, native_shape, shape_name


def func_symbol(f: int) -> str:
    """The symbol of defined function ``f``."""
    return f"w_f{f}"


def entry_symbol(shape: Shape) -> str:
    return f"w_entry_{shape_name(shape)}"


def held_entry_symbol(shape: Shape) -> str:
    """The entry that keeps the GIL (for functions that run in bounded time)."""
    return f"w_entry_held_{shape_name(shape)}"


def host_symbol(shape: Shape) -> str:
    return f"w_host_{shape_name(shape)}"


def vm_layout(module: Module) -> abi.VMLayout:
    """The vmctx layout of instances of ``module``. Counts the imports and the
    definitions of each kind without listing them: asked once per loaded unit,
    and listing CPython-for-WASI's 89,000 function types each time was most of a
    warm start's unit loading."""
    imported = Counter(i.kind for i in module.imports)
    return abi.VMLayout(
        memories=imported["memory"] + len(module.memories),
        tables=imported["table"] + len(module.tables),
        globals=imported["global"] + len(module.globals),
        funcs=imported["func"] + len(module.funcs),
        types=len(module.deftypes), datas=len(module.datas),
        tags=imported["tag"] + len(module.tags),
    )  # fmt: skip


BOUNDED_FREE = frozenset({
    "loop", "call", "call_indirect", "call_ref", "return_call", "return_call_indirect",
    "return_call_ref", "memory.grow", "memory.fill", "memory.copy", "memory.init",
    "table.grow", "table.fill", "table.copy", "table.init",
})  # fmt: skip
"""Instructions that can make a function run for long (or call out)."""


def runs_briefly(body: list[Any]) -> bool:
    """Whether a function body runs in bounded, short time: straight-line code and
    forward branches only (no loops, calls or bulk operations)."""
    return not any(ins[0].name in BOUNDED_FREE for ins in body)


def module_shapes(module: Module) -> list[Shape]:
    """Entry shapes of every function type the module defines (it has an entry
    trampoline for each, and a host thunk for each one's native shape)."""
    from .refs import py_shape

    out: dict[Shape, None] = {}
    for st in module.deftypes:
        if isinstance(st.comp, FuncType):
            out[py_shape(st.comp, module)] = None
    return list(out)


def thunk_shapes(shapes: list[Shape]) -> list[Shape]:
    """The native shapes of entry ``shapes`` (each once)."""
    return list(dict.fromkeys(native_shape(s) for s in shapes))
