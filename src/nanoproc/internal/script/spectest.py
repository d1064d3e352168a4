"""The ``spectest`` host module that spec scripts import from.

Values are the reference interpreter's (spec ``interpreter/host/spectest.ml``):
print functions that do nothing observable, immutable globals holding 666 / 666.6,
a funcref table with limits 10..20 (and ``table64``, its i64-indexed twin), and a memory of 1..2 pages.
Everything is built through the public API, so it works for any wasmtime-py-shaped
API module.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .values import f32_from_bits, f64_from_bits

F32_666_6 = 0x4426A666
"""666.6 rounded to f32."""
F64_666_6 = 0x4084D4CCCCCCCCCD
"""666.6 as f64."""

_PRINTS: dict[str, tuple[str, ...]] = {
    "print": (),
    "print_i32": ("i32",),
    "print_i64": ("i64",),
    "print_f32": ("f32",),
    "print_f64": ("f64",),
    "print_i32_f32": ("i32", "f32"),
    "print_f64_f64": ("f64", "f64"),
}


def _ignore(*_args: Any) -> None:
    """The print functions: the suite only checks they can be imported and called."""


def spectest_items(api: ModuleType, store: Any) -> dict[str, Any]:
    """The spectest exports, by name, as API externs in ``store``."""
    vt = api.ValType
    items: dict[str, Any] = {}
    for name, params in _PRINTS.items():
        ty = api.FuncType([getattr(vt, p)() for p in params], [])
        items[name] = api.Func(store, ty, _ignore)
    globals_ = {
        "global_i32": (vt.i32(), api.Val.i32(666)),
        "global_i64": (vt.i64(), api.Val.i64(666)),
        "global_f32": (vt.f32(), api.Val.f32(f32_from_bits(F32_666_6))),
        "global_f64": (vt.f64(), api.Val.f64(f64_from_bits(F64_666_6))),
    }
    for name, (ty, val) in globals_.items():
        items[name] = api.Global(store, api.GlobalType(ty, False), val)
    items["table"] = api.Table(store, api.TableType(vt.funcref(), api.Limits(10, 20)), None)
    table64 = _table64(api, store)
    if table64 is not None:
        items["table64"] = table64
    items["memory"] = api.Memory(store, api.MemoryType(api.Limits(1, 2)))
    return items


TABLE64_MODULE = bytes.fromhex("0061736d0100000004050170050a14070b01077461626c6536340100")
"""``(module (table (export "table64") i64 10 20 funcref))``: wasmtime-py's TableType
cannot describe an i64 table, so the table comes from a tiny module instead."""


def _table64(api: ModuleType, store: Any) -> Any:
    """A funcref table with i64 addresses and limits 10..20, or None if the engine
    has no table64 (then only scripts importing it fail)."""
    try:
        module = api.Module(store.engine, bytearray(TABLE64_MODULE))
        return api.Instance(store, module, []).exports(store)["table64"]
    except Exception:  # noqa: BLE001 - no memory64/table64 support in this engine
        return None


def define_spectest(api: ModuleType, linker: Any, store: Any) -> None:
    """Make the spectest exports importable through ``linker`` as module ``spectest``."""
    for name, item in spectest_items(api, store).items():
        linker.define(store, "spectest", name, item)
