"""Tier 2: Wasm compiled to machine code through LLVM (llvmlite); see backend.

Importing this package needs llvmlite; the API reports why the tier is unavailable
when it cannot be imported.
"""

import os as _os

if _os.environ.get("NANOPROC_LLVM_DEV") == "1":  # development gate, removed when complete
    from .backend import LLVMBackend

    __all__ = ["LLVMBackend"]
