"""Compiling a large module's partitions in parallel, in worker processes.

llvmlite serialises all LLVM work behind one process-wide lock, so threads would
not help: each worker process decodes the module itself (from its bytes, sent once
per worker), generates the IR of its partition and compiles it. The workers are
those of :mod:`..workers`, which never re-import the user's ``__main__``; where none
can be started, partitions are compiled here, one after another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exec.compiled import CompiledModule

if TYPE_CHECKING:
    from .compiler import CodeOptions, Progress
    from .irgen.module import Partition


def compile_parallel(cm: CompiledModule, parts: list[Partition], options: CodeOptions,
                     jobs: int, progress: Progress | None,
                     background: bool = False) -> list[bytes]:
    """Object code of every partition, in partition order (``background``: by niced
    workers, see workers.BACKGROUND_NICE)."""
    from .compiler import compile_partition, module_binary, module_digest
    from ..workers import Worker, run_tasks

    wasm = module_binary(cm)
    digest = module_digest(cm)
    count = [0]

    def here(p: Partition) -> bytes:
        return compile_partition(cm, p, options)

    def remote(w: Worker, i: int, p: Partition) -> bytes:
        return w.run("compile", i, digest, wasm, p.funcs, p.glue, p.index, options)  # type: ignore[no-any-return]

    def done(_i: int) -> None:
        count[0] += 1
        if progress is not None:
            progress(count[0], len(parts))

    tasks: list[Any] = list(parts)
    return run_tasks(tasks, jobs, here, remote, done, background)
