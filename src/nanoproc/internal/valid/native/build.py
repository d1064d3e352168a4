"""Rebuild ir.py from bodies.c: ``python src/nanoproc/internal/valid/native/build.py``.

Needs clang; see nanoproc.internal.cbuild (shared with llvm/gcruntime/build.py).
"""

from __future__ import annotations

from pathlib import Path

from nanoproc.internal.cbuild import c_to_ir, write_ir_module

HERE = Path(__file__).resolve().parent


def main() -> None:
    write_ir_module(HERE, "The native body filter", "bodies.c", c_to_ir(HERE / "bodies.c"))


if __name__ == "__main__":
    main()
