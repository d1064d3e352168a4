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
from itertools import repeat
from typing import Any

from .entities import FuncInst

MIN_FUNCS = 10_000
"""Modules with at least this many defined functions pool them."""

_CALL_DELETE = FuncInst.call.__delete__  # type: ignore[misc, attr-defined]


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
        reused = 0
        for i, fi in enumerate(spare):
            if counts[i] != _UNHELD or weak[i]:
                spare[i] = FuncInst(types[i], canons[i], None, inst, first + i)
                continue
            fi.instance = inst
            fi.native_cb = None
            try:
                _CALL_DELETE(fi)
            except AttributeError:  # never bound
                pass
            reused += 1
        self.reused += reused
        return spare
