"""Fuel rules both tiers apply at translation time (docs/fuel.md, section 3)."""

from __future__ import annotations

from typing import Any

from ..syntax.module import Module


def known_operand(module: Module, body: Any, pc: int) -> int | None:
    """The last operand of instruction ``pc`` of ``body`` when wasmtime knows it at
    compile time: a ``const`` right before, or a ``global.get`` of an immutable global
    of this module initialised by a ``const`` (wasmtime folds those). Else None.

    Bulk operations and grows with such a small length are charged without a check.
    """
    if pc == 0:
        return None
    prev = body[pc - 1]
    name = prev[0].name
    if name in ("i32.const", "i64.const"):
        return int(prev[1])
    if name == "global.get":
        g = prev[1] - sum(1 for i in module.imports if i.kind == "global")
        if 0 <= g < len(module.globals) and not module.globals[g].type.mutable:
            init = module.globals[g].init
            if len(init) == 1 and init[0][0].name in ("i32.const", "i64.const"):
                return int(init[0][1])
    return None
