"""What shapes the llvm tier's code besides the module (part of cache keys and AOT
artifacts). Stdlib only: a tiered engine reads it without loading LLVM."""

from __future__ import annotations

import os

from ..records import Frozen

_set = object.__setattr__

DEFAULT_OPT = 2


class CodeOptions(Frozen):
    """What shapes generated code besides the module: part of cache keys and artifacts."""

    __match_args__ = ("opt_level", "fuel", "epochs", "interrupts")
    opt_level: int
    fuel: bool
    """Fuel metering compiled in (Config.consume_fuel)."""
    epochs: bool
    """Epoch checks compiled in (Config.epoch_interruption)."""
    interrupts: bool
    """Loop headers test the interrupt byte even without epochs (Ctrl-C; see
    interrupts.py). Only benchmarks/interrupt_checks.py turns this off."""

    def __init__(self, opt_level: int = DEFAULT_OPT, fuel: bool = False, epochs: bool = False,
                 interrupts: bool = True) -> None:  # fmt: skip
        _set(self, "opt_level", opt_level)
        _set(self, "fuel", fuel)
        _set(self, "epochs", epochs)
        _set(self, "interrupts", interrupts)

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
