"""The store: everything one nanoprocess owns, and the limits its host set.

Every runtime object (memory, table, global, function, instance) belongs to exactly
one store; nothing is shared between stores, which is what isolates tenants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import WasmtimeError
from ..records import Frozen
from . import reservation

_set = object.__setattr__


class StoreLimits(Frozen):
    """Resource limits of a store; ``None`` means unlimited (wasmtime-py uses -1)."""

    __match_args__ = ("memory_size", "table_elements", "instances", "tables", "memories")
    memory_size: int | None
    """Largest size in bytes of any one linear memory."""
    table_elements: int | None
    """Largest number of elements of any one table."""
    instances: int | None
    tables: int | None
    memories: int | None

    def __init__(self, memory_size: int | None = None, table_elements: int | None = None,
                 instances: int | None = None, tables: int | None = None,
                 memories: int | None = None) -> None:  # fmt: skip
        _set(self, "memory_size", memory_size)
        _set(self, "table_elements", table_elements)
        _set(self, "instances", instances)
        _set(self, "tables", tables)
        _set(self, "memories", memories)


NO_LIMITS = StoreLimits()

Limiter = Callable[[str, int, int, int | None], bool]
"""Custom policy: ``limiter(kind, current, desired, maximum) -> allow``,
``kind`` being ``"memory"`` (sizes in bytes) or ``"table"`` (elements)."""


class StoreState:
    """Internal store. The public ``Store`` wraps one."""

    def __init__(self, engine: Any, data: Any = None) -> None:
        if reservation._released:  # memories of stores that have gone give back their pages
            reservation.drain()
        self.engine = engine
        self.data = data
        self.limits = NO_LIMITS
        self.limiter: Limiter | None = None
        self.instances: list[Any] = []
        self.components: list[Any] = []
        """Component instances (released with the store; not counted as instances)."""
        self.num_tables = 0
        self.num_memories = 0
        self.fuel: int | None = None
        """Remaining fuel when the engine consumes fuel, else None."""
        self.epoch_deadline: int = 0
        self.wasi: Any = None
        self.closed = False
        self.tier_state: Any = None
        """Whatever the execution tier keeps per store (llvm: the native store context)."""
        self.heap: Any = None
        """The tier's GC heap, made on first use (see :meth:`gc_heap`)."""

    def set_epoch_deadline(self, deadline: int) -> None:
        """Set the deadline, and tell the tier (native code tests a flag the tier
        keeps from the epoch and the deadline; a host function may call this while
        Wasm code is on the stack)."""
        self.epoch_deadline = deadline
        changed = getattr(self.tier_state, "deadline_changed", None)
        if changed is not None:
            changed()

    def gc_heap(self, backend: Any = None) -> Any:
        """The tier's GC heap (``backend.gc_heap(store)``, the engine's backend by
        default): allocates the structs and arrays of constant expressions."""
        heap = self.heap
        if heap is None:
            if backend is None:
                backend = self.engine.backend
            make = getattr(backend, "gc_heap", None)
            if make is None:
                from ..errors import UnsupportedFeature

                raise UnsupportedFeature("gc", f"in the {backend.name} tier")
            heap = self.heap = make(self)
        return heap

    # ------------------------------------------------------------ limit checks
    def allow_memory(self, current: int, desired: int, maximum: int | None) -> bool:
        """May a memory grow from ``current`` to ``desired`` bytes?"""
        lim = self.limits.memory_size
        if lim is not None and desired > lim:
            return False
        if self.limiter is not None and not self.limiter("memory", current, desired, maximum):
            return False
        return True

    def allow_table(self, current: int, desired: int, maximum: int | None) -> bool:
        lim = self.limits.table_elements
        if lim is not None and desired > lim:
            return False
        if self.limiter is not None and not self.limiter("table", current, desired, maximum):
            return False
        return True

    def add_instance(self, inst: Any) -> None:
        lim = self.limits.instances
        if lim is not None and len(self.instances) >= lim:
            raise WasmtimeError(
                f"resource limit exceeded: instance count too high at {len(self.instances) + 1}"
            )
        self.instances.append(inst)

    def add_tables(self, n: int) -> None:
        lim = self.limits.tables
        if lim is not None and self.num_tables + n > lim:
            raise WasmtimeError(
                f"resource limit exceeded: table count too high at {self.num_tables + n}"
            )
        self.num_tables += n

    def add_memories(self, n: int) -> None:
        lim = self.limits.memories
        if lim is not None and self.num_memories + n > lim:
            raise WasmtimeError(
                f"resource limit exceeded: memory count too high at {self.num_memories + n}"
            )
        self.num_memories += n

    def running(self) -> bool:
        """Whether code of this store is on some thread's stack (say, one of its host
        functions is running): then it must not be released. Asked of the tier."""
        engine = self.engine
        backend = getattr(engine, "backend", None) if engine is not None else None
        probe = getattr(backend, "store_running", None)
        return bool(probe(self)) if probe is not None else False

    def release(self) -> None:
        """Break the reference cycles among this store's objects once nobody can use
        them (the public ``Store`` died or was closed).

        Instances, their functions and their tiers' state point at each other, so
        without this only the cyclic garbage collector frees a store, and with one
        store per request it ran often enough to cost a fifth of an instantiation
        (and kept dead memories' pages from the pool until it ran). Objects the host
        still holds stay usable as data (a memory's bytes, a global's value).
        """
        instances = self.instances
        self.instances = []
        for inst in instances:
            inst.release()
        components = self.components
        self.components = []
        for comp in components:
            comp.release()
        state = self.tier_state
        self.tier_state = None
        if state is not None and hasattr(state, "release"):
            state.release()
        heap = self.heap
        self.heap = None
        if heap is not None and hasattr(heap, "release"):
            heap.release()

    def remove_instance(self, inst: Any, tables: int, memories: int) -> None:
        """Undo :meth:`add_instance` and the counts of an instantiation that failed
        before its instance existed (a limit, an allocation), so failed attempts
        neither use up the limits nor keep their partial allocations alive."""
        if self.instances and self.instances[-1] is inst:
            self.instances.pop()
        elif inst in self.instances:
            self.instances.remove(inst)
        self.num_tables -= tables
        self.num_memories -= memories
