"""What shapes the llvm tier's code besides the module (part of cache keys and AOT
artifacts). Stdlib only: a tiered engine reads it without loading LLVM."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_OPT = 2


@dataclass(frozen=True)
class CodeOptions:
    """What shapes generated code besides the module: part of cache keys and artifacts."""

    opt_level: int = DEFAULT_OPT
    fuel: bool = False
    """Fuel metering compiled in (Config.consume_fuel)."""
    epochs: bool = False
    """Epoch checks compiled in (Config.epoch_interruption)."""
    interrupts: bool = True
    """Loop headers test the interrupt byte even without epochs (Ctrl-C; see
    interrupts.py). Only benchmarks/interrupt_checks.py turns this off."""

    def key(self) -> str:
        base = f"opt={self.opt_level};fuel={int(self.fuel)};epochs={int(self.epochs)}"
        return base if self.interrupts else base + ";interrupts=0"


def opt_level_from_env(default: int = DEFAULT_OPT) -> int:
    """``NANOPROC_LLVM_OPT`` (0-3) overrides the optimisation level."""
    text = os.environ.get("NANOPROC_LLVM_OPT")
    if text is None:
        return default
    try:
        level = int(text)
    except ValueError:
        return default
    return min(max(level, 0), 3)
