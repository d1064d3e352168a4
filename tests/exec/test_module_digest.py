"""exec/digest.py: a big module's sha256 computed once per process (every cache asks)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from nanoproc.internal.exec import digest


def test_big_bytes_are_hashed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = hashlib.sha256

    def counting(data: Any = b"") -> Any:
        calls.append(len(data))
        return real(data)

    monkeypatch.setattr(digest.hashlib, "sha256", counting)
    big = bytes(range(256)) * (digest.REMEMBER_FROM // 256 + 1)
    want = real(big).hexdigest()
    assert digest.sha256_hex(big) == want
    assert digest.sha256_hex(big) == want
    assert len(calls) == 1
    other = bytes(big[:-1]) + b"\x01"  # another object: hashed, its own digest
    assert digest.sha256_hex(other) == real(other).hexdigest() != want
    assert len(calls) == 2
    mutable = bytearray(other)  # never remembered: it may change
    assert digest.sha256_hex(mutable) == real(other).hexdigest()
    mutable[0] ^= 1
    assert digest.sha256_hex(mutable) == real(bytes(mutable)).hexdigest()
    small = b"\0asm\1\0\0\0"
    assert digest.sha256_hex(small) == real(small).hexdigest()
    assert len(calls) == 5
