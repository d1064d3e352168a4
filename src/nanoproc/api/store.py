"""``Store``: the unit of isolation, owning every instance, memory, table and global.

Wraps :class:`nanoproc.internal.exec.store.StoreState`. Every API call that takes a
"storelike" (a ``Store`` or a ``Caller``) reads its ``_state``; a closed store or an
expired caller has ``_state = None`` and refuses further use with ``ValueError``,
as wasmtime-py does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from ..internal.errors import WasmtimeError
from ..internal.exec.store import Limiter, StoreLimits, StoreState
from .engine import Engine
from .managed import Closable

if TYPE_CHECKING:
    from .func import Caller
    from .wasi import WasiConfig


class Store(Closable):
    """A collection of Wasm objects and the host data and limits that go with them."""

    _dead_message = "already closed"

    def __init__(self, engine: Engine | None = None, data: Any = None) -> None:
        if engine is None:
            engine = Engine()
        elif not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        else:
            engine._check_open()
        self.engine = engine
        st = StoreState(engine, data)
        if engine.consume_fuel:
            st.fuel = 0
        self._state: StoreState | None = st
        self._closed = False

    def close(self) -> None:
        """Drop everything this store owns; using it afterwards raises ValueError.

        Refused (WasmtimeError) while code of the store runs, e.g. from one of its
        own host functions: nothing the running code relies on may go away under it.
        """
        st = self._state
        if st is not None:
            if st.running():
                raise WasmtimeError("cannot close a store while its code is running "
                                    "(from one of its host functions)")  # fmt: skip
            st.closed = True
            st.release()
            self._state = None
        self._closed = True

    def __del__(self) -> None:
        # Nothing can reach this store's instances any more (every API call needs
        # the store), so their cycles are broken now and refcounting frees them.
        # (Code of the store cannot be running: a call holds the Store it was given,
        # and every call made with a Caller is inside one made with the Store.)
        st = getattr(self, "_state", None)
        if st is not None:
            st.release()

    def data(self) -> Any:
        """The ``data`` given to the constructor."""
        return state_of(self).data

    def gc(self) -> None:
        """Collect unreachable GC objects (structs, arrays) of this store now.

        An externref is the Python object itself, held only by the tables, globals
        and frames that refer to it, so Python frees it as soon as the last of those
        lets go. GC objects of the interp tier are Python objects too; the llvm tier
        collects its native heap when allocation needs it, and here.
        """
        heap = state_of(self).heap
        collect = getattr(heap, "collect", None)
        if collect is not None:
            collect()

    def set_fuel(self, fuel: int) -> None:
        """Set the fuel left; WasmtimeError unless the engine consumes fuel."""
        st = state_of(self)
        if not self.engine.consume_fuel:
            raise WasmtimeError("fuel is not configured in this store")
        if not isinstance(fuel, int):
            raise TypeError("expected an int")
        if fuel < 0:
            raise WasmtimeError("fuel must not be negative")
        if fuel >= 1 << 64:  # wasmtime-py wraps it through ctypes instead
            raise WasmtimeError("fuel must be at most 2**64 - 1 (a u64)")
        st.fuel = fuel

    def get_fuel(self) -> int:
        """The fuel left; WasmtimeError unless the engine consumes fuel.

        Wasm code may overdraw by the straight-line cost since its last check; the
        overdraft reads as 0, as in wasmtime (docs/fuel.md)."""
        st = state_of(self)
        if not self.engine.consume_fuel or st.fuel is None:
            raise WasmtimeError("fuel is not configured in this store")
        return max(int(st.fuel), 0)

    def set_wasi(self, wasi: WasiConfig) -> None:
        """Give this store a WASI configuration (consumed: it cannot be reused)."""
        st = state_of(self)
        st.wasi = wasi._consume()

    def set_wasi_http(self) -> None:
        """Accepted for wasmtime-py's sake: ``wasi:http`` (``component.Linker.
        add_wasi_http``) needs nothing in the store beyond its ``WasiConfig``."""
        state_of(self)

    def set_epoch_deadline(self, ticks_after_current: int) -> None:
        """Trap Wasm code once the engine's epoch is ``ticks_after_current`` past now."""
        st = state_of(self)
        st.set_epoch_deadline(self.engine.epoch + ticks_after_current)

    def set_timeout(self, seconds: float | None) -> None:
        """Trap Wasm code in this store with INTERRUPT once ``seconds`` have passed.

        A nanoproc extra built on epoch interruption (the engine needs
        ``Config.epoch_interruption``): it sets the epoch deadline and has a
        background thread advance the engine's epoch until then (see
        :mod:`.timeout`), so other stores of the engine see their epochs advance too.
        ``None`` removes the deadline. The timeout covers everything this store runs
        from now on, not one call: set it again before each call to time calls alone.
        """
        st = state_of(self)
        engine = self.engine
        if not engine.epoch_interruption:
            raise WasmtimeError("set_timeout needs Config.epoch_interruption = True")
        if seconds is None:
            st.set_epoch_deadline(engine.epoch + (1 << 62))
            return
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError("expected a number of seconds")
        if not seconds >= 0:
            raise WasmtimeError("timeout must not be negative")
        from .timeout import ticker_of

        st.set_epoch_deadline(ticker_of(engine).deadline_after(seconds))

    def set_limiter(self, limiter: Limiter | None) -> None:
        """Decide every growth of a memory or table with ``limiter`` (a nanoproc extra).

        ``limiter(kind, current, desired, maximum) -> bool`` is called with ``kind``
        ``"memory"`` (sizes in bytes) or ``"table"`` (elements), when a memory or
        table is created (``current`` 0) and before it grows; ``maximum`` is the
        declared maximum or None. Returning False makes ``memory.grow``/``table.grow``
        return -1, and instantiation fail with WasmtimeError. It runs after the
        limits of :meth:`set_limits`, which it cannot loosen. An exception it raises
        propagates (from Wasm code, as a host error). ``None`` removes it.
        """
        st = state_of(self)
        if limiter is not None and not callable(limiter):
            raise TypeError("expected a callable or None")
        st.limiter = limiter

    def set_limits(
        self,
        memory_size: int = -1,
        table_elements: int = -1,
        instances: int = -1,
        tables: int = -1,
        memories: int = -1,
    ) -> None:
        """Replace this store's resource limits; a negative value means "no limit".

        ``memory_size`` is the largest size in bytes of any one memory,
        ``table_elements`` the most elements of any one table; ``instances``,
        ``tables`` and ``memories`` count what modules create in this store.
        """
        st = state_of(self)

        def limit(v: int) -> int | None:
            return None if v < 0 else v

        st.limits = StoreLimits(
            limit(memory_size), limit(table_elements), limit(instances),
            limit(tables), limit(memories),
        )  # fmt: skip


Storelike = Union[Store, "Caller"]
"""What API calls accept as their ``store`` argument."""


def state_of(store: Any) -> StoreState:
    """The live StoreState behind a store or caller.

    A non-store raises AttributeError (as in wasmtime-py); a closed store or an
    expired caller raises ValueError.
    """
    st = store._state
    if st is None:
        raise ValueError(store._dead_message)
    return st  # type: ignore[no-any-return]


def check_same_store(store: Any, owner: StoreState) -> StoreState:
    """``state_of(store)``, also refusing an object of another store."""
    st = state_of(store)
    if st is not owner:
        raise WasmtimeError("object used with the wrong store")
    return st
