"""Which modules the tiered strategy keeps on the interp tier for good: those whose
every call does a small, bounded amount of work.

A function with no ``loop``, no call of a function of its own module, no indirect
or reference call and at most MAX_INSTRS instructions runs each of them at most once
per call: the interp tier's cost per call is then bounded by a few microseconds,
about what a call into native code costs from Python (the ctypes entry, the
argument block). Native code cannot repay itself on such a module, while its
per-instance cost does not go away (a native store context, a vmctx, function
records, cells for memories and globals, entry trampolines: about 60 us for a
component's two small core modules, against about 10 us for the interp tier).
Typical cases are the small core modules of components (adapters, a bump
allocator's ``realloc``, shims) instantiated once per request.

Calls of imported functions are allowed: an import is a host function or a
function of another instance, which runs on its own module's tier. The other way
round, native code of another module calling a bounded module's functions often
(CROSSINGS calls) makes it tier up as any module does. SIMD and atomic
instructions are not (the interp tier emulates their lanes in Python, each one
costing microseconds), nor are GC types (see ``declares_gc_types``: such a module
runs natively from the start).
"""

from __future__ import annotations

import os
from typing import Any

from ..syntax.ops import BY_NAME

MAX_INSTRS = 64
"""Instructions a function may have, at most."""

MAX_FUNCS = 64
"""Defined functions a module may have, at most (bounds the scan)."""

MAX_BODY_BYTES = 2048
"""A function body this long in the binary is not decoded to be counted: it cannot
hold at most MAX_INSTRS instructions of the kinds allowed, save for a huge local
declaration or constant (a warm start that runs native code would pay for decoding
a big body in Python otherwise)."""

CROSSINGS = 10_000
"""Calls from native code into a bounded module's functions after which it tiers up
as any module does (a hot loop of native code calling a brief function would
otherwise cross into Python each time)."""

ENABLED = os.environ.get("NANOPROC_TIER_BOUNDED", "1") != "0"
"""``NANOPROC_TIER_BOUNDED=0`` turns the policy off (every module may tier up)."""

_UNBOUNDED = frozenset(BY_NAME[n] for n in (
    "loop", "call_indirect", "return_call_indirect", "call_ref", "return_call_ref"))
_CALLS = frozenset(BY_NAME[n] for n in ("call", "return_call"))
_PREFIXES = (None, 0xFC)
"""Single-byte opcodes and the 0xFC group (saturating truncations, bulk memory and
table operations, which the interp tier does with slice operations)."""


def bounded(module: Any) -> bool:
    """Whether every call of every function of compiled ``module`` runs a small
    bounded number of instructions (cached in ``module.artifacts``)."""
    got = module.artifacts.get("bounded")
    if got is None:
        got = module.artifacts["bounded"] = _scan(module)
    return bool(got)


def _scan(module: Any) -> bool:
    from ..exec.gctypes import declares_gc_types

    m = module.module
    if len(m.funcs) > MAX_FUNCS or declares_gc_types(module):
        return False
    nimp = module.num_imported_funcs
    funcs = m.funcs
    end = len(module.binary) if module.binary is not None else 0
    for i in range(len(funcs) - 1, -1, -1):  # sizes from the next body's offset
        start = funcs[i].code_offset
        if start and end and end - start > MAX_BODY_BYTES:
            return False
        end = start
    for f in funcs:
        body = f.instrs
        if len(body) > MAX_INSTRS:
            return False
        for ins in body:
            op = ins[0]
            if op in _UNBOUNDED or op.prefix not in _PREFIXES:
                return False
            if op in _CALLS and ins[1] >= nimp:
                return False
    return True
