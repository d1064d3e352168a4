"""Exception handling in generated bodies (see :mod:`.codegen`): throw, throw_ref,
try_table with every kind of catch clause, and (``legacy`` modules, which wasmtime
does not run: compared between nanoproc's tiers only) try/catch/catch_all/delegate/
rethrow.

Handlers are laid out the way compilers lay them out: each catch clause branches to
a block of its own just around the try_table, whose code after it consumes what the
clause delivers (the payload, the exception), then continues after the whole
construct. Clauses also target other enclosing labels whose types happen to fit.
Caught exceptions go to exnref locals; ``throw_ref`` rethrows one at once or later
(a null one traps), so exceptions cross handlers, functions and loops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..internal.syntax.ops import Catch
from ..internal.syntax.types import EXNREF, I32, FuncType, RefType, ValType

if TYPE_CHECKING:
    from .codegen import FuncGen


def clause_types(fg: FuncGen, kind: str, tag: int | None) -> tuple[ValType, ...]:
    """What a catch clause hands its label."""
    payload = fg.mod.tags[tag] if tag is not None else ()
    return payload + ((EXNREF,) if kind.endswith("_ref") else ())


def exn_stmt(fg: FuncGen, depth: int) -> None:
    """One exception-related statement."""
    r = fg.rng
    k = r.randrange(100)
    if k < 20:
        throw(fg, depth)
    elif k < 30:
        throw_ref(fg)
    elif fg.mod.legacy and k < 65 and depth < 4:
        legacy_try(fg, depth)
    elif depth < 4:
        try_table(fg, depth)


def throw(fg: FuncGen, depth: int) -> None:
    """``throw`` with a payload (usually under an ``if``, so code goes on)."""
    from .codegen import Label

    r = fg.rng
    tag = r.randrange(len(fg.mod.tags))
    guarded = r.random() < 0.7
    if guarded:
        fg.expr(I32, depth + 1)
        fg.emit("if", None)
        fg.labels.append(Label(()))
    for t in fg.mod.tags[tag]:
        fg.expr(t, depth + 1)
    fg.emit("throw", tag)
    if guarded:
        fg.labels.pop()
        fg.emit("end")


def throw_ref(fg: FuncGen) -> None:
    """Rethrow a caught exception kept in a local (null if none was caught: a trap)."""
    x = fg.local_of(EXNREF)
    if x is None:
        return
    if fg.rng.random() < 0.6:
        fg.emit("local.get", x)
        fg.emit("ref.is_null")
        fg.emit("i32.eqz")
        fg.emit("if", None)
        fg.emit("local.get", x)
        fg.emit("throw_ref")
        fg.emit("end")
    else:
        fg.emit("local.get", x)
        fg.emit("throw_ref")


def _consume(fg: FuncGen, types: tuple[ValType, ...], depth: int) -> None:
    """Code after a handler's block: take the values a clause delivered (top first),
    then some statements."""
    r = fg.rng
    for t in reversed(types):
        if t is EXNREF:
            k = r.randrange(10)
            if k < 3:
                fg.emit("throw_ref")  # rethrow at once (the rest is dead code)
                return
            if k < 8:
                x = fg.local_of(EXNREF)
                fg.emit("local.set", fg.new_local(EXNREF) if x is None or r.random() < 0.5 else x)
            else:
                fg.emit("drop")
        else:
            keep(fg, t)
    fg.stmts(depth + 1)


def keep(fg: FuncGen, t: ValType) -> None:
    """Store a delivered payload value (on top of the stack) in a local, or drop it.
    A reference goes to a new nullable local (a non-nullable one would have to be
    initialised wherever it is read), where GC code reads it later."""
    r = fg.rng
    if r.random() >= 0.6:
        fg.emit("drop")
    elif isinstance(t, RefType):
        fg.emit("local.set", fg.new_local(RefType(True, t.heap)))
    else:
        x = fg.local_of(t, writable=True)
        fg.emit("local.set", x if x is not None else fg.new_local(t))


def try_table(fg: FuncGen, depth: int) -> None:
    """``block $done``, a handler block per clause, the try_table inside them."""
    from .codegen import NUM, Label

    r = fg.rng
    tags = fg.mod.tags
    clauses: list[tuple[str, int | None]] = []
    for _ in range(r.choice([1, 1, 2, 2, 3])):
        kind = r.choice(["catch", "catch", "catch_ref", "catch_all", "catch_all_ref"])
        tag = r.randrange(len(tags)) if kind in ("catch", "catch_ref") else None
        clauses.append((kind, tag))
        if tag is None:
            break  # clauses after a catch_all are never reached (still valid, but rare)
    done = len(fg.labels)
    fg.emit("block", None)
    fg.labels.append(Label(()))
    for kind, tag in reversed(clauses):  # clause 0's block innermost
        types = clause_types(fg, kind, tag)
        fg.emit("block", _block_type(fg, types))
        fg.labels.append(Label(types))
    catches = []
    for i, (kind, tag) in enumerate(clauses):
        types = clause_types(fg, kind, tag)
        label = i
        if r.random() < 0.15:
            fits = [d for d, lab in enumerate(reversed(fg.labels))
                    if lab.types == types and not lab.loop]
            label = r.choice(fits)
        catches.append(Catch(kind, tag, label))
    result = r.choice([None, None, r.choice(NUM)])
    fg.emit("try_table", result, tuple(catches))
    fg.labels.append(Label(() if result is None else (result,)))
    fg.stmts(depth + 1)
    if result is not None:
        fg.expr(result, depth + 1)
    fg.labels.pop()
    fg.emit("end")
    if result is not None:
        fg.emit("drop")
    fg.emit("br", len(fg.labels) - 1 - done)  # past the handlers
    for kind, tag in clauses:  # innermost handler block first
        fg.labels.pop()
        fg.emit("end")
        _consume(fg, clause_types(fg, kind, tag), depth)
        fg.emit("br", len(fg.labels) - 1 - done)
    fg.labels.pop()
    fg.emit("end")


def _block_type(fg: FuncGen, types: tuple[ValType, ...]) -> object:
    if not types:
        return None
    if len(types) == 1:
        return types[0]
    return fg.mod.typeidx(FuncType((), types))


def legacy_try(fg: FuncGen, depth: int) -> None:
    """``try ... catch $t ... catch_all ... end`` or ``try ... delegate l``."""
    from .codegen import Label

    r = fg.rng
    result = r.choice([None, None, I32])
    fg.emit("try", result)
    fg.labels.append(Label(() if result is None else (result,)))
    fg.stmts(depth + 1)
    if result is not None:
        fg.expr(result, depth + 1)
    if r.random() < 0.2:
        fg.labels.pop()
        fg.emit("delegate", r.randrange(len(fg.labels)))
        if result is not None:
            fg.emit("drop")
        return
    fg.labels[-1] = Label(fg.labels[-1].types, catch=True)
    for _ in range(r.choice([0, 1, 1, 2])):
        tag = r.randrange(len(fg.mod.tags))
        fg.emit("catch", tag)
        for t in reversed(fg.mod.tags[tag]):
            keep(fg, t)
        _handler_body(fg, depth, result)
    if r.random() < 0.6:
        fg.emit("catch_all")
        _handler_body(fg, depth, result)
    fg.labels.pop()
    fg.emit("end")
    if result is not None:
        fg.emit("drop")


def _handler_body(fg: FuncGen, depth: int, result: ValType | None) -> None:
    r = fg.rng
    fg.stmts(depth + 1)
    if r.random() < 0.3:
        tries = [d for d, lab in enumerate(reversed(fg.labels)) if lab.catch]
        fg.emit("rethrow", r.choice(tries))
        return
    if result is not None:
        fg.expr(result, depth + 1)
