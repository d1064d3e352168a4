"""Tier 2: Wasm compiled to machine code through LLVM (llvmlite); see backend.

Importing ``LLVMBackend`` needs llvmlite; the API reports why the tier is
unavailable when it cannot be imported. The package itself imports nothing heavy,
so a tiered engine can read the compile cache (``.cache``, ``.options``) before it
decides to load LLVM.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LLVMBackend"]


def __getattr__(name: str) -> Any:
    if name == "LLVMBackend":
        from .backend import LLVMBackend

        return LLVMBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
