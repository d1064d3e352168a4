"""Resolved WIT: packages, interfaces, worlds, types and functions (wit-parser's
``Resolve``), as the resolver builds them and the printer and decoder use them.

A type reference (``Type``) is a primitive's name (``"u32"``) or the index of a
:class:`TypeDef` in ``Resolve.types``; a reference to a resource type stands for an
owned handle, as in WIT source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Type = str | int


@dataclass(slots=True)
class Stability:
    """``unknown`` (no gate), ``stable`` (``since``) or ``unstable`` (``feature``),
    either possibly ``deprecated``."""

    kind: str = "unknown"
    since: str | None = None
    feature: str | None = None
    deprecated: str | None = None


@dataclass(slots=True)
class TypeDef:
    """``kind``: record, variant, enum, flags, resource, alias, list, map, tuple, option,
    result, own, borrow, future, stream. ``data`` depends on it: fields/cases
    ``[(name, Type | None, docs)]``, an alias's Type, ``(elem, length)`` for lists,
    ``(key, value)``, a list of Types, ``(ok, err)``, a resource's type id."""

    kind: str
    data: Any = None
    name: str | None = None
    owner: tuple[str, int] | None = None
    """("interface", id) or ("world", id); None for anonymous types."""
    docs: str | None = None
    stability: Stability = field(default_factory=Stability)
    external_id: str | None = None


@dataclass(slots=True)
class Function:
    """``kind``: freestanding, method, static or constructor (``resource`` its type id)."""

    name: str
    kind: str
    params: list[tuple[str, Type]]
    result: Type | None
    is_async: bool = False
    resource: int | None = None
    docs: str | None = None
    stability: Stability = field(default_factory=Stability)
    external_id: str | None = None

    def item_name(self) -> str:
        """The name as written in WIT (without ``[method]r.`` etc.)."""
        n = self.name
        if self.kind in ("method", "static"):
            return n.split(".", 1)[1]
        return n


@dataclass(slots=True)
class Interface:
    name: str | None
    package: int | None = None
    types: dict[str, int] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    docs: str | None = None
    stability: Stability = field(default_factory=Stability)


WorldKey = tuple[str, Any]
"""("name", label) or ("iface", interface id)."""


@dataclass(slots=True)
class WorldItem:
    """``kind``: interface (``iface``), function (``func``) or type (``type`` id)."""

    kind: str
    iface: int | None = None
    func: Function | None = None
    type: int | None = None
    stability: Stability = field(default_factory=Stability)
    docs: str | None = None
    external_id: str | None = None


@dataclass(slots=True)
class World:
    name: str
    package: int | None = None
    imports: dict[WorldKey, WorldItem] = field(default_factory=dict)
    exports: dict[WorldKey, WorldItem] = field(default_factory=dict)
    includes: list[Any] = field(default_factory=list)
    docs: str | None = None
    stability: Stability = field(default_factory=Stability)


@dataclass(slots=True)
class PackageName:
    namespace: str
    name: str
    version: str | None = None

    def __str__(self) -> str:
        v = f"@{self.version}" if self.version else ""
        return f"{self.namespace}:{self.name}{v}"

    def key(self) -> tuple[str, str, str | None]:
        return (self.namespace, self.name, self.version)


@dataclass(slots=True)
class Package:
    name: PackageName
    docs: str | None = None
    interfaces: dict[str, int] = field(default_factory=dict)
    worlds: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Resolve:
    packages: list[Package] = field(default_factory=list)
    package_names: dict[tuple[str, str, str | None], int] = field(default_factory=dict)
    interfaces: list[Interface] = field(default_factory=list)
    worlds: list[World] = field(default_factory=list)
    types: list[TypeDef] = field(default_factory=list)

    def add_type(self, t: TypeDef) -> int:
        self.types.append(t)
        return len(self.types) - 1

    def add_interface(self, i: Interface) -> int:
        self.interfaces.append(i)
        return len(self.interfaces) - 1

    def add_world(self, w: World) -> int:
        self.worlds.append(w)
        return len(self.worlds) - 1

    def interface_path(self, iid: int) -> str:
        """``ns:pkg/iface@version`` of a named interface."""
        i = self.interfaces[iid]
        assert i.package is not None and i.name is not None
        p = self.packages[i.package].name
        v = f"@{p.version}" if p.version else ""
        return f"{p.namespace}:{p.name}/{i.name}{v}"

    def type_interface_dep(self, tid: int) -> int | None:
        """The interface a ``use``d type comes from (None if not a use)."""
        t = self.types[tid]
        if t.kind != "alias" or not isinstance(t.data, int):
            return None
        other = self.types[t.data]
        if other.owner == t.owner or other.owner is None or other.owner[0] != "interface":
            return None
        return other.owner[1]

    def interface_direct_deps(self, iid: int) -> list[int]:
        out = []
        for tid in self.interfaces[iid].types.values():
            d = self.type_interface_dep(tid)
            if d is not None:
                out.append(d)
        return out
