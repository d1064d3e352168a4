"""Moving external values (functions, tables, memories, globals, tags) between the
public wrappers and the internal entities of :mod:`nanoproc.internal.exec`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Union

from ..internal.exec.entities import FuncInst, GlobalInst, TableInst, TagInst
from ..internal.exec.memory import MemoryInst
from ..internal.exec.store import StoreState

if TYPE_CHECKING:
    from .func import Func
    from .globals import Global
    from .memory import Memory, SharedMemory
    from .table import Table
    from .tag import Tag

AsExtern = Union["Func", "Table", "Memory", "SharedMemory", "Global", "Tag"]
"""Anything that can be imported, exported or defined in a linker."""

Entity = FuncInst | TableInst | MemoryInst | GlobalInst | TagInst


_WRAP: dict[type, Callable[[Any, StoreState], Any]] = {}
"""Entity class -> the public class's ``_wrap`` (filled on first use: the public
classes import this module)."""


def wrap_extern(ext: Entity, st: StoreState) -> AsExtern:
    """The public object for internal entity ``ext`` of store ``st``."""
    wrap = _WRAP.get(type(ext))
    if wrap is None:
        if not _WRAP:
            _fill_wrappers()
        wrap = _WRAP.get(type(ext))
        if wrap is None:
            # A tier's subclass of an entity class (the llvm tier's natively stored
            # globals) wraps like its base.
            for base in type(ext).__mro__[1:]:
                wrap = _WRAP.get(base)
                if wrap is not None:
                    _WRAP[type(ext)] = wrap
                    break
            else:
                raise TypeError(f"not an external value: {ext!r}")
    return wrap(ext, st)  # type: ignore[no-any-return]


def _fill_wrappers() -> None:
    from .func import Func
    from .globals import Global
    from .memory import Memory
    from .table import Table
    from .tag import Tag

    _WRAP.update({FuncInst: Func._wrap, MemoryInst: Memory._wrap, GlobalInst: Global._wrap,
                  TableInst: Table._wrap, TagInst: Tag._wrap})  # fmt: skip


def unwrap_extern(item: Any) -> tuple[Entity, StoreState]:
    """The internal entity behind a public external value, and its store."""
    from .func import Func
    from .globals import Global
    from .memory import Memory
    from .table import Table
    from .tag import Tag

    if isinstance(item, (Func, Memory, Global, Table, Tag)):
        return item._ext, item._st
    raise TypeError("expected a Func, Global, Memory, SharedMemory, Tag, or Table")


def extern_kind(ext: Entity) -> str:
    """``func``, ``table``, ``memory``, ``global`` or ``tag``."""
    if isinstance(ext, FuncInst):
        return "func"
    if isinstance(ext, MemoryInst):
        return "memory"
    if isinstance(ext, GlobalInst):
        return "global"
    if isinstance(ext, TableInst):
        return "table"
    return "tag"


class ExternHandle:
    """Shared behaviour of the public external values: identity is the entity's."""

    __slots__ = ("_ext", "_st", "__weakref__")

    _ext: Any
    _st: StoreState

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._ext is self._ext  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return id(self._ext)
