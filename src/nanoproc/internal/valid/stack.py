"""The instruction checker's machinery: operand and control stacks (spec appendix,
"Validation Algorithm"), the rule registry and the main loop.

The operator table drives the loop. An op whose ``rule`` is None has a fixed
signature: the loop compares the top of the operand stack with its parameters in one
list comparison (identity of the singleton number types makes it cheap) and only
falls back to :meth:`Checker.pop_vals` (subtyping, unreachable code, errors) when that
fails. Every other op dispatches to the handler registered under its rule name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..syntax.module import Expr, Instr
from ..syntax.ops import OPS, Op
from ..syntax.types import RefType, ValType
from .context import Context, Invalid
from .subtyping import BOT, BOT_HEAP, match_valtype

Handler = Callable[["Checker", Instr], None]
RULES: dict[str, Handler] = {}
"""Rule name (``Op.rule``) -> handler; filled by the ``rules_*`` modules."""


def rule(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for the given rule names."""

    def deco(fn: Handler) -> Handler:
        for n in names:
            assert n not in RULES, n
            RULES[n] = fn
        return fn

    return deco


def fmt_types(ts: Sequence[object]) -> str:
    return "[" + " ".join(map(str, ts)) + "]"


class Frame:
    """A control frame: a block, loop, if/else, try_table or the function itself."""

    __slots__ = ("kind", "start", "end", "labels", "height", "unreachable", "init_height")

    def __init__(
        self, kind: str, start: tuple[ValType, ...], end: tuple[ValType, ...], height: int,
        init_height: int,
    ) -> None:  # fmt: skip
        self.kind = kind
        self.start = start
        self.end = end
        self.labels = start if kind == "loop" else end
        self.height = height
        self.unreachable = False
        self.init_height = init_height


class Checker:
    """Type-checks one instruction sequence: a function body or a constant expression."""

    __slots__ = ("ctx", "vals", "ctrls", "locals", "local_ok", "inits", "results",
                 "nglobals", "return_ok")  # fmt: skip

    def __init__(
        self,
        ctx: Context,
        locals_: list[ValType],
        local_ok: list[bool],
        results: tuple[ValType, ...],
        nglobals: int,
        return_ok: bool = True,
    ) -> None:
        self.ctx = ctx
        self.vals: list[Any] = []
        self.ctrls: list[Frame] = [Frame("func", (), results, 0, 0)]
        self.locals = locals_
        self.local_ok = local_ok
        """Per local: initialised? (always True for defaultable locals)."""
        self.inits: list[int] = []
        """Non-defaultable locals set so far, in order; frames truncate it at their end."""
        self.results = results
        self.nglobals = nglobals
        """Globals visible (constant expressions see only some)."""
        self.return_ok = return_ok

    # ------------------------------------------------------------ operand stack
    def mismatch(self, want: Sequence[object], have: Sequence[object]) -> Invalid:
        return Invalid(
            f"type mismatch: instruction requires {fmt_types(want)} but stack has {fmt_types(have)}"
        )

    def pop_vals(self, want: Sequence[Any]) -> list[Any]:
        """Pop values matching ``want`` (last one on top); return what was popped."""
        vals = self.vals
        frame = self.ctrls[-1]
        h = frame.height
        n = len(want)
        top = len(vals)
        out: list[Any] = [BOT] * n
        for i in range(n - 1, -1, -1):
            w = want[i]
            if len(vals) > h:
                a = vals[-1]
                if a is not w and not match_valtype(a, w):
                    raise self.mismatch(want, vals[max(h, top - n) :] + out[i + 1 :])
                out[i] = vals.pop()
            elif not frame.unreachable:
                raise self.mismatch(want, out[i + 1 :])
        return out

    def pop(self, want: Any) -> Any:
        vals = self.vals
        frame = self.ctrls[-1]
        if len(vals) > frame.height:
            a = vals[-1]
            if a is want or match_valtype(a, want):
                return vals.pop()
            raise self.mismatch([want], [a])
        if frame.unreachable:
            return BOT
        raise self.mismatch([want], [])

    def pop_any(self) -> Any:
        vals = self.vals
        frame = self.ctrls[-1]
        if len(vals) > frame.height:
            return vals.pop()
        if frame.unreachable:
            return BOT
        raise Invalid("type mismatch: instruction requires a value but stack is empty")

    def pop_ref(self) -> RefType:
        """Pop a reference; unknown (unreachable) yields ``(ref bot)``."""
        a = self.pop_any()
        if a is BOT:
            return RefType(False, BOT_HEAP)
        if type(a) is not RefType:
            raise Invalid(f"type mismatch: instruction requires a reference but stack has {a}")
        return a

    def pop_n(self, want: Any, n: int) -> None:
        """Pop ``n`` values of type ``want`` without looping past what the stack holds."""
        frame = self.ctrls[-1]
        avail = len(self.vals) - frame.height
        if n > avail and not frame.unreachable:
            raise self.mismatch([want] * min(n, avail + 1), self.vals[frame.height :])
        for _ in range(min(n, avail)):
            self.pop(want)

    def push(self, t: Any) -> None:
        self.vals.append(t)

    def push_vals(self, ts: Sequence[Any]) -> None:
        self.vals.extend(ts)

    # ------------------------------------------------------------ control stack
    def push_ctrl(self, kind: str, start: tuple[Any, ...], end: tuple[Any, ...]) -> None:
        self.ctrls.append(Frame(kind, start, end, len(self.vals), len(self.inits)))
        self.vals.extend(start)

    def pop_ctrl(self) -> Frame:
        frame = self.ctrls[-1]
        self.pop_vals(frame.end)
        if len(self.vals) != frame.height:
            raise Invalid(
                f"type mismatch: block requires {fmt_types(frame.end)} but stack has "
                f"{fmt_types(self.vals[frame.height :] + [t for t in frame.end])}"
            )
        inits = self.inits
        if len(inits) > frame.init_height:
            ok = self.local_ok
            for x in inits[frame.init_height :]:
                ok[x] = False
            del inits[frame.init_height :]
        self.ctrls.pop()
        return frame

    def label(self, depth: int) -> tuple[Any, ...]:
        """Types a branch to label ``depth`` carries."""
        if isinstance(depth, int) and 0 <= depth < len(self.ctrls):
            return self.ctrls[-1 - depth].labels
        raise Invalid(f"unknown label {depth}")

    def unreachable(self) -> None:
        frame = self.ctrls[-1]
        del self.vals[frame.height :]
        frame.unreachable = True

    # ------------------------------------------------------------ main loop
    def run(self, instrs: Expr) -> None:
        """Check ``instrs``, then the implicit final ``end``.

        On failure the Invalid carries ``pos``, the index of the offending instruction
        (``len(instrs)`` for the final ``end``).
        """
        vals = self.vals
        ctrls = self.ctrls
        fixed, handlers = _tables()
        frame = ctrls[-1]
        pos = -1
        try:
            for pos, ins in enumerate(instrs):  # noqa: B007 (pos is read on failure)
                op = ins[0]
                idx = op.idx
                sig = fixed[idx]
                if sig is not None:
                    plist, n, res = sig
                    if n:
                        k = len(vals) - n
                        if k < frame.height or vals[k:] != plist:
                            self.pop_vals(plist)
                        else:
                            del vals[k:]
                    if res:
                        vals += res
                    continue
                handlers[idx](self, ins)
                frame = ctrls[-1]
            pos = len(instrs)
            self.finish()
        except Invalid as e:
            e.pos = pos
            raise

    def finish(self) -> None:
        """The implicit ``end`` of the body: the function frame must be the only one left."""
        if len(self.ctrls) != 1:
            raise Invalid(f"unclosed block: missing end for {self.ctrls[-1].kind}")
        self.pop_ctrl()


_Sig = tuple[list[ValType], int, tuple[ValType, ...]]
_TABLES: tuple[list[_Sig | None], list[Handler | None]] | None = None


def _tables() -> tuple[list[_Sig | None], list[Handler | None]]:
    """Per-op dispatch tables, built once all rule modules have registered."""
    global _TABLES
    if _TABLES is None:
        from . import rules_control, rules_memory, rules_ref  # noqa: F401  (registration)

        fixed: list[_Sig | None] = []
        handlers: list[Handler | None] = []
        for op in OPS:
            assert op.idx == len(fixed)
            if op.rule is None and not op.lanes:
                fixed.append((list(op.params), len(op.params), tuple(op.results)))
                handlers.append(None)
            else:
                fixed.append(None)
                handlers.append(RULES["lane" if op.rule is None else op.rule])
        _TABLES = (fixed, handlers)
    return _TABLES


def handler_for(op: Op) -> Handler | None:
    """The handler an op dispatches to (None for fixed signatures); for tests."""
    return _tables()[1][op.idx]
