"""Differential test: the validator agrees with wasm-tools (wasmparser) on random modules.

``wasm-tools smith`` turns seeded random bytes into modules using every Wasm 3.0
feature; with ``--allow-invalid-funcs`` some function bodies are ill-typed. Each
module's verdict from ``decode_module`` + ``validate_module`` must match
``wasm-tools validate --features wasm3``.
"""

from __future__ import annotations

import random
import subprocess

import pytest
from valid_build import wasm_tools_exe

from nanoproc.internal.errors import DecodeError, ValidationError
from nanoproc.internal.valid import validate_module

FEATURES = [
    "--gc-enabled", "true", "--exceptions-enabled", "true", "--memory64-enabled", "true",
    "--tail-call-enabled", "true", "--simd-enabled", "true", "--relaxed-simd-enabled", "true",
    "--extended-const-enabled", "true", "--custom-page-sizes-enabled", "false",
    "--threads-enabled", "false", "--shared-everything-threads-enabled", "false",
    "--wide-arithmetic-enabled", "false", "--custom-descriptors-enabled", "false",
    "--compact-imports-enabled", "false",
]  # fmt: skip
SEEDS_PER_BATCH = 25


def _smith(seed: int, invalid: bool) -> bytes | None:
    rnd = random.Random(seed)
    raw = bytes(rnd.getrandbits(8) for _ in range(rnd.choice([300, 1500, 6000])))
    extra = ["--allow-invalid-funcs", "true"] if invalid else []
    res = subprocess.run([wasm_tools_exe(), "smith", *FEATURES, *extra], input=raw,
                         capture_output=True)  # fmt: skip
    return res.stdout if res.returncode == 0 else None


def _ours(wasm: bytes) -> str | None:
    """None if valid, else the error."""
    from nanoproc.internal.binary.decode import decode_module

    try:
        validate_module(decode_module(wasm))
    except (ValidationError, DecodeError) as e:
        return str(e)
    return None


@pytest.mark.parametrize("batch", range(4))
def test_agrees_with_wasm_tools(batch: int) -> None:
    disagreements = []
    checked = 0
    for seed in range(batch * SEEDS_PER_BATCH, (batch + 1) * SEEDS_PER_BATCH):
        wasm = _smith(seed, invalid=batch % 2 == 1)
        if wasm is None:
            continue
        theirs = subprocess.run([wasm_tools_exe(), "validate", "--features", "wasm3", "-"],
                                input=wasm, capture_output=True)  # fmt: skip
        ours = _ours(wasm)
        checked += 1
        if (theirs.returncode == 0) != (ours is None):
            disagreements.append(
                f"seed {seed}: wasm-tools {theirs.stderr.decode().strip() or 'valid'!r}, "
                f"nanoproc {ours or 'valid'!r}"
            )
    assert checked >= SEEDS_PER_BATCH // 2
    assert not disagreements, "\n".join(disagreements)
