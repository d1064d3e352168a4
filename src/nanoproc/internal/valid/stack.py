"""The instruction checker's machinery: operand and control stacks (spec appendix,
"Validation Algorithm"), the rule registry and the main loop.

The operator table drives the loop. An op whose ``rule`` is None has a fixed
signature: the loop compares the top of the operand stack with its parameters in one
list comparison (identity of the singleton number types makes it cheap) and only
falls back to :meth:`Checker.pop_vals` (subtyping, unreachable code, errors) when that
fails. Every other op dispatches to the handler registered under its rule name.

Each control frame's operands sit above a :data:`MARKER` that equals no type, so the
fast comparisons need no height check: a slice reaching below the current frame
contains the marker and fails, which sends the instruction to the careful path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..syntax.module import Expr, Instr
from ..syntax.ops import BY_NAME, OPS, Op
from ..syntax.types import I32, I64, RefType, ValType
from .context import Context, Invalid
from .subtyping import BOT, BOT_HEAP, match_valtype

LOCAL_GET = BY_NAME["local.get"]
LOCAL_SET = BY_NAME["local.set"]
LOCAL_TEE = BY_NAME["local.tee"]
BR_IF = BY_NAME["br_if"]
BLOCK = BY_NAME["block"]
END = BY_NAME["end"]


class _Marker:
    """Bottom of a control frame's operands on the shared value stack."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<frame>"


MARKER = _Marker()

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

    __slots__ = ("ctx", "vals", "ctrls", "locals", "local_ok", "inits", "results", "nglobals")

    def __init__(
        self,
        ctx: Context,
        locals_: list[ValType],
        local_ok: list[bool],
        results: tuple[ValType, ...],
        nglobals: int,
    ) -> None:
        self.ctx = ctx
        self.vals: list[Any] = [MARKER]
        self.ctrls: list[Frame] = [Frame("func", (), results, 1, 0)]
        self.locals = locals_
        self.local_ok = local_ok
        """Per local: initialised? (always True for defaultable locals)."""
        self.inits: list[int] = []
        """Non-defaultable locals set so far, in order; frames truncate it at their end."""
        self.results = results
        self.nglobals = nglobals
        """Globals visible (constant expressions see only some)."""

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
        vals = self.vals
        vals.append(MARKER)
        self.ctrls.append(Frame(kind, start, end, len(vals), len(self.inits)))
        vals.extend(start)

    def pop_ctrl(self) -> Frame:
        frame = self.ctrls[-1]
        vals = self.vals
        h = frame.height
        end = frame.end
        if len(vals) - h == len(end) and (not end or tuple(vals[h:]) == end):
            del vals[h - 1 :]
        else:
            self.pop_vals(end)
            if len(vals) != h:
                raise Invalid(
                    f"type mismatch: block requires {fmt_types(end)} but stack has "
                    f"{fmt_types(vals[h:] + list(end))}"
                )
            del vals[h - 1 :]
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
        (``len(instrs)`` for the final ``end``). The commonest variable instructions are
        checked inline when their operand is exactly the local's type; anything else
        (subtyping, errors, unreachable code) goes through the registered handler.
        """
        vals = self.vals
        ctrls = self.ctrls
        fixed, handlers, memtab = _tables()
        locals_ = self.locals
        local_ok = self.local_ok
        nlocals = len(locals_)
        mems = self.ctx.mems
        nmems = len(mems)
        pos = -1
        try:
            for pos, ins in enumerate(instrs):  # noqa: B007 (pos is read on failure)
                op = ins[0]
                sig = fixed[op.idx]
                if sig is not None:
                    plist, n, res = sig
                    if n:
                        if vals[-n:] == plist:
                            del vals[-n:]
                        else:
                            self.pop_vals(plist)
                    if res:
                        vals += res
                    continue
                if op is LOCAL_GET:
                    x = ins[1]
                    if 0 <= x < nlocals and local_ok[x]:
                        vals.append(locals_[x])
                        continue
                elif op is LOCAL_SET:
                    x = ins[1]
                    if 0 <= x < nlocals and vals[-1] is locals_[x] and local_ok[x]:
                        vals.pop()
                        continue
                elif op is LOCAL_TEE:
                    x = ins[1]
                    if 0 <= x < nlocals and vals[-1] is locals_[x] and local_ok[x]:
                        continue
                elif op is END:
                    frame = ctrls[-1]
                    h = frame.height
                    if len(vals) == h and not frame.end and len(ctrls) > 1:
                        if frame.kind != "if" and len(self.inits) == frame.init_height:
                            del vals[-1]  # the frame's marker
                            ctrls.pop()
                            continue
                elif op is BLOCK:
                    if ins[1] is None:
                        vals.append(MARKER)
                        ctrls.append(Frame("block", (), (), len(vals), len(self.inits)))
                        continue
                elif op is BR_IF:
                    d = ins[1]
                    if vals[-1] is I32 and 0 <= d < len(ctrls) and not ctrls[-1 - d].labels:
                        vals.pop()
                        continue
                else:
                    m = memtab[op.idx]
                    if m is not None:
                        # A plain load or store: the address type depends on the memory.
                        align, offset, mem = ins[1]
                        if 0 <= mem < nmems and align <= m[0]:
                            if mems[mem] is I32:
                                want = m[1] if offset < 4294967296 else None
                            else:
                                want = m[2]
                            if want is not None and vals[-len(want) :] == want:
                                del vals[-len(want) :]
                                vals += m[3]
                                continue
                handlers[op.idx](self, ins)  # type: ignore[misc]
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
_Mem = tuple[int, list[ValType], list[ValType], tuple[ValType, ...]]
_Tables = tuple[list[_Sig | None], list[Handler | None], list[_Mem | None]]
_TABLES: _Tables | None = None


def _tables() -> _Tables:
    """Per-op dispatch tables, built once all rule modules have registered."""
    global _TABLES
    if _TABLES is None:
        from . import rules_control, rules_memory, rules_ref  # noqa: F401  (registration)

        fixed: list[_Sig | None] = []
        handlers: list[Handler | None] = []
        # Plain loads and stores (no lane): natural alignment (log2), the operands
        # for i32 and i64 addresses, the results.
        memtab: list[_Mem | None] = [
            (op.width.bit_length() - 1, [I32, *op.params], [I64, *op.params], op.results)
            if op.rule == "memarg" and not op.lanes
            else None
            for op in OPS
        ]
        for op in OPS:
            assert op.idx == len(fixed)
            if op.rule is None and not op.lanes:
                fixed.append((list(op.params), len(op.params), tuple(op.results)))
                handlers.append(None)
            else:
                fixed.append(None)
                handlers.append(RULES["lane" if op.rule is None else op.rule])
        _TABLES = (fixed, handlers, memtab)
    return _TABLES


def handler_for(op: Op) -> Handler | None:
    """The handler an op dispatches to (None for fixed signatures); for tests."""
    return _tables()[1][op.idx]
