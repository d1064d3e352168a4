"""Delta-debugging minimizer over the module tree.

Given a module, a call plan and a predicate ("the difference is still there"), it
shrinks both while the predicate holds: first the plan (drop calls), then every
function body, replacing runs of complete instructions (a construct counts as one,
``block`` to ``end``) by nothing, a zero constant of some type or ``unreachable``,
whichever keeps the module valid; largest runs first, repeated until nothing more
goes. Candidates that do not validate are skipped before the predicate runs, so the
predicate only ever sees valid modules.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..internal.binary.encode import encode_module
from ..internal.syntax.module import Instr, Module
from ..internal.syntax.ops import BY_NAME
from ..internal.valid import validate_module

Plan = list[tuple[str, list[Any]]]
Predicate = Callable[[Module, Plan], bool]

REPLACEMENTS: list[list[Instr]] = [
    [],
    [(BY_NAME["i32.const"], 0)],
    [(BY_NAME["i64.const"], 0)],
    [(BY_NAME["f32.const"], 0)],
    [(BY_NAME["f64.const"], 0)],
    [(BY_NAME["unreachable"],)],
]
MAX_RUN = 6
"""Longest run of sibling instructions tried as one unit."""
_OPENERS = frozenset({"block", "loop", "if", "try_table", "try"})


def own_copy(module: Module) -> Module:
    """A copy whose function bodies can be edited (operators and types are shared:
    they are compared by identity, so they must not be deep-copied)."""
    funcs = [f.replace(body=list(f.instrs), offsets=None, lazy=None)
             for f in module.funcs]
    return module.replace(funcs=funcs)


def is_valid(module: Module) -> bool:
    try:
        validate_module(module)
        encode_module(module)
    except Exception:  # noqa: BLE001 - any failure means "not a candidate"
        return False
    return True


def units(body: list[Instr]) -> list[tuple[int, int]]:
    """Every complete instruction: (start, end) index ranges, constructs whole."""
    out = []
    stack: list[int] = []
    for i, ins in enumerate(body):
        name = ins[0].name
        if name in _OPENERS:
            stack.append(i)
        elif name in ("end", "delegate"):
            if stack:
                out.append((stack.pop(), i + 1))
        elif name not in ("else", "catch", "catch_all"):
            out.append((i, i + 1))
    return out


def runs(body: list[Instr]) -> list[tuple[int, int]]:
    """Runs of up to MAX_RUN consecutive sibling units, longest first."""
    us = sorted(units(body))
    by_start = {s: e for s, e in us}
    found = set()
    for s, e in us:
        end = e
        for _ in range(MAX_RUN):
            found.add((s, end))
            if end not in by_start:
                break
            end = by_start[end]
    return sorted(found, key=lambda r: (r[0] - r[1], r[0]))


def minimize(module: Module, plan: Plan, differs: Predicate, budget: int = 2000,
             seconds: float | None = None) -> tuple[Module, Plan]:
    """The smallest (module, plan) found for which ``differs`` still holds (at most
    ``budget`` predicate runs, and no new run after ``seconds``: a campaign's case
    has a time limit, and a difference found must reach the disk as a difference,
    minimized or not, rather than be cut short as a hang)."""
    module = own_copy(module)
    calls = [budget]
    deadline = None if seconds is None else time.monotonic() + seconds

    def check(m: Module, p: Plan) -> bool:
        if calls[0] <= 0 or (deadline is not None and time.monotonic() > deadline):
            raise _Exhausted
        calls[0] -= 1
        return differs(m, p)

    try:
        plan = _shrink_plan(module, plan, check)
        progress = True
        while progress:
            progress = False
            for func in module.funcs:
                while _shrink_body(module, func, plan, check):
                    progress = True
    except _Exhausted:
        pass  # what was kept so far still has the property
    return module, plan


class _Exhausted(Exception):
    """The minimizer's budget (predicate runs or time) is spent."""


def _shrink_plan(module: Module, plan: Plan, check: Predicate) -> Plan:
    """ddmin over the calls (state carries from call to call, so order is kept)."""
    n = 2
    while len(plan) >= 2:
        chunk = max(1, len(plan) // n)
        reduced = False
        for start in range(0, len(plan), chunk):
            candidate = plan[:start] + plan[start + chunk:]
            if candidate and check(module, candidate):
                plan = candidate
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(n * 2, len(plan))
    return plan


def _shrink_body(module: Module, func: Any, plan: Plan, check: Predicate) -> bool:
    """One successful replacement in ``func``'s body, or False when none works."""
    body = func.body
    for s, e in runs(body):
        original = body[s:e]
        for repl in REPLACEMENTS:
            if repl == original or (len(repl) >= e - s and e - s == 1):
                continue
            func.body = body[:s] + repl + body[e:]
            try:
                if is_valid(module) and check(module, plan):
                    return True
            except _Exhausted:
                func.body = body  # the candidate was not tried
                raise
        func.body = body
    return False
