"""Wasm exceptions as every tier and the API see them.

An exception *instance* (the value of an ``exnref``) is an :class:`ExnInst`: the tag
it was thrown with and its payload, in the internal value representation of
:mod:`.values`. Wasm code raises :class:`Thrown` to unwind Python frames (the interp
tier, host functions); it carries the instance and nothing else, so raising one is
cheap. At the boundary to the embedder a Thrown becomes :class:`ThrownException`, a
Trap whose message is wasmtime-py's ("thrown Wasm exception") and which keeps the
instance: a host function that lets it propagate rethrows it into its Wasm caller,
and a host function can raise one it made itself (``ThrownException.new``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .entities import TagInst
from .trap import Trap

THROWN_MESSAGE = "thrown Wasm exception"
"""What wasmtime reports for an exception no handler caught."""


class ExnInst:
    """An exception instance: a tag and its payload (one value per tag parameter)."""

    __slots__ = ("tag", "payload", "__weakref__")

    def __init__(self, tag: TagInst, payload: tuple[Any, ...]) -> None:
        self.tag = tag
        self.payload = payload

    def __repr__(self) -> str:
        return f"<exception {self.payload!r}>"


class Thrown(Exception):
    """A Wasm exception unwinding Python frames (internal; see the module docstring)."""

    def __init__(self, exn: ExnInst) -> None:
        super().__init__(exn)
        self.exn = exn


EXNREF_WRAPPER: list[Callable[[ExnInst, Any], Any]] = []
"""Set by the API (api/exn.py): makes the public ``ExnRef`` of an instance and a store."""


class ThrownException(Trap):
    """An uncaught Wasm exception, as the embedder sees it.

    A Trap (wasmtime-py raises a Trap with this message), with no trap code. Beyond
    wasmtime-py: :meth:`exn` gives the exception (its tag and payload), and raising
    one from a host function throws that exception into the calling Wasm code.
    """

    def __init__(self, exn: Any, message: str = THROWN_MESSAGE) -> None:
        inst = getattr(exn, "_inst", exn)
        if not isinstance(inst, ExnInst):
            raise TypeError("ThrownException needs an ExnRef")
        super().__init__(message)
        self._exn = inst
        self._store: Any = getattr(exn, "_st", None)

    def exn(self, store: Any = None) -> Any:
        """The exception (an ``ExnRef``): its ``tag(store)`` and ``fields(store)``."""
        wrap = EXNREF_WRAPPER[0]
        return wrap(self._exn, store if store is not None else self._store)


def thrown_to_api(exc: Thrown, store: Any = None) -> ThrownException:
    """The ThrownException the embedder sees for ``exc`` (frames are set by the tier)."""
    out = ThrownException(exc.exn)
    out._store = store
    out.__cause__ = None
    out.__suppress_context__ = True
    return out


def check_payload(tag: TagInst, payload: Sequence[Any]) -> tuple[Any, ...]:
    """``payload`` as a tuple, if it has the tag's arity."""
    n = len(tag.functype.params)
    if len(payload) != n:
        raise TypeError(f"the tag takes {n} values, got {len(payload)}")
    return tuple(payload)
