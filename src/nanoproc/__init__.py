"""nanoproc: a WebAssembly runtime for Python, shaped like wasmtime-py.

Code written for wasmtime-py runs unchanged after ``import nanoproc as wasmtime``;
docs/api-differences.md lists every difference.
"""

from .api.config import Config
from .api.engine import Engine
from .api.exn import ExnRef, ThrownException
from .api.func import Caller, Func
from .api.globals import Global
from .api.instance import Instance, InstanceExports
from .api.linker import InstancePre, Linker
from .api.memory import Memory, SharedMemory
from .api.module import Module
from .api.store import Store, Storelike
from .api.table import Table
from .api.tag import Tag
from .api.trap import ExitTrap, Frame, Trap, TrapCode, WasmtimeError
from .api.types import (
    ExportType,
    FuncType,
    GlobalType,
    ImportType,
    Limits,
    MemoryType,
    TableType,
    TagType,
    ValType,
)
from .api.values import I31, ArrayRef, StructRef, Val
from .api.wasi import DirPerms, FilePerms, WasiConfig
from .api.wat import wat2wasm

__all__ = [
    "wat2wasm",
    "Config",
    "Engine",
    "Store",
    "Storelike",
    "FuncType",
    "GlobalType",
    "MemoryType",
    "TableType",
    "ValType",
    "Limits",
    "ImportType",
    "ExportType",
    "Val",
    "Func",
    "Caller",
    "Table",
    "Memory",
    "SharedMemory",
    "Global",
    "Trap",
    "TrapCode",
    "ExitTrap",
    "Frame",
    "Module",
    "Instance",
    "InstanceExports",
    "WasiConfig",
    "DirPerms",
    "FilePerms",
    "Linker",
    "WasmtimeError",
    "TagType",
    "Tag",
    "InstancePre",
    "ExnRef",
    "ThrownException",
    "I31",
    "StructRef",
    "ArrayRef",
]
