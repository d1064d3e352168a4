"""Names and layouts that both code generation and loading need.

Kept apart from the IR generator so that loading cached or AOT-compiled code never
imports it: a process that finds its code in the cache does no IR work at all.
"""

from __future__ import annotations

from ..syntax.module import Module
from ..syntax.types import FuncType
from . import abi
from .irgen.types import Shape, shape_name, shape_of


def func_symbol(f: int) -> str:
    """The symbol of defined function ``f``."""
    return f"w_f{f}"


def entry_symbol(shape: Shape) -> str:
    return f"w_entry_{shape_name(shape)}"


def host_symbol(shape: Shape) -> str:
    return f"w_host_{shape_name(shape)}"


def vm_layout(module: Module) -> abi.VMLayout:
    """The vmctx layout of instances of ``module``."""
    return abi.VMLayout(
        memories=len(module.memory_types()), tables=len(module.table_types()),
        globals=len(module.global_types()), funcs=len(module.func_typeidxs()),
        types=len(module.deftypes), datas=len(module.datas),
    )  # fmt: skip


def module_shapes(module: Module) -> list[Shape]:
    """Shapes of every function type the module defines (it has an entry trampoline
    and a host thunk for each)."""
    out: dict[Shape, None] = {}
    for st in module.deftypes:
        if isinstance(st.comp, FuncType):
            out[shape_of(st.comp)] = None
    return list(out)
