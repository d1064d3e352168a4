"""The WIT syntax tree, as the parser produces it (names still unresolved)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Span


@dataclass(slots=True)
class Id:
    name: str
    span: Span


@dataclass(slots=True)
class Gate:
    """Attributes before an item: ``@since``, ``@unstable``, ``@deprecated``,
    ``@external-id``."""

    since: tuple[str, Span] | None = None
    unstable: tuple[str, Span] | None = None
    deprecated: tuple[str, Span] | None = None
    external_id: str | None = None


@dataclass(slots=True)
class PackageName:
    namespace: str
    name: str
    version: str | None
    span: Span

    def __str__(self) -> str:
        v = f"@{self.version}" if self.version else ""
        return f"{self.namespace}:{self.name}{v}"


@dataclass(slots=True)
class UsePath:
    """``iface`` (local name) or ``ns:pkg/iface@v`` (``package`` set)."""

    name: Id
    package: PackageName | None = None


# ---------------------------------------------------------------- types
@dataclass(slots=True)
class TyName:
    name: Id


@dataclass(slots=True)
class TyPrim:
    name: str


@dataclass(slots=True)
class TyList:
    elem: Any
    length: int | None
    span: Span


@dataclass(slots=True)
class TyMap:
    key: Any
    value: Any
    span: Span


@dataclass(slots=True)
class TyTuple:
    types: list[Any]
    span: Span


@dataclass(slots=True)
class TyOption:
    type: Any
    span: Span


@dataclass(slots=True)
class TyResult:
    ok: Any | None
    err: Any | None
    span: Span


@dataclass(slots=True)
class TyHandle:
    borrow: bool
    resource: Id


@dataclass(slots=True)
class TyFuture:
    type: Any | None
    span: Span


@dataclass(slots=True)
class TyStream:
    type: Any | None
    span: Span


# ---------------------------------------------------------------- definitions
@dataclass(slots=True)
class Func:
    is_async: bool
    params: list[tuple[Id, Any]]
    result: Any | None
    span: Span


@dataclass(slots=True)
class Case:
    name: Id
    type: Any | None
    docs: list[str]


@dataclass(slots=True)
class ResourceFunc:
    """``kind``: ``method``, ``static`` or ``constructor``."""

    kind: str
    name: Id
    func: Func
    docs: list[str]
    gate: Gate


@dataclass(slots=True)
class TypeDef:
    """``kind``: ``record``, ``variant``, ``enum``, ``flags``, ``resource`` or ``alias``."""

    kind: str
    name: Id
    docs: list[str]
    gate: Gate
    fields: list[Case] = field(default_factory=list)
    """Record fields, variant/enum cases, flags."""
    alias: Any | None = None
    funcs: list[ResourceFunc] = field(default_factory=list)
    has_body: bool = False


@dataclass(slots=True)
class UseName:
    name: Id
    as_: Id | None


@dataclass(slots=True)
class Use:
    path: UsePath
    names: list[UseName]
    gate: Gate
    span: Span


@dataclass(slots=True)
class FuncItem:
    name: Id
    func: Func
    docs: list[str]
    gate: Gate


@dataclass(slots=True)
class Interface:
    name: Id
    items: list[Any]
    """Use, TypeDef, FuncItem."""
    docs: list[str]
    gate: Gate


@dataclass(slots=True)
class Extern:
    """The target of an import/export: ``kind`` ``func`` (``func``), ``interface``
    (inline ``items``), ``path`` (``import iface;``) or ``named-path``
    (``import name: iface;``)."""

    kind: str
    name: Id | None
    func: Func | None = None
    items: list[Any] | None = None
    path: UsePath | None = None
    span: Span | None = None


@dataclass(slots=True)
class ImportExport:
    export: bool
    extern: Extern
    docs: list[str]
    gate: Gate


@dataclass(slots=True)
class Include:
    path: UsePath
    names: list[tuple[Id, Id]]
    gate: Gate
    span: Span


@dataclass(slots=True)
class World:
    name: Id
    items: list[Any]
    """ImportExport, Use, TypeDef, Include."""
    docs: list[str]
    gate: Gate


@dataclass(slots=True)
class TopUse:
    path: UsePath
    as_: Id | None
    span: Span


@dataclass(slots=True)
class File:
    """One ``.wit`` file (or one ``package ... { }`` block): its package name and items."""

    package: PackageName | None
    docs: list[str]
    items: list[Any]
    """Interface, World, TopUse."""
    nested: list[File] = field(default_factory=list)
    path: str = ""
