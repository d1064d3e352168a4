"""The component model API, shaped like wasmtime-py's ``wasmtime.component``.

``Component(engine, wasm)`` compiles a component; a ``Linker`` holds the host's
definitions for its imports and instantiates it into a ``Store``; the ``Instance``
gives its exported functions (``Func``), called with Python values. See
docs/components.md for the value mapping and docs/api-differences.md for the
differences from wasmtime-py.
"""

from ...internal.exec.component.values import (
    Record,
    ResourceAny,
    ResourceHost,
    ResourceType,
    Variant,
)
from .component import Component, ExportIndex
from .func import Func
from .instance import Instance
from .linker import Linker, LinkerInstance
from .types import (
    F32,
    F64,
    S8,
    S16,
    S32,
    S64,
    U8,
    U16,
    U32,
    U64,
    Bool,
    BorrowType,
    Char,
    ComponentInstanceType,
    ComponentItem,
    ComponentType,
    EnumType,
    ErrorContext,
    FlagsType,
    FuncType,
    FutureType,
    ListType,
    MapType,
    ModuleType,
    OptionType,
    OwnType,
    RecordType,
    ResultType,
    StreamType,
    String,
    TupleType,
    ValType,
    VariantType,
)

__all__ = [
    "Component", "ExportIndex", "Linker", "LinkerInstance", "Instance", "Func",
    "ResourceType", "ResourceAny", "ResourceHost", "ComponentType", "ModuleType",
    "ComponentItem", "ComponentInstanceType", "FuncType", "ValType", "Bool", "U8", "U16",
    "U32", "U64", "S8", "S16", "S32", "S64", "F32", "F64", "Char", "String", "ErrorContext",
    "ListType", "RecordType", "TupleType", "VariantType", "EnumType", "OptionType",
    "ResultType", "FlagsType", "StreamType", "FutureType", "OwnType", "BorrowType", "MapType",
    "Variant", "Record",
]  # fmt: skip
