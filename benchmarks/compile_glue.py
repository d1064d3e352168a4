#!/usr/bin/env python3
"""Compile time of small modules with and without the glue shared per shape (llvm/glue.py).

    python benchmarks/compile_glue.py                # 45 generated modules at -O2
    python benchmarks/compile_glue.py --count 90 --opt 0

The modules are the fuzz generator's (gen, exc and gc paths in turn, SIMD on): a few
functions each, of many different signatures, as a differential campaign compiles
them. For each module, interleaved: the old way (entries and host thunks compiled into
the module's own object) and the new one (the module's functions, then
``glue_objects`` for its shapes, from the shared cache where it has them). The first
``--warm`` modules of another seed fill the glue cache first, as a campaign's first
minutes do. Prints the medians and their ratio; the machine may be shared: compare
the ratio, not the times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=45)
    p.add_argument("--warm", type=int, default=300)
    p.add_argument("--opt", type=int, default=2)
    args = p.parse_args()
    os.environ["NANOPROC_FUZZ_SIMD"] = "all"

    import nanoproc
    from nanoproc.api.module import compile_binary
    from nanoproc.fuzz.cases import build
    from nanoproc.internal.llvm import compiler
    from nanoproc.internal.llvm.glue import glue_objects
    from nanoproc.internal.llvm.irgen.module import Partition
    from nanoproc.internal.llvm.symbols import module_shapes

    engine = nanoproc.Engine(nanoproc.Config())
    options = compiler.CodeOptions(args.opt, fuel=True)
    paths = ("gen", "exc", "gc")
    for i in range(args.warm):
        built = build(paths[i % 3], 555 * 1_000_003 + i)
        assert built is not None and built.tree is not None
        glue_objects(module_shapes(built.tree), args.opt)
    old: list[float] = []
    new: list[float] = []
    for i in range(args.count):
        built = build(paths[i % 3], 9191 * 1_000_003 + i)
        assert built is not None
        cm = compile_binary(engine, built.wasm)
        funcs = list(range(cm.num_imported_funcs, len(cm.func_types)))
        t0 = time.perf_counter()
        compiler.compile_partition(cm, Partition(0, funcs, True), options)
        old.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        compiler.compile_partition(cm, Partition(0, funcs, False), options)
        glue_objects(module_shapes(cm.module), args.opt)
        new.append(time.perf_counter() - t0)
    a, b = statistics.median(old), statistics.median(new)
    print(f"{args.count} modules at -O{args.opt}: own glue {a * 1000:.0f} ms, "
          f"shared glue {b * 1000:.0f} ms (median) -> {b / a:.2f}x")


if __name__ == "__main__":
    main()
