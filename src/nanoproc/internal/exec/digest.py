"""The sha256 of a module's bytes, computed once per process for a big module.

Every cache asks for it by the module's bytes (the interp tier's translation cache,
the llvm tier's compile cache probe, the tier-up unit index): for CPython for WASI
(99 MB) each sha256 took ~0.3 s of a warm start, four times over. The digest of
the last big ``bytes`` object hashed is remembered with the object itself (bytes
are immutable: the same object has the same digest); so at most one input is held
beyond its owner's life, until another big one is hashed.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

REMEMBER_FROM = 1 << 20
"""Inputs from this size on are remembered (smaller ones hash in microseconds)."""

_last: list[Any] = [None, ""]
_lock = threading.Lock()


def sha256_hex(data: bytes) -> str:
    """``hashlib.sha256(data).hexdigest()``, remembered for the last big ``bytes``."""
    if len(data) < REMEMBER_FROM or data.__class__ is not bytes:
        return hashlib.sha256(data).hexdigest()
    with _lock:
        if _last[0] is data:
            return str(_last[1])
    digest = hashlib.sha256(data).hexdigest()
    with _lock:
        _last[0], _last[1] = data, digest
    return digest
