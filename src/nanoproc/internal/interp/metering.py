"""Fuel, epoch and depth-budget code in translated functions (docs/fuel.md).

Fuel follows wasmtime's scheme exactly, so counts agree with wasmtime-py to the unit:

* a function keeps the remaining fuel in a Python local ``fu``, loaded from
  ``StoreState.fuel`` on entry and stored back before every call (the callee, or a
  host function, reads and may change it; ``fu`` is reloaded after the call),
  before ``return``/``unreachable`` and on every way out of the function;
* costs are added up at translation time and subtracted in one statement at the
  points where control may leave a straight-line run (``if``, ``else``, ``end``,
  branches, ``loop``, calls, returns), so a loop iteration pays one subtraction;
* entering a function costs 1, then checks ``fu <= 0``; every loop header checks
  again; a failed check stores ``fu`` and traps OUT_OF_FUEL;
* a trap other than OUT_OF_FUEL loses ``fu``: the store keeps the value of its last
  synchronisation, as in wasmtime.

Epoch checks cache the store's deadline in a local ``ed`` (read again after every
call) and compare the engine's epoch with it at the same places as the fuel checks;
:func:`.helpers.epoch_expired` re-reads the deadline before trapping (a host
function may have moved it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .artifact import TranslationOptions
    from .emitter import Emitter
    from .exprs import Val

FREE_OPS = frozenset({"nop", "drop", "block", "loop", "unreachable", "return", "else", "end"})
"""Instructions that cost no fuel (as in wasmtime); every other one costs 1."""

ENTRY_COST = 1
"""Fuel charged on entry to every Wasm function (wasmtime does the same)."""

GROW_FREE_FAILURE = 128
"""Longest length wasmtime 50 charges up front when it knows it at compile time
(measured: docs/fuel.md); longer or computed ones are charged and checked after."""


def fuel_cost(name: str) -> int:
    """Fuel one execution of instruction ``name`` costs."""
    return 0 if name in FREE_OPS else 1


class Metering:
    """Mixin of the translator: emits fuel, epoch and depth-budget code."""

    out: Emitter

    def init_metering(self, options: TranslationOptions, recursive: bool) -> None:
        self.fuel = options.fuel
        self.epochs = options.epochs
        self.frames = options.stack_frames
        """Depth budget of a call from the host; 0: no budget (Python's recursion
        limit is the bound, see backend.frames_for)."""
        self.recursive = recursive and self.frames > 0
        """This function checks the depth budget (it may take part in a recursion)."""
        self.fuel_pending = 0
        """Cost of the instructions translated since the last subtraction."""

    # ------------------------------------------------------------ fuel
    def charge(self, name: str) -> None:
        """Account for one instruction about to be translated."""
        if name not in FREE_OPS:
            self.fuel_pending += 1

    def flush_fuel(self) -> None:
        """Subtract the pending cost here (control may leave the straight line next)."""
        if self.fuel_pending:
            self.out.emit(f"fu -= {self.fuel_pending}")
            self.fuel_pending = 0

    def sync_fuel(self) -> None:
        """Store the counter, pending cost included, in the store before control leaves
        the frame. ``fu`` itself is dead afterwards (reloaded after a call), so the
        pending cost is folded into the store."""
        if self.fuel:
            p = self.fuel_pending
            self.out.emit(f"ST.fuel = fu - {p}" if p else "ST.fuel = fu")
            self.fuel_pending = 0

    def reload_fuel(self) -> None:
        """After a call: the callee may have used or changed the store's fuel, and a
        host function its epoch deadline (read again, so that a deadline it made due
        stops the next loop header, as in the llvm tier; wasmtime waits for the next
        function entry)."""
        for line in self.reload_lines():
            self.out.emit(line)

    def reload_lines(self) -> list[str]:
        """The lines of :meth:`reload_fuel` (for code assembled outside ``self.out``)."""
        lines = []
        if self.fuel:
            lines.append("fu = ST.fuel")
        if self.epochs:
            lines.append("ed = ST.epoch_deadline")
        return lines

    def charge_length(self, n: Val, known: int | None, grow: str | None = None) -> None:
        """Charge the length ``n`` of a bulk memory/table operation or the delta of a
        grow, after the operation (docs/fuel.md):

        * a length ``known`` at compile time and at most GROW_FREE_FAILURE is charged
          as is, with no check (for a grow, whether it succeeded or not);
        * any other is charged once the operation succeeded, followed by a check: the
          one place besides entries and loop headers where fuel can run out.

        ``grow``: the grow's result and its -1, as code (a failed grow costs nothing)."""
        if not self.fuel:
            return
        if known is not None and 0 <= known <= GROW_FREE_FAILURE:
            if known:
                self.out.emit(f"fu -= {known}")
            return
        self.flush_fuel()  # the check sees everything before it, as in wasmtime
        if grow is not None:
            self.out.emit(f"if {grow}:")
            self.out.indent += 1
        self.out.emit(f"fu -= {n.code}")
        self.out.emit("if fu <= 0: OUTOFFUEL(ST, fu)")
        if grow is not None:
            self.out.indent -= 1

    def loop_checks(self) -> None:
        """The checks at a loop header (run on every iteration)."""
        if self.fuel:
            self.out.emit("if fu <= 0: OUTOFFUEL(ST, fu)")
        if self.epochs:
            self.out.emit("if ENG.epoch >= ed: ed = EPOCHCHECK(ST)")

    def entry_lines(self, indent: str, has_loops: bool) -> list[str]:
        """Function prologue: depth budget, entry fuel and epoch checks (``has_loops``:
        the body has loop headers, which check against the deadline cached in ``ed``)."""
        lines = []
        if self.recursive:
            lines.append("if dp <= 0: STACKOVERFLOW()")
        if self.fuel:
            lines.append(f"fu = ST.fuel - {ENTRY_COST}")
            lines.append("if fu <= 0: OUTOFFUEL(ST, fu)")
        if self.epochs and has_loops:
            lines.append("ed = ST.epoch_deadline")
            lines.append("if ENG.epoch >= ed: ed = EPOCHCHECK(ST)")
        elif self.epochs:
            lines.append("if ENG.epoch >= ST.epoch_deadline: EPOCHCHECK(ST)")
        return [indent + line for line in lines]

    # ------------------------------------------------------------ depth budget
    def budget_arg(self, callee_counts: bool) -> list[str]:
        """The depth argument of a call (none when the callee does not count depth)."""
        return ["dp - 1"] if callee_counts and self.frames else []

    def budget_params(self) -> list[str]:
        """The depth budget parameter, when the engine has one."""
        return [f"dp={self.frames}"] if self.frames else []
