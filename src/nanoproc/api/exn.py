"""``ExnRef`` and ``ThrownException``: Wasm exceptions seen from the host.

wasmtime-py reports an uncaught exception as a Trap ("thrown Wasm exception") and
offers nothing more; nanoproc's :class:`ThrownException` is that Trap, and also
carries the exception, and a host function can raise one to throw into its Wasm
caller. An :class:`ExnRef` is an exception (an ``exnref`` value): its tag and payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..internal.exec import exceptions as _exc
from ..internal.exec.exceptions import ExnInst, ThrownException, check_payload
from ..internal.exec.store import StoreState
from .store import check_same_store, state_of
from .tag import Tag
from .values import from_wasm, to_wasm

__all__ = ["ExnRef", "ThrownException"]


class ExnRef:
    """An exception: a tag and its payload values (wasmtime's ``ExnRef``).

    ``ExnRef(store, tag, fields)`` makes one, ``raise ThrownException(exn)`` throws it.
    """

    __slots__ = ("_inst", "_st")

    _inst: ExnInst
    _st: StoreState | None

    def __init__(self, store: Any, tag: Tag, fields: Sequence[Any] = ()) -> None:
        if not isinstance(tag, Tag):
            raise TypeError("expected a Tag")
        st = state_of(store)
        check_same_store(store, tag._st)
        ti = tag._ext
        values = check_payload(ti, list(fields))
        conv = [to_wasm(t)(v, st) for t, v in zip(ti.functype.params, values)]
        self._inst = ExnInst(ti, tuple(conv))
        self._st = st

    @staticmethod
    def _wrap(inst: ExnInst, st: StoreState | None) -> ExnRef:
        e = object.__new__(ExnRef)
        e._inst = inst
        e._st = st
        return e

    def _state(self, store: Any) -> StoreState:
        if store is None:
            if self._st is None:
                raise TypeError("a store is needed")
            return self._st
        st = state_of(store)
        if self._st is not None and st is not self._st:
            check_same_store(store, self._st)
        return st

    def tag(self, store: Any) -> Tag:
        """The exception's tag."""
        return Tag._wrap(self._inst.tag, self._state(store))

    def fields(self, store: Any) -> list[Any]:
        """The payload, one Python value per tag parameter."""
        st = self._state(store)
        params = self._inst.tag.functype.params
        return [from_wasm(t)(v, st) for t, v in zip(params, self._inst.payload)]

    def field(self, store: Any, index: int) -> Any:
        return self.fields(store)[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExnRef) and other._inst is self._inst

    def __hash__(self) -> int:
        return id(self._inst)

    def __repr__(self) -> str:
        return f"ExnRef({self._inst.payload!r})"


def _wrap_for(inst: ExnInst, store: Any) -> ExnRef:
    """ThrownException.exn: ``store`` is a Store, a Caller, a StoreState or None."""
    st = store if store is None or isinstance(store, StoreState) else state_of(store)
    return ExnRef._wrap(inst, st)


_exc.EXNREF_WRAPPER[:] = [_wrap_for]
