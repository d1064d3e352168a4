"""Function instances of a big module reused by its next instance.

An instance of CPython-for-WASI has 89,060 ``FuncInst`` objects. Making them is a
Python ``__init__`` each, and, living as long as the instance, they all reach the
cyclic GC's oldest generation: a full collection (0.1-0.5 s over such a process's
heap) came about once per instance for them alone. When a store dies its
instances hand their functions here (``give``); the module's next instance takes
them back (``take``), each one only if nothing else holds it (its reference count
is the pool's alone and no weak reference points at it), with its instance set
and what its old instance had bound (``call``, ``native_cb``) dropped, so it is
what a new one would be. A function something still holds (an API ``Func``, a
table of a store still alive, a weak map) is never reused: a new one is made in
its place.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import deque
from itertools import repeat
from typing import Any

from .entities import FuncInst

MIN_FUNCS = 10_000
"""Modules with at least this many defined functions pool them."""

_CALL_DELETE = FuncInst.call.__delete__  # type: ignore[misc, attr-defined]
_CALL_SET = FuncInst.call.__set__  # type: ignore[misc, attr-defined]
_INSTANCE_SET = FuncInst.instance.__set__  # type: ignore[attr-defined]
_NATIVE_CB_SET = FuncInst.native_cb.__set__  # type: ignore[attr-defined]


def _unheld_count() -> int:
    """What ``map(sys.getrefcount, spare)`` gives for an item only ``spare`` holds."""
    return list(map(sys.getrefcount, [FuncInst(None, None)]))[0]  # type: ignore[arg-type]


_UNHELD = _unheld_count()


class FuncPool:
    """The defined functions of one released instance of a module, for its next."""

    __slots__ = ("types", "canons", "first", "spare", "lock", "reused")

    def __init__(self, types: list[Any], canons: list[Any], first: int) -> None:
        self.types = types
        self.canons = canons
        self.first = first
        self.spare: list[FuncInst] | None = None
        self.lock = threading.Lock()
        self.reused = 0
        """Functions taken back so far (for tests and measurements)."""

    def give(self, funcs: list[FuncInst], inst: Any) -> None:
        """``inst`` is released: keep its defined functions (``funcs``, its whole
        function index space) for the next instance."""
        spare = funcs[self.first:]
        if len(spare) != len(self.types) or any(fi.instance is not inst for fi in spare[:1]):
            return
        with self.lock:
            self.spare = spare

    def take(self, inst: Any) -> list[FuncInst]:
        """The defined functions of new instance ``inst``: the spare ones nothing
        else holds, reset, and new ones for the rest."""
        with self.lock:
            spare, self.spare = self.spare, None
        types, canons, first = self.types, self.canons, self.first
        if spare is None:
            return list(map(FuncInst, types, canons, repeat(None), repeat(inst),
                            range(first, first + len(types))))  # fmt: skip
        counts = list(map(sys.getrefcount, spare))
        weak = list(map(weakref.getweakrefcount, spare))
        n = len(spare)
        held = [] if counts.count(_UNHELD) == n and weak.count(0) == n else \
            [i for i in range(n) if counts[i] != _UNHELD or weak[i]]  # fmt: skip
        # Reset the free ones with C-level maps (a Python loop over CPython's 89,060
        # cost ~65 ms per instance, most of it an AttributeError per function never
        # bound): ``call`` set, then deleted, so that each is unset without a check.
        # A held one is left as it is (it is still in use) and replaced.
        free = spare
        if held:
            skip = set(held)
            free = [fi for i, fi in enumerate(spare) if i not in skip]
        _drain(map(_INSTANCE_SET, free, repeat(inst)))
        _drain(map(_NATIVE_CB_SET, free, repeat(None)))
        _drain(map(_CALL_SET, free, repeat(None)))
        _drain(map(_CALL_DELETE, free))
        for i in held:
            spare[i] = FuncInst(types[i], canons[i], None, inst, first + i)
        self.reused += n - len(held)
        return spare


def _drain(it: Any) -> None:
    """Run an iterator of side effects to its end (in C)."""
    deque(it, maxlen=0)
