"""ModuleTypes: what validation hands to linking and the execution tiers."""

from __future__ import annotations

from ..records import Frozen
from ..syntax.types import (
    CompType,
    FuncType,
    GlobalType,
    HeapType,
    RefType,
    SubType,
    TableType,
    ValType,
)
from . import canon

_set = object.__setattr__


class ModuleTypes(Frozen):
    """The canonical types of a valid module.

    *Canonical* types are the usual dataclasses with every concrete heap type replaced
    by a process-wide canonical id (see :mod:`.canon`): they compare across modules
    with ``==`` and :mod:`.subtyping` (e.g. ``match_valtype``, ``is_subtype_canon``).
    """

    __slots__ = __match_args__ = ("type_ids", "func_type_ids", "func_types", "table_types",
                                  "global_types", "tag_type_ids", "elem_types", "num_instrs")  # fmt: skip
    type_ids: tuple[int, ...]
    """Type index -> canonical id. Equal ids mean equivalent types (iso-recursively)."""
    func_type_ids: tuple[int, ...]
    """Function index (imports first) -> canonical id of the function's type."""
    func_types: tuple[FuncType, ...]
    """Function index -> canonical function type."""
    table_types: tuple[TableType, ...]
    """Table index -> table type with a canonical element type."""
    global_types: tuple[GlobalType, ...]
    """Global index -> global type with a canonical value type."""
    tag_type_ids: tuple[int, ...]
    """Tag index -> canonical id of its function type."""
    elem_types: tuple[RefType, ...]
    """Element segment index -> canonical element type."""
    num_instrs: int
    """Instructions checked in function bodies (for throughput figures)."""

    def __init__(self, type_ids: tuple[int, ...], func_type_ids: tuple[int, ...],
                 func_types: tuple[FuncType, ...], table_types: tuple[TableType, ...],
                 global_types: tuple[GlobalType, ...], tag_type_ids: tuple[int, ...],
                 elem_types: tuple[RefType, ...], num_instrs: int = 0) -> None:  # fmt: skip
        _set(self, "type_ids", type_ids)
        _set(self, "func_type_ids", func_type_ids)
        _set(self, "func_types", func_types)
        _set(self, "table_types", table_types)
        _set(self, "global_types", global_types)
        _set(self, "tag_type_ids", tag_type_ids)
        _set(self, "elem_types", elem_types)
        _set(self, "num_instrs", num_instrs)

    @property
    def canon(self) -> tuple[int, ...]:
        """Alias of :attr:`type_ids` (type index -> canonical id)."""
        return self.type_ids

    def canon_heap(self, h: HeapType) -> HeapType:
        """Canonical form of one of this module's heap types."""
        return self.type_ids[h] if isinstance(h, int) else h

    def canon_valtype(self, t: ValType) -> ValType:
        """Canonical form of one of this module's value types."""
        if isinstance(t, RefType) and isinstance(t.heap, int):
            return RefType(t.nullable, self.type_ids[t.heap])
        return t

    def definition(self, typeidx: int) -> SubType:
        """Canonical definition of type ``typeidx`` (its references are canonical ids)."""
        return canon.definition(self.type_ids[typeidx])

    def comptype(self, typeidx: int) -> CompType:
        return canon.definition(self.type_ids[typeidx]).comp

    def is_subtype(self, a: int, b: int) -> bool:
        """Whether type index ``a`` is a declared subtype of type index ``b``."""
        return canon.is_subtype_canon(self.type_ids[a], self.type_ids[b])
