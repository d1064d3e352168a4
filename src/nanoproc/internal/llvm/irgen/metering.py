"""Fuel metering and epoch checks in generated code, counted as the interp tier
counts them (which follows wasmtime to the unit; see the interp tier's metering).

Fuel: every instruction except nop, drop, block, loop, unreachable, return, else and
end costs 1, and entering a function costs 1. Costs are added up while translating
and subtracted from the function's counter (``%fu``, an alloca that LLVM keeps in a
register) where control may leave a straight line: before blocks' ends, branches,
``if``, ``else`` and loop headers. The counter is loaded from StoreCtx.fuel on
entry, stored back (pending costs included) before every call, return and
always-trapping instruction, and reloaded after calls (a host function may read or
change it). It is checked (``<= 0`` traps OUT_OF_FUEL, storing what is left) on
entry, at every loop header, and after bulk operations whose length is not a small
constant, which cost their length. Any other trap leaves the store with the value
of the last synchronisation, as in wasmtime.

Epochs: native code never reads the epoch. The Python side, which advances it
(``Engine.increment_epoch``) and sets deadlines, sets the top byte of
StoreCtx.stack_limit to TRIP while the store's epoch is at or past its deadline
(NativeStore.sync_trip), and clears it. Function entries get the check for free:
every function already compares its frame with the stack limit, and a tripped
limit fails that compare; the cold path asks the helper, which answers 0 when the
deadline is due (trap INTERRUPT) or clears the byte (a host function moved the
deadline). Loop headers load the byte (volatile: another thread sets it, so LLVM
may neither hoist nor merge the loads; unlike an atomic load it does not count as
touching all memory, which would keep other loads inside loops) and compare it with 0. Native code never
writes that byte and Python never writes the limit's other bytes, so neither side
needs a read-modify-write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...exec.fuelrules import known_operand
from .. import abi
from .function import LIKELY, TBAA_CTX

if TYPE_CHECKING:
    from .function import FunctionGen

ENTRY_COST = 1
SMALL_LENGTH = 128
"""Constant lengths up to this are charged as they are, with no check (wasmtime 50)."""


def flush(g: FunctionGen) -> None:
    """Subtract the pending cost from the counter."""
    if g.fuel and g.fuel_pending:
        cur = g.value("load i64, ptr %fu, align 8")
        g.emit(f"store i64 {g.value(f'sub i64 {cur}, {g.fuel_pending}')}, ptr %fu, align 8")
        g.fuel_pending = 0


def store_fuel(g: FunctionGen, keep_pending: bool = False) -> None:
    """Store the counter, pending cost included, in StoreCtx.fuel (control leaves the
    frame next). ``keep_pending``: another path still owes the cost (br_if's)."""
    if not g.fuel:
        return
    cur = g.value("load i64, ptr %fu, align 8")
    left = g.value(f"sub i64 {cur}, {g.fuel_pending}") if g.fuel_pending else cur
    g.store_field("i64", left, "%sc", abi.SC["fuel"])
    if not keep_pending:
        g.fuel_pending = 0


def reload_fuel(g: FunctionGen) -> None:
    """After a call: the callee used (or a host function changed) the store's fuel."""
    if g.fuel:
        g.emit(f"store i64 {g.load_field('i64', '%sc', abi.SC['fuel'])}, ptr %fu, align 8")


def _cold_unless(g: FunctionGen, ok: str) -> str:
    """Branch on ``ok`` (likely) and start the cold block; returns the label to
    continue at, which the cold block must reach or end with a trap."""
    cont = g.new_label()
    cold = g.new_label()
    g.emit(f"br i1 {ok}, label %{cont}, label %{cold}, !prof {LIKELY}")
    g.start(cold)
    return cont


def check_fuel(g: FunctionGen) -> None:
    """Trap OUT_OF_FUEL (storing what is left) when the counter is not positive."""
    if not g.fuel:
        return
    cur = g.value("load i64, ptr %fu, align 8")
    cont = _cold_unless(g, g.value(f"icmp sgt i64 {cur}, 0"))
    g.store_field("i64", cur, "%sc", abi.SC["fuel"])
    g.emit_trap(abi.TRAP_OUT_OF_FUEL)
    g.start(cont)


def check_epoch(g: FunctionGen) -> None:
    """Test the store's trip byte (a loop header); ask the helper when it is set.
    Every loop has this check, with or without epoch interruption: the byte is also
    how a SIGINT stops native code (see ..interrupts)."""
    flag = g.value(f"load volatile i8, ptr {g.ctx_trip()}, align 1")
    cont = _cold_unless(g, g.value(f"icmp eq i8 {flag}, 0"))
    # Not call_helper: its call may write any memory, and even on this cold path that
    # keeps LLVM from hoisting loads out of the loop or vectorising it (matmul ran
    # ~60% slower). This helper touches nothing the code can see: it reads Python's
    # store and answers 0 when the epoch has reached the deadline (1: go on; else
    # the helper raised, e.g. KeyboardInterrupt from Python's signal handler).
    # Called through a pointer (a plain load, which LLVM hoists out of the loop):
    # a direct call of the internal np_helper, or a volatile load of the pointer
    # in the loop, each cost benchmarks/programs/vm 60-80%.
    fn = g.value("load ptr, ptr @np_helper_ptr, align 8")
    ok = g.value(epoch_helper_call(fn))
    why = g.value(f"select i1 {g.value(f'icmp eq i64 {ok}, 0')}, i32 {abi.TRAP_INTERRUPT}, "
                  f"i32 {abi.TRAP_HOST}")
    g.trap_unless(g.value(f"icmp eq i64 {ok}, 1"), why)
    g.emit(f"br label %{cont}")
    g.start(cont)


def epoch_helper_call(callee: str = "@np_helper") -> str:
    """The call of the helper asking whether the deadline is due (0: trap; 1: go on;
    else it failed), as the loop headers' and the function entries' cold paths make
    it."""
    from .boundary import helper_call

    return helper_call(abi.H_EPOCH, [], " nounwind willreturn memory(inaccessiblemem: readwrite)",
                       callee)


def loop_header(g: FunctionGen) -> None:
    check_fuel(g)
    if (g.epochs or g.info.interrupts) and not calls_every_iteration(g.body, g.pc + 1,
                                                                     g.info.nimports,
                                                                     g.info.unit):
        check_epoch(g)


STRAIGHT_END = frozenset({
    "block", "loop", "if", "else", "end", "br", "br_if", "br_table", "br_on_null",
    "br_on_non_null", "br_on_cast", "br_on_cast_fail", "return", "return_call",
    "return_call_indirect", "return_call_ref", "unreachable", "throw", "throw_ref",
    "try_table",
})  # fmt: skip
"""Instructions that end the straight line from a loop header (or may leave it)."""


def calls_every_iteration(body: list[Any], start: int, nimports: int,
                          unit: frozenset[int] | None = None) -> bool:
    """Whether the loop whose body starts at ``start`` calls a function of this module
    before anything can branch: then every iteration enters a function, whose stack
    check is also the epoch check, so the loop header needs none of its own (the
    limit is read with a volatile load, which no optimisation removes).
    Calls to imports do not count: a host function checks nothing; nor, in a partial
    unit (``unit``), calls to functions outside it."""
    for pc in range(start, len(body)):
        name = body[pc][0].name
        if name == "call":
            f = body[pc][1]
            if f >= nimports and (unit is None or f in unit):
                return True
        elif name in STRAIGHT_END:
            return False
    return False


def prologue(g: FunctionGen) -> list[str]:
    """Entry code (in the entry block, after the stack check's block is set up)."""
    lines = []
    if g.fuel:
        f = abi.SC["fuel"]
        lines += [
            "  %fu = alloca i64, align 8",
            f"  %fu.p = getelementptr inbounds i8, ptr %sc, i64 {f}",
            f"  %fu.0 = load i64, ptr %fu.p, align 8, !tbaa {TBAA_CTX}",
            f"  %fu.1 = sub i64 %fu.0, {ENTRY_COST}",
            "  store i64 %fu.1, ptr %fu, align 8",
        ]
    return lines


def literal_operand(g: FunctionGen) -> int | None:
    return known_operand(g.info.module, g.body, g.pc)


def charge_length(g: FunctionGen, n: str, known: int | None, grow_result: str | None = None) -> None:
    """Charge the length ``n`` (an unsigned i64) of a bulk operation, or the delta of a
    grow, after the operation: a small constant as it is, anything else followed by a
    check (``grow_result``: the grow's i64 result; a failed grow costs nothing)."""
    if not g.fuel:
        return
    if known is not None and 0 <= known <= SMALL_LENGTH:
        g.fuel_pending += known
        return
    flush(g)
    done = None
    if grow_result is not None:
        grew = g.value(f"icmp ne i64 {grow_result}, -1")
        pay = g.new_label()
        done = g.new_label()
        g.emit(f"br i1 {grew}, label %{pay}, label %{done}")
        g.start(pay)
    cur = g.value("load i64, ptr %fu, align 8")
    g.emit(f"store i64 {g.value(f'sub i64 {cur}, {n}')}, ptr %fu, align 8")
    check_fuel(g)
    if done is not None:
        g.emit(f"br label %{done}")
        g.start(done)
