"""Symbolic operand-stack entries: Python expressions waiting to be evaluated.

The translator keeps the Wasm operand stack at translation time as a list of
:class:`Val`. An entry is Python source for the value plus what is needed to decide
whether its evaluation may be deferred to where it is consumed (so that
``local.get 0; local.get 1; i32.add`` becomes ``(l0 + l1)`` inline) or must be
materialised into a temporary first: which Python variables it reads, whether it
reads mutable Wasm state (memory, globals, tables) and whether it may trap.

Integers may be *inexact*: congruent to the Wasm value modulo 2**width but not
reduced (``l0 + l1`` before masking). Consumers that need the canonical value mask
it; wrap-insensitive ones (add, sub, mul, and, or, xor, shl) do not, which saves
most masks in address arithmetic and hash mixing.
"""

from __future__ import annotations

from typing import Any

NO_SLOT = -1
"""``Val.maxslot`` when the entry reads no block-result slot variable."""


class Val:
    """One symbolic stack entry."""

    __slots__ = (
        "code", "locals", "maxslot", "state", "trap", "exact", "width", "bits",
        "simple", "const", "depth", "isbool", "pc",
    )  # fmt: skip

    def __init__(
        self,
        code: str,
        *,
        locals: frozenset[int] = frozenset(),
        maxslot: int = NO_SLOT,
        state: bool = False,
        trap: bool = False,
        exact: bool = True,
        width: int = 0,
        bits: int = 64,
        simple: bool = False,
        const: Any = None,
        depth: int = 0,
        isbool: bool = False,
        pc: int = -1,
    ) -> None:
        self.code = code
        self.locals = locals
        """Wasm local indices read by the expression."""
        self.maxslot = maxslot
        """Highest block-result slot height (``s<h>``) the expression reads: a block
        whose results go to slots from height h up invalidates it when h <= maxslot."""
        self.state = state
        """Reads memory, a mutable global or a table."""
        self.trap = trap
        """May raise (a trap) when evaluated."""
        self.exact = exact
        """For integers: already reduced to the canonical unsigned range."""
        self.width = width
        """Bit width of an integer entry (32 or 64; 0 when not known to be one)."""
        self.bits = bits
        """For inexact integers: a bound on the bit length of the magnitude."""
        self.simple = simple
        """A name or a literal: free to evaluate more than once."""
        self.const = const
        """The Python value when the entry is a constant, else None."""
        self.depth = depth
        """Nesting depth of the expression (bounded to keep the compiler happy)."""
        self.isbool = isbool
        """A Python bool (comparison result): usable directly as a condition."""
        self.pc = pc
        """Index of the first instruction in the expression that may trap."""

    def __repr__(self) -> str:
        return f"Val({self.code!r})"

    @property
    def pure(self) -> bool:
        """Free of reads of anything that can change and of traps."""
        return not (self.locals or self.state or self.trap) and self.maxslot == NO_SLOT


EMPTY: frozenset[int] = frozenset()
_new = object.__new__


def const_val(code: str, value: object, bits: int = 64) -> Val:
    return Val(code, simple=True, const=value, bits=bits)


def simple_val(code: str, locals: frozenset[int], maxslot: int, exact: bool, width: int,
               bits: int, const: Any, isbool: bool) -> Val:
    """``Val(code, simple=True, ...)`` without keyword arguments (the translator makes
    one per operand: keyword matching was a tenth of its time)."""
    v = _new(Val)
    v.code = code
    v.locals = locals
    v.maxslot = maxslot
    v.state = False
    v.trap = False
    v.exact = exact
    v.width = width
    v.bits = bits
    v.simple = True
    v.const = const
    v.depth = 0
    v.isbool = isbool
    v.pc = -1
    return v


def name_val(name: str, *, local: int | None = None, slot: int | None = None) -> Val:
    """A read of a Python variable (local, slot or temporary)."""
    return simple_val(name, frozenset((local,)) if local is not None else EMPTY,
                      slot if slot is not None else NO_SLOT, True, 0, 64, None, False)


def combine(code: str, *parts: Val, exact: bool = True, width: int = 0, bits: int = 64,
            isbool: bool = False, simple: bool = False, const: Any = None,
            depth: int | None = None) -> Val:
    """A compound expression over ``parts``: unions their dependencies.

    (The translator's hottest constructor: attributes are set directly.)"""
    locs = EMPTY
    maxslot = NO_SLOT
    state = trap = False
    deepest = 0
    pc = -1
    for p in parts:
        pl = p.locals
        if pl:
            locs = locs | pl if locs else pl
        if p.maxslot > maxslot:
            maxslot = p.maxslot
        if p.state:
            state = True
        if p.trap and not trap:
            trap = True
            pc = p.pc
        if p.depth > deepest:
            deepest = p.depth
    v = _new(Val)
    v.code = code
    v.locals = locs
    v.maxslot = maxslot
    v.state = state
    v.trap = trap
    v.exact = exact
    v.width = width
    v.bits = bits
    v.simple = simple
    v.const = const
    v.depth = deepest + 1 if depth is None else depth
    v.isbool = isbool
    v.pc = pc
    return v
