"""Compiling a large module's partitions in parallel, in worker processes.

llvmlite serialises all LLVM work behind one process-wide lock, so threads would
not help: each worker process decodes the module itself (from its bytes), generates
the IR of its partition and compiles it. Workers are started with ``spawn`` (a
forked LLVM or a fork of a threaded process is not safe).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING

from ..exec.compiled import CompiledModule

if TYPE_CHECKING:
    from .compiler import CodeOptions, Progress
    from .irgen.module import Partition


def _compile_in_worker(wasm: bytes, funcs: list[int], glue: bool, index: int,
                       options: CodeOptions) -> bytes:
    from ..binary import decode_module
    from . import jit
    from .irgen.module import ModuleInfo, Partition, partition_text

    module = decode_module(wasm)
    func_types = [module.functype(i) for i in module.func_typeidxs()]
    info = ModuleInfo(module, func_types, options.opt_level, options.fuel, options.epochs)
    target = jit.host_target()
    text = partition_text(info, Partition(index, funcs, glue), target.triple, target.datalayout)
    return jit.compile_ir(text, options.opt_level)


def compile_parallel(cm: CompiledModule, parts: list[Partition], options: CodeOptions,
                     jobs: int, progress: Progress | None) -> list[bytes]:
    """Object code of every partition, in partition order."""
    from .compiler import module_binary

    wasm = module_binary(cm)
    objects: list[bytes | None] = [None] * len(parts)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(parts)), mp_context=ctx) as pool:
        futures = {
            pool.submit(_compile_in_worker, wasm, p.funcs, p.glue, p.index, options): p.index
            for p in parts
        }
        done = 0
        for fut in as_completed(futures):
            objects[futures[fut]] = fut.result()
            done += 1
            if progress is not None:
                progress(done, len(parts))
    return [o for o in objects if o is not None]
