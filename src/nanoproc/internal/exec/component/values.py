"""Component-level values as Python sees them (wasmtime-py's natural values).

``bool``, ``int``, ``float``, ``str`` (strings and chars), ``bytes`` (``list<u8>``),
``list``, ``tuple``, ``set`` of labels (flags), ``str`` (enums), ``None``/payload
(options), and these classes: :class:`Record`, :class:`Variant` (variants, and
results or options whose cases Python cannot tell apart), :class:`ResourceAny` (a
resource handle the host holds) and :class:`ResourceHost` (a host-defined
resource). They are defined here, beside the runtime that makes them, and
re-exported by ``nanoproc.component``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import WasmtimeError


class Record:
    """A record value: one attribute per field, named as in the type (``getattr(r,
    "field-name")``; the snake_case spelling ``r.field_name`` works too)."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:
        # Only reached when ``name`` is not a field: try its kebab-case spelling.
        if "_" in name and not name.startswith("__"):
            d = self.__dict__
            kebab = name.replace("_", "-")
            if kebab in d:
                return d[kebab]
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        for key, value in self.__dict__.items():
            try:
                if getattr(other, key) != value:
                    return False
            except AttributeError:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"Record({fields})"


@dataclass
class Variant:
    """A variant case: ``tag`` is the case name, ``payload`` its value (None if none)."""

    tag: str
    payload: Any = None


class ResourceType:
    """A resource type at run time: ``ResourceType.host(n)`` is the host-defined type
    numbered ``n`` (equal to every other ``host(n)``); a component instance defines
    a new type for each resource it defines (equal only to itself)."""

    __slots__ = ("_rt",)

    _rt: RType

    def __init__(self) -> None:
        raise WasmtimeError("Cannot directly construct a `ResourceType`")

    @classmethod
    def host(cls, val: int) -> ResourceType:
        """The host-defined resource type numbered ``val`` (a u32)."""
        if not isinstance(val, int) or isinstance(val, bool) or not 0 <= val < 1 << 32:
            raise TypeError("expected a u32 resource type number")
        return cls._of(host_rtype(val))

    @classmethod
    def _of(cls, rt: RType) -> ResourceType:
        t = object.__new__(cls)
        t._rt = rt
        return t

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResourceType) and other._rt.key is self._rt.key

    def __hash__(self) -> int:
        return id(self._rt.key)

    def __repr__(self) -> str:
        rt = self._rt
        return f"ResourceType.host({rt.host_id})" if rt.host_id is not None else f"<{rt}>"


class RType:
    """A resource type at run time (CanonicalABI.md ``ResourceType``).

    ``key`` is its identity: handles are checked with ``h.rt.key is t.key``. A
    guest-defined type is its own key; host types share one key per number, so
    every definition of ``host(n)`` (each with the destructor its linker gave)
    is the same type. ``impl`` is the defining component instance (None for the
    host); ``dtor`` the destructor (a core function, or the host's Python callable
    ``dtor(store, rep)``), or None.
    """

    __slots__ = ("key", "impl", "dtor", "host_id", "name", "__weakref__")

    def __init__(self, impl: Any, dtor: Any = None, host_id: int | None = None,
                 name: str = "") -> None:  # fmt: skip
        self.key: Any = object()
        """(Not ``self``: a type referring to itself would be a cycle that only the
        cyclic GC frees, and one store per request makes that collector run often.)"""
        self.impl = impl
        self.dtor = dtor
        self.host_id = host_id
        self.name = name

    @property
    def guest(self) -> bool:
        return self.host_id is None

    def __repr__(self) -> str:
        if self.host_id is not None:
            return f"host resource {self.host_id}"
        return f"resource {self.name or hex(id(self))}"


_HOST_KEYS: dict[int, object] = {}


def host_rtype(n: int, dtor: Any = None) -> RType:
    """A host resource type numbered ``n`` with destructor ``dtor``."""
    rt = RType(None, dtor, n, f"host-{n}")
    key = _HOST_KEYS.get(n)
    if key is None:
        key = _HOST_KEYS[n] = object()
    rt.key = key
    return rt


class ResourceAny:
    """A resource handle held by the host: an ``own`` handle the host received (it
    must ``drop`` it, running the destructor), or a ``borrow`` valid only during the
    host function call that received it."""

    __slots__ = ("_rt", "_rep", "_owned", "_live", "__weakref__")

    _rt: RType
    _rep: int
    _owned: bool
    _live: bool

    def __init__(self) -> None:
        raise WasmtimeError("Cannot directly construct a `ResourceAny`")

    @classmethod
    def _new(cls, rt: RType, rep: int, owned: bool) -> ResourceAny:
        r = object.__new__(cls)
        r._rt = rt
        r._rep = rep
        r._owned = owned
        r._live = True
        return r

    @property
    def type(self) -> ResourceType:
        return ResourceType._of(self._rt)

    @property
    def owned(self) -> bool:
        """Whether this is an ``own`` handle (else a ``borrow``)."""
        return self._owned

    def drop(self, store: Any) -> None:
        """Drop an owned handle: runs the resource's destructor (Wasm code for a
        guest-defined resource). A handle can be dropped (or passed on as ``own``)
        once; a borrow cannot be dropped by the host."""
        from .runtime import host_drop

        host_drop(self, store)

    def to_host(self, store: Any) -> ResourceHost:
        """This handle as a :class:`ResourceHost` (host-defined resources only)."""
        rt = self._rt
        if rt.host_id is None:
            raise WasmtimeError("resource is not a host-defined resource")
        if not self._live:
            raise WasmtimeError("resource handle has already been dropped or moved")
        out = ResourceHost._make(self._rep, rt.host_id, self._owned)
        if self._owned:
            self._live = False
        return out

    def __repr__(self) -> str:
        kind = "own" if self._owned else "borrow"
        state = "" if self._live else ", dead"
        return f"<ResourceAny {kind} {self._rt}{state}>"


class ResourceHost:
    """A handle to a host-defined resource: the host's ``rep`` (a u32) and resource
    type number ``type``, owned or borrowed."""

    __slots__ = ("_rep", "_ty", "_owned")

    _rep: int
    _ty: int
    _owned: bool

    def __init__(self) -> None:
        raise WasmtimeError("Cannot directly construct a `ResourceHost`")

    @classmethod
    def _make(cls, rep: int, ty: int, owned: bool) -> ResourceHost:
        for what, v in (("rep", rep), ("type", ty)):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << 32:
                raise TypeError(f"expected a u32 resource {what}")
        r = object.__new__(cls)
        r._rep = rep
        r._ty = ty
        r._owned = owned
        return r

    @classmethod
    def own(cls, rep: int, ty: int) -> ResourceHost:
        return cls._make(rep, ty, True)

    @classmethod
    def borrow(cls, rep: int, ty: int) -> ResourceHost:
        return cls._make(rep, ty, False)

    @property
    def rep(self) -> int:
        return self._rep

    @property
    def type(self) -> int:
        return self._ty

    @property
    def owned(self) -> bool:
        return self._owned

    def to_any(self, store: Any) -> ResourceAny:
        """This handle as a :class:`ResourceAny`."""
        return ResourceAny._new(host_rtype(self._ty), self._rep, self._owned)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ResourceHost) and other._rep == self._rep
                and other._ty == self._ty and other._owned == self._owned)  # fmt: skip

    def __hash__(self) -> int:
        return hash((self._rep, self._ty, self._owned))

    def __repr__(self) -> str:
        kind = "own" if self._owned else "borrow"
        return f"ResourceHost.{kind}({self._rep}, {self._ty})"
