"""Rebuild ir.py from heap.c: ``python src/nanoproc/internal/llvm/gcruntime/build.py``.

Needs clang; see nanoproc.internal.cbuild (shared with valid/native/build.py). Frame
pointers are kept, as in all of the llvm tier's code.
"""

from __future__ import annotations

from pathlib import Path

from nanoproc.internal.cbuild import c_to_ir, write_ir_module

HERE = Path(__file__).resolve().parent

FLAGS = ("-fno-unroll-loops", "-fno-vectorize", "-fno-slp-vectorize", "-fno-omit-frame-pointer")


def main() -> None:
    ir = c_to_ir(HERE / "heap.c", FLAGS, keep_frame_pointers=True)
    write_ir_module(HERE, "The GC heap runtime", "heap.c", ir)


if __name__ == "__main__":
    main()
