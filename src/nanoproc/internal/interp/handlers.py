"""Functions whose exception handlers nest deeply: translated at instantiation.

A handler (``try_table``, legacy ``try``) becomes a Python ``try`` statement, and
CPython allows at most 20 statically nested blocks. The flat lowering (see
:mod:`.flat`) cuts any other construct into dispatch states, but not a handler, so a
function with handlers nested about 20 deep cannot be translated. Functions are
translated lazily, at their first call, when earlier code of the same export may
have run; the ones this scan finds are translated when the module is instantiated
instead, so a refusal (UnsupportedFeature) happens before anything runs (the tiered
strategy then runs the module natively).
"""

from __future__ import annotations

from itertools import chain
from operator import itemgetter

from ..syntax.module import Module
from ..syntax.ops import BY_NAME

EAGER_DEPTH = 4
"""Handler nesting above which a function is translated at instantiation (below
where translation fails, so the scan need not know the translator's exact limits:
measured, 10 nested try_tables fail, 9 translate; each may take two Python blocks)."""

HANDLERS = frozenset({BY_NAME["try_table"], BY_NAME["try"]})
OPENERS = frozenset({BY_NAME["block"], BY_NAME["loop"], BY_NAME["if"]})
CLOSERS = frozenset({BY_NAME["end"], BY_NAME["delegate"]})


def deep_handler_functions(module: Module) -> list[int]:
    """Indices of defined functions whose handlers nest deeper than EAGER_DEPTH."""
    first = itemgetter(0)
    risky = [BY_NAME["try_table"], BY_NAME["try"]]
    # Fast path (loops in C): nesting needs that many handlers at all, in the module
    # and then in the function.
    ops = list(map(first, chain.from_iterable(f.instrs for f in module.funcs)))
    if sum(map(ops.count, risky)) <= EAGER_DEPTH:
        return []
    out = []
    for k, func in enumerate(module.funcs):
        ops = list(map(first, func.instrs))
        if sum(map(ops.count, risky)) > EAGER_DEPTH and _handler_depth(func.instrs) > EAGER_DEPTH:
            out.append(module.num_imported_funcs + k)
    return out


def _handler_depth(instrs: list) -> int:  # type: ignore[type-arg]
    """The deepest nesting of handlers in a function body."""
    stack: list[bool] = []
    depth = deepest = 0
    for ins in instrs:
        op = ins[0]
        if op in HANDLERS:
            stack.append(True)
            depth += 1
            deepest = max(deepest, depth)
        elif op in OPENERS:
            stack.append(False)
        elif op in CLOSERS and stack and stack.pop():
            depth -= 1
    return deepest
