"""Tier 2: Wasm compiled to machine code through LLVM (llvmlite); see backend.

Importing this package needs llvmlite; the API reports why the tier is unavailable
when it cannot be imported.
"""

from .backend import LLVMBackend

__all__ = ["LLVMBackend"]
