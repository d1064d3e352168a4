"""From a validated module to loaded native code: IR generation, LLVM, the cache.

``module_objects`` produces a module's object code (from the compile cache when it
can): its partitions (a module compiled in this process links the entries and host
thunks shared per shape, glue.py, instead of compiling its own); ``load_code``
links it. Large modules are split into partitions compiled in
parallel by worker processes (see :mod:`.parallel`); a progress callback reports
partitions as they finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..exec.compiled import CompiledModule
from ..exec.digest import sha256_hex
from . import cache
from .code import LoadedCode
from .glue import glue_objects
from .irgen.types import Shape
from .options import DEFAULT_OPT, CodeOptions, opt_level_from_env
from .symbols import host_symbol, module_shapes

if TYPE_CHECKING:
    from .irgen.module import Partition

__all__ = ["DEFAULT_OPT", "CodeOptions", "opt_level_from_env"]

Progress = Callable[[int, int], None]
"""``progress(done, total)``: partitions compiled so far."""

PARALLEL_THRESHOLD = 20_000
"""Instructions from which a module is compiled by several worker processes."""
PARTITION_SIZE = 8_000
"""Target instructions per partition."""
MAX_PARTITION = 250_000
"""Most instructions in one partition, whatever the number of jobs: LLVM's memory grows
with the partition (a worker compiling 8 M instructions of CPython-for-WASI passed 4.8 GB
and kept growing), so a big module gets more partitions, never bigger ones."""


def module_binary(cm: CompiledModule) -> bytes:
    """The module's bytes (as given to the API, or re-encoded from its tree)."""
    binary = cm.binary
    if binary is None:
        from ..binary import encode_module

        binary = bytes(encode_module(cm.module))
        cm.binary = binary
    return binary


def module_digest(cm: CompiledModule) -> str:
    digest = cm.artifacts.get("sha256")
    if digest is None:
        digest = cm.artifacts["sha256"] = sha256_hex(module_binary(cm))
    return digest  # type: ignore[no-any-return]


def partitions(cm: CompiledModule, jobs: int, opt_level: int = DEFAULT_OPT) -> list[Partition]:
    """Split the defined functions into partitions of similar instruction counts."""
    from .irgen.function import light_function, quick_function, quick_module
    from .irgen.module import Partition

    mod = cm.module
    nimp = cm.num_imported_funcs
    funcs = list(range(nimp, nimp + len(mod.funcs)))
    # Functions for the light and the quick pipelines get partitions of their own,
    # which are then compiled with LLVM's fast code generator (jit.compile_ir).
    light = [f for f in funcs if light_function(mod.funcs[f - nimp].instrs)]
    quick: list[int] = []
    if quick_module(len(funcs), opt_level):
        alone = set(light)
        quick = [f for f in funcs
                 if f not in alone and quick_function(mod.funcs[f - nimp].instrs)]
    if not light and not quick:
        return partitions_of(cm, funcs, jobs)
    alone = set(light) | set(quick)
    parts = partitions_of(cm, [f for f in funcs if f not in alone], jobs)
    if quick:
        parts += partitions_of(cm, quick, jobs, len(parts))
    return parts + [Partition(len(parts) + i, [f], False) for i, f in enumerate(light)]


def partitions_of(cm: CompiledModule, funcs: list[int], jobs: int,
                  first: int = 0) -> list[Partition]:
    """``funcs`` in partitions of similar instruction counts, numbered from ``first``
    (the partition numbered 0 carries the glue)."""
    from .irgen.module import Partition

    sizes = [_size(cm, f) for f in funcs]
    total = sum(sizes)
    if jobs <= 1 or total < PARALLEL_THRESHOLD:
        return [Partition(first, funcs, not first)]
    count = max(2, min(jobs * 2, total // PARTITION_SIZE), -(-total // MAX_PARTITION))
    target = total / count
    parts: list[Partition] = []
    current: list[int] = []
    acc = 0
    for f, n in zip(funcs, sizes):
        current.append(f)
        acc += n
        if acc >= target:
            parts.append(Partition(first + len(parts), current, not first and not parts))
            current, acc = [], 0
    if current or not parts:
        parts.append(Partition(first + len(parts), current, not first and not parts))
    return parts


def _size(cm: CompiledModule, f: int) -> int:
    func = cm.module.funcs[f - cm.num_imported_funcs]
    return len(func.instrs) + 1


def compile_partition(cm: CompiledModule, part: Partition, options: CodeOptions,
                      unit: frozenset[int] | None = None) -> bytes:
    """Object code of ``part``; ``unit``: the functions of a partial unit (see
    .units), whose calls to other functions go through their FuncRecords."""
    from .unitcode import partition_object

    return partition_object(cm.module, cm.func_types, part, options, unit)


def cached_objects(cm: CompiledModule, options: CodeOptions) -> list[bytes] | None:
    """Object code of ``cm`` from the compile cache, or None."""
    return cache.load_quick(module_digest(cm), options.key())


def module_objects(cm: CompiledModule, options: CodeOptions, progress: Progress | None = None,
                   jobs: int | None = None, background: bool = False) -> list[bytes]:
    """Object code of ``cm`` (cached, or compiled now). ``background``: the caller is
    not the program's thread, so even a small module is compiled by a worker process
    (where one can be started), leaving this process's CPU to the running code."""
    objects = cache.load_quick(module_digest(cm), options.key())
    key = ""
    if objects is None:
        key = cache.cache_key(module_digest(cm), options.key())
        objects = cache.load(key)
    if objects is not None:
        if progress is not None:
            progress(1, 1)
        return objects
    if jobs is None:
        jobs = os.cpu_count() or 1
    parts = partitions(cm, jobs, options.opt_level)
    glue: list[bytes] = []
    if len(parts) > 1 and not parts[0].funcs and not background:
        # Every function is light or quick: the glue comes from the objects shared
        # per shape (glue.py), not from a partition of its own.
        parts = parts[1:]
        glue = glue_objects(module_shapes(cm.module), options.opt_level)
    if len(parts) == 1 and not background:
        # Compiled here: the glue comes from the objects shared per shape (glue.py),
        # not compiled again into this module (most of a small module's time).
        from dataclasses import replace  # compiling only: not at a warm start

        part = replace(parts[0], glue=False)
        objects = [compile_partition(cm, part, options),
                   *(glue or glue_objects(module_shapes(cm.module), options.opt_level))]
        if progress is not None:
            progress(1, 1)
    else:
        from .parallel import compile_parallel

        objects = compile_parallel(cm, parts, options, jobs, progress, background) + glue
    cache.store(key, objects)
    return objects


def load_code(cm: CompiledModule, objects: list[bytes]) -> LoadedCode:
    """Link ``objects`` (of ``cm``) into memory."""
    from .hostcall import register_thunks

    code = LoadedCode(cm, objects, module_shapes(cm.module))
    register_thunks(code)
    return code


class GlueLibrary:
    """Host thunks compiled on their own (for host functions' native shapes)."""

    def __init__(self, shapes: list[Shape]) -> None:
        from .link import link

        digest = "glue:" + ";".join(f"{p}_{r}" for p, r in shapes)
        objects = cache.load_quick(digest, "opt=2")
        if objects is None:
            from . import jit

            key = cache.cache_key(digest, "opt=2")
            objects = cache.load(key)
        if objects is None:
            from .irgen.module import glue_only_text  # (a warm start imports no IR code)

            target = jit.host_target()
            objects = [jit.compile_ir(glue_only_text(shapes, target.triple,
                                                     target.datalayout), 2)]  # fmt: skip
            cache.store(key, objects)
        self.library = link(objects, [host_symbol(s) for s in shapes])
        addr = self.library.addresses
        self.thunks = {s: addr[host_symbol(s)] for s in shapes}


def glue_library(shapes: list[Shape]) -> GlueLibrary:
    return GlueLibrary(shapes)
