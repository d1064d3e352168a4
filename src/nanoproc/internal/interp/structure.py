"""Control-flow analysis of one function body, done before emitting Python.

Python has no goto, so the translator lowers Wasm's structured control flow to
``while True:`` loops with ``break``/``continue``. This pass decides, for every
block, loop and if, how its label is implemented:

``none``      nothing branches to it except branches in *tail position* (the last
              instruction of a chain of constructs ending together with the
              target), which simply fall through: no Python construct at all.
``wrap``      its own ``while True:`` loop (``break`` exits a block, ``continue``
              restarts a loop).
``delegate``  a block whose last instruction is a wrapped construct containing every
              branch to it: ``break`` out of that construct's loop lands on the
              block's end, so the block needs no loop of its own (the usual
              ``block $exit (loop $continue ...))`` shape of compiled loops).
``switch``    a case block of a recognised switch (nested blocks ending in one
              ``br_table``, each case ending in a jump): the br_table becomes a
              binary search whose leaves hold the case code.
``chain``     a block on a long spine of nested blocks, in a function whose loops
              would otherwise nest deeper than CPython allows (20): the spine is
              flattened into a sequence of guarded pieces (see :class:`Chain`).
``flat``      in a function that nests deeper than CPython allows even so (the
              translator's second attempt): a block, loop or if whose code is split
              into states of one dispatch loop (see :mod:`.flat`).

It also records, per construct, the locals it writes and whether it has side effects
or may trap, which tells the translator which pending operand expressions must be
materialised before entering it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from ..syntax.module import Instr
from ..syntax.ops import Op
from ..syntax.types import FuncType

# Instructions after which the rest of the enclosing block is unreachable.
UNCONDITIONAL = frozenset({
    "br", "br_table", "return", "unreachable", "return_call", "return_call_indirect",
    "return_call_ref", "throw", "throw_ref", "rethrow",
})  # fmt: skip

# Instructions with effects visible outside the function's locals.
EFFECTS = frozenset({
    "call", "call_indirect", "call_ref", "return_call", "return_call_indirect",
    "return_call_ref", "global.set", "table.set", "table.grow", "table.fill", "table.copy",
    "table.init", "elem.drop", "memory.grow", "memory.fill", "memory.copy", "memory.init",
    "data.drop", "throw", "throw_ref", "rethrow",
    "struct.set", "array.set", "array.fill", "array.copy", "array.init_data", "array.init_elem",
})  # fmt: skip

# Instructions that may trap besides loads/stores (rule "memarg").
TRAPPING = frozenset({
    "unreachable", "call", "call_indirect", "call_ref", "return_call",
    "return_call_indirect", "return_call_ref", "table.get", "table.set", "table.fill",
    "table.copy", "table.init", "memory.fill", "memory.copy", "memory.init",
    "i32.div_s", "i32.div_u", "i32.rem_s", "i32.rem_u",
    "i64.div_s", "i64.div_u", "i64.rem_s", "i64.rem_u",
    "i32.trunc_f32_s", "i32.trunc_f32_u", "i32.trunc_f64_s", "i32.trunc_f64_u",
    "i64.trunc_f32_s", "i64.trunc_f32_u", "i64.trunc_f64_s", "i64.trunc_f64_u",
    "ref.as_non_null", "throw", "throw_ref", "rethrow", "memory.grow", "table.grow",
    "struct.get", "struct.get_s", "struct.get_u", "struct.set", "array.new", "array.new_default",
    "array.new_data", "array.new_elem", "array.get", "array.get_s", "array.get_u", "array.set",
    "array.len", "array.fill", "array.copy", "array.init_data", "array.init_elem",
    "i31.get_s", "i31.get_u", "ref.cast",
})  # fmt: skip

BRANCHES = frozenset({"br", "br_if", "br_table", "br_on_null", "br_on_non_null",
                      "br_on_cast", "br_on_cast_fail"})


_NOTED = frozenset({"block", "loop", "if", "try_table", "try", "else", "catch", "catch_all",
                    "delegate", "end", "local.set", "local.tee"}) | EFFECTS | TRAPPING | BRANCHES
"""What :meth:`Structure._scan` notes besides the enclosing construct."""

_PLAIN: dict[Op, bool] = {}
"""Operator -> whether the scan notes nothing about it but its enclosing construct
(most instructions: the test is made once per operator, not per instruction)."""


def _is_plain(op: Op) -> bool:
    return op.name not in _NOTED and op.rule != "memarg"


@dataclass(eq=False)
class Construct:
    """A block, loop, if, or the function body itself (kind ``func``)."""

    kind: str
    start: int
    """Index of the block/loop/if instruction (-1 for the function)."""
    end: int
    """Index of the matching ``end`` (len(body) for the function)."""
    nparams: int
    nresults: int
    parent: Construct | None
    else_: int | None = None
    depth: int = 0
    """Nesting depth (the function is 0)."""
    sources: list[tuple[int, bool]] = field(default_factory=list)
    """Branches to this label: (instruction index, in tail position)."""
    impl: str = "none"
    delegate: Construct | None = None
    writes: set[int] = field(default_factory=set)
    effects: bool = False
    may_trap: bool = False
    switch: Switch | None = None
    """For the outermost block of a recognised switch: its description."""
    chain: Chain | None = None
    """For a block flattened into a chain: the chain (B0 holds it too)."""
    children: list[Construct] = field(default_factory=list)
    handlers_at: int | None = None
    """For a legacy try: index of its first catch/catch_all once the scan passed it."""

    @property
    def targeted(self) -> bool:
        return bool(self.sources)

    @property
    def nontail_sources(self) -> list[int]:
        return [pc for pc, tail in self.sources if not tail]

    def contains(self, pc: int) -> bool:
        return self.start < pc < self.end

    def impl_construct(self) -> Construct:
        """The construct whose Python loop implements this label (wrap/delegate)."""
        c = self
        while c.impl == "delegate":
            assert c.delegate is not None
            c = c.delegate
        return c


@dataclass(eq=False)
class Switch:
    """Nested blocks ``B0 ⊃ B1 ⊃ ... ⊃ Bn`` whose innermost body ends in a br_table."""

    blocks: list[Construct]
    """B0 .. Bn (outermost first)."""
    br_table: int
    """Index of the br_table instruction (the last instruction of Bn's body)."""

    def segment(self, k: int) -> tuple[int, int]:
        """Instruction range of the code that follows the end of ``B_k`` (k >= 1)."""
        return self.blocks[k].end + 1, self.blocks[k - 1].end


@dataclass(eq=False)
class Piece:
    """A stretch of a chain's code: ``pre`` (before B[k+1] in B[k]), ``inner`` (the
    body of Bn) or ``post`` (after the end of B[k], in B[k-1])."""

    kind: str
    k: int
    lo: int
    hi: int
    open: int
    """How many chain blocks enclose the piece (B0 .. B[open-1])."""
    wrap: bool = False
    """Needs its own ``while True:`` (a branch in it must skip the rest of it)."""
    guard: bool = False
    """Runs only under a test of the chain's state variable."""


@dataclass(eq=False)
class Chain:
    """Blocks ``B0 ⊃ B1 ⊃ ... ⊃ Bn`` (each inside the previous one), none with params or
    results, emitted as one flat sequence of pieces: the pre-pieces, Bn's body, then
    the code after each end, innermost first. A variable holds the index of the block
    a branch left for (n + 1: none yet); a piece after the end of B[k] runs when it
    is >= k, a pre-piece when no branch happened yet."""

    blocks: list[Construct]
    pieces: list[Piece]
    ident: int


CHAIN_MIN = 3
"""Fewest blocks worth flattening into a chain."""
MAX_WRAPPED_DEPTH = 17
"""Loops nested deeper than this (plus a few the translator may add) trigger chains."""


class Structure:
    """The result of analysing one function body."""

    def __init__(
        self,
        body: list[Instr],
        ftype: FuncType,
        block_arity: Callable[[object], tuple[int, int]],
        no_chain: frozenset[int] = frozenset(),
        flat_height: int | None = None,
    ) -> None:
        self.body = body
        self.no_chain = no_chain
        """Blocks (start indices) that must not be flattened into a chain: the
        translator found operands pending under them (see ChainUnsafe)."""
        self.func = Construct("func", -1, len(body), 0, len(ftype.results), None)
        self.at: dict[int, Construct] = {}
        """Start index (block/loop/if) -> its construct."""
        self.enclosing: list[Construct] = [self.func] * len(body)
        """Instruction index -> innermost construct whose body contains it."""
        self.tail_ok: set[tuple[int, int]] = set()
        """(branch index, target start) pairs to lower as a fall-through."""
        self.max_depth = 0
        self.tail_calls: list[int] = []
        """Indices of return_call* instructions."""
        self.delegates: dict[int, Construct | None] = {}
        """Legacy ``try ... delegate``: try start -> the construct whose handler gets
        its exceptions (None: the caller's)."""
        self.flat = 0
        """How many constructs are ``flat`` (see :mod:`.flat`)."""
        self.flat_handlers = 0
        """How many of them are handlers (try_table, try; see :mod:`.flat_exc`)."""
        self._scan(block_arity)
        if flat_height is not None:
            self._mark_flat(flat_height)
        self._find_switches()
        self._decide()
        if flat_height is None and self._wrapped_depth() > MAX_WRAPPED_DEPTH:
            self._find_chains()
            self._decide()

    # ------------------------------------------------------------ scanning
    def _scan(self, block_arity: Callable[[object], tuple[int, int]]) -> None:
        body = self.body
        stack: list[Construct] = [self.func]
        constructs: list[Construct] = []
        enclosing = self.enclosing
        plain = _PLAIN
        for i, ins in enumerate(body):
            op = ins[0]
            cur = stack[-1]
            enclosing[i] = cur
            p = plain.get(op)
            if p is None:
                p = plain[op] = _is_plain(op)
            if p:
                continue
            name = op.name
            if name in ("block", "loop", "if", "try_table", "try"):
                np_, nr = block_arity(ins[1])
                if name == "try_table":
                    # catch labels count from outside the try_table
                    for cat in ins[2]:
                        stack[-1 - cat.label].sources.append((i, False))
                c = Construct(name, i, -1, np_, nr, cur, depth=len(stack))
                cur.children.append(c)
                if c.depth > self.max_depth:
                    self.max_depth = c.depth
                self.at[i] = c
                constructs.append(c)
                stack.append(c)
                continue
            if name == "else":
                cur.else_ = i
                continue
            if name in ("catch", "catch_all"):
                cur.handlers_at = i
                continue
            if name == "delegate":
                self.delegates[cur.start] = _delegate_target(stack[:-1], ins[1])
            if name in ("end", "delegate"):
                if len(stack) > 1:
                    cur.end = i
                    stack.pop()
                    parent = stack[-1]
                    parent.writes |= cur.writes
                    parent.effects = parent.effects or cur.effects
                    parent.may_trap = parent.may_trap or cur.may_trap
                continue
            if name in ("local.set", "local.tee"):
                cur.writes.add(ins[1])
            elif name in EFFECTS:
                cur.effects = True
                if name.startswith("return_call"):
                    self.tail_calls.append(i)
            rule = ins[0].rule
            if name in TRAPPING or rule == "memarg":
                cur.may_trap = True
            if rule == "memarg" and ins[0].results == ():
                cur.effects = True  # stores
            if name in BRANCHES:
                if name == "br_table":
                    labels = set(ins[1]) | {ins[2]}
                elif name.startswith("br_on_cast"):
                    labels = {ins[1][0]}
                else:
                    labels = {ins[1]}
                for depth in labels:
                    stack[-1 - depth].sources.append((i, False))
        self.constructs = constructs
        self.by_end: dict[int, Construct] = {c.end: c for c in constructs}

    # ------------------------------------------------------------ flat constructs
    def _mark_flat(self, height_limit: int) -> None:
        """Mark ``flat`` every construct whose subtree nests deeper than
        ``height_limit`` and whose enclosing constructs are all flat (a construct
        kept as Python code cannot hold states). Flat handlers (try_table, try) are
        regions of states (see :mod:`.flat_exc`)."""
        height: dict[int, int] = {}
        for c in reversed(self.constructs):  # children before their parents
            height[c.start] = 1 + max((height[x.start] for x in c.children), default=0)
        for c in self.constructs:  # parents before their children
            parent = c.parent
            if height[c.start] > height_limit and (
                    parent is None or parent.kind == "func" or parent.impl == "flat"):
                c.impl = "flat"
                self.flat += 1
                if c.kind in ("try_table", "try"):
                    self.flat_handlers += 1

    # ------------------------------------------------------------ tails
    def _chain_is_tail(self, pc: int, target: Construct) -> bool:
        x = self.enclosing[pc]
        pos = pc
        while True:
            if pos + 1 != x.end and pos + 1 != x.else_:
                return False
            if pos + 1 == x.end and x.start in self.delegates:
                return False  # falling through ``delegate`` costs fuel, a branch does not
            if x is target:
                return True
            if x.nresults != target.nresults or x.kind == "func":
                return False
            pos = x.end
            parent = x.parent
            assert parent is not None
            x = parent

    # ------------------------------------------------------------ switches
    def _find_switches(self) -> None:
        body = self.body
        used: set[int] = set()
        for c in self.constructs:
            if (c.kind != "block" or c.nparams or c.nresults or c.start in used
                    or c.impl == "flat"):
                continue
            last = c.end - 1
            if last <= c.start or body[last][0].name != "br_table":
                continue
            if self.enclosing[last] is not c:
                continue
            # c is Bn; walk outwards while each block is the first instruction of its
            # parent block.
            chain = [c]
            while True:
                inner = chain[-1]
                parent = inner.parent
                if (
                    parent is None
                    or parent.kind != "block"
                    or parent.impl == "flat"
                    or parent.nparams
                    or parent.nresults
                    or parent.start + 1 != inner.start
                    or parent.start in used
                ):
                    break
                chain.append(parent)
            if len(chain) < 2:
                continue
            chain.reverse()  # B0 .. Bn
            sw = Switch(chain, last)
            if self._switch_is_clean(sw):
                used.update(b.start for b in chain)
                chain[0].switch = sw
                for b in chain[1:]:
                    b.impl = "switch"

    def _switch_is_clean(self, sw: Switch) -> bool:
        body = self.body
        blocks = sw.blocks
        for b in blocks[1:]:
            if any(pc != sw.br_table for pc, _ in b.sources):
                return False
        n = len(blocks) - 1
        for k in range(1, n + 1):
            lo, hi = sw.segment(k)
            if k == 1:
                continue  # falls into the end of B0: fine
            if hi <= lo:
                return False
            last = hi - 1
            if body[last][0].name not in UNCONDITIONAL or self.enclosing[last] is not blocks[k - 1]:
                return False
        return True

    # ------------------------------------------------------------ decisions
    def _decide(self) -> None:
        body = self.body
        # Tail positions (structural), plus the switch-specific ones.
        for c in [self.func, *self.constructs]:
            new_sources = []
            for pc, _ in c.sources:
                name = body[pc][0].name
                tail = (
                    name in ("br", "br_table")
                    and c.kind not in ("loop", "func")
                    and self._chain_is_tail(pc, c)
                )
                new_sources.append((pc, tail))
            c.sources = new_sources
        for c in self.constructs:
            sw = c.switch
            if sw is None:
                continue
            b0 = sw.blocks[0]
            n = len(sw.blocks) - 1
            seg_ends = {sw.segment(k)[1] - 1 for k in range(1, n + 1)}
            b0.sources = [
                (pc, tail or pc == sw.br_table or (pc in seg_ends and body[pc][0].name == "br"))
                for pc, tail in b0.sources
            ]
        for pc_target in ((pc, c.start) for c in self.constructs for pc, t in c.sources if t):
            self.tail_ok.add(pc_target)
        # Inner constructs first: a block may delegate to its last child.
        for c in sorted(self.constructs, key=lambda c: -c.start):
            if c.impl in ("switch", "chain", "flat"):
                continue
            if c.kind == "loop":
                c.impl = "wrap" if c.sources else "none"
                continue
            nontail = c.nontail_sources
            if not nontail:
                c.impl = "none"
                continue
            if c.kind == "block":
                last = self.at.get(self._last_child_start(c))
                if (
                    last is not None
                    and last.end + 1 == c.end
                    and last.nresults == c.nresults
                    and last.impl in ("wrap", "delegate")
                    and last.chain is None
                ):
                    impl = last.impl_construct()
                    if all(impl.contains(pc) for pc in nontail):
                        c.impl = "delegate"
                        c.delegate = last
                        continue
            c.impl = "wrap"
        self.func.impl = "return"

    def _last_child_start(self, c: Construct) -> int:
        """Start index of the construct that ends right before ``c``'s end, or -1."""
        child = self.by_end.get(c.end - 1)
        return child.start if child is not None and child.start > c.start else -1

    # ------------------------------------------------------------ chains
    def _wrapped_depth(self) -> int:
        """Deepest nesting of constructs that get a Python loop."""
        best = 0
        depth: dict[int, int] = {}
        for c in self.constructs:  # parents come before children
            parent = c.parent
            d = depth.get(parent.start, 0) if parent is not None and parent.kind != "func" else 0
            if c.impl == "wrap" or c.chain is not None:
                d += 1
            depth[c.start] = d
            best = max(best, d)
        return best

    def _find_chains(self) -> None:
        """Flatten spines of nested blocks (deepest child first) into chains."""
        height: dict[int, int] = {}
        for c in sorted(self.constructs, key=lambda c: -c.start):
            height[c.start] = 1 + max((height[x.start] for x in c.children), default=0)

        def chainable(c: Construct) -> bool:
            return (
                c.kind == "block" and not c.nparams and not c.nresults
                and c.impl != "switch" and c.switch is None and c.chain is None
                and c.start not in self.no_chain
            )  # fmt: skip

        idents = 0
        for c in self.constructs:
            if not chainable(c) or height[c.start] < CHAIN_MIN:
                continue
            blocks = [c]
            while True:
                kids = [x for x in blocks[-1].children if chainable(x)]
                if not kids:
                    break
                blocks.append(max(kids, key=lambda x: height[x.start]))
            if len(blocks) < CHAIN_MIN:
                continue
            chain = Chain(blocks, self._pieces(blocks), idents)
            idents += 1
            for b in blocks:
                b.chain = chain
                b.impl = "chain"

    def _pieces(self, blocks: list[Construct]) -> list[Piece]:
        n = len(blocks) - 1
        pieces = [Piece("pre", k, blocks[k].start + 1, blocks[k + 1].start, k + 1)
                  for k in range(n)]
        pieces.append(Piece("inner", n, blocks[n].start + 1, blocks[n].end, n + 1))
        pieces += [Piece("post", k, blocks[k].end + 1, blocks[k - 1].end, k)
                   for k in range(n, 0, -1)]
        pieces = [p for p in pieces if p.hi > p.lo]
        jumps = sorted(pc for b in blocks for pc, _ in b.sources)
        nontail = sorted(pc for b in blocks for pc, tail in b.sources if not tail)

        def any_in(pcs: list[int], lo: int, hi: int) -> bool:
            i = bisect.bisect_left(pcs, lo)
            return i < len(pcs) and pcs[i] < hi

        jumped = False
        for p in pieces:
            p.guard = jumped
            p.wrap = any_in(nontail, p.lo, p.hi)
            if any_in(jumps, p.lo, p.hi):
                jumped = True
        return pieces

    # ------------------------------------------------------------ queries
    def delegate_target(self, start: int) -> Construct | None:
        return self.delegates[start]

    def ends_with(self, inner: Construct, outer: Construct) -> bool:
        """Whether falling off the end of ``inner`` reaches ``outer``'s end with no code
        in between: ``inner`` is the last instruction of each enclosing construct up to
        ``outer``, and all of them have as many results as ``outer`` (so they share
        its result slots)."""
        if inner.parent is None:
            return False
        x = inner
        while x is not outer:
            parent = x.parent
            if parent is None or x.nresults != outer.nresults:
                return False
            if x.end + 1 != parent.end and x.end + 1 != parent.else_:
                return False
            if x.end + 1 == parent.end and parent.start in self.delegates:
                return False  # ``delegate`` in between: it costs fuel when reached
            x = parent
        return True


def _delegate_target(outside: list[Construct], label: int) -> Construct | None:
    """The construct whose handler receives what ``delegate label`` hands on: the
    label's construct if it is a try_table, or a legacy try still in its body; else
    the nearest such construct around it (None: none, the caller's handlers).
    ``outside``: the open constructs around the delegating try, innermost last."""
    k = len(outside) - 1 - label
    while k > 0:
        c = outside[k]
        if c.kind == "try_table" or (c.kind == "try" and c.handlers_at is None):
            return c
        k -= 1
    return None
