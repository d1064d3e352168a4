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
from . import cache

if TYPE_CHECKING:
    from .compiler import CodeOptions, Progress
    from .irgen.module import Partition


def compile_parallel(cm: CompiledModule, parts: list[Partition], options: CodeOptions,
                     jobs: int, progress: Progress | None,
                     background: bool = False) -> list[bytes]:
    """Object code of every partition, in partition order (``background``: by niced
    workers, see workers.BACKGROUND_NICE)."""
    from ..workers import Worker, run_tasks
    from .compiler import compile_partition, module_binary, module_digest

    wasm = module_binary(cm)
    digest = module_digest(cm)
    count = [0]
    # Each partition's code goes to the compile cache as it arrives, so a process that
    # exits before the whole module is compiled (a short program on the tiered
    # strategy) leaves its progress for the next one.
    keys = [_partition_key(digest, options, p, len(parts)) for p in parts]
    objects: list[bytes | None] = []
    for k in keys:
        got = cache.load(k)
        objects.append(got[0] if got is not None and len(got) == 1 else None)
    todo = [i for i, o in enumerate(objects) if o is None]

    def here(p: Partition) -> bytes:
        return compile_partition(cm, p, options)

    def remote(w: Worker, i: int, p: Partition) -> bytes:
        return w.run("compile", i, digest, wasm, p.funcs, p.glue, p.index, options)  # type: ignore[no-any-return]

    def done(_i: int) -> None:
        count[0] += 1
        if progress is not None:
            progress(count[0], len(parts))

    for _ in range(len(parts) - len(todo)):
        done(-1)
    tasks: list[Any] = [parts[i] for i in todo]

    def here_stored(p: Partition) -> bytes:
        obj = here(p)
        cache.store(keys[parts.index(p)], [obj])
        return obj

    def remote_stored(w: Worker, i: int, p: Partition) -> bytes:
        obj = remote(w, i, p)
        cache.store(keys[parts.index(p)], [obj])
        return obj

    for i, obj in zip(todo, run_tasks(tasks, jobs, here_stored, remote_stored, done, background)):
        objects[i] = obj
    return [o for o in objects if o is not None]


def _partition_key(digest: str, options: CodeOptions, part: Partition, count: int) -> str:
    import hashlib

    funcs = hashlib.sha256(repr((part.funcs, part.glue)).encode()).hexdigest()[:16]
    return cache.cache_key(digest, f"{options.key()};part={part.index}/{count};{funcs}")
