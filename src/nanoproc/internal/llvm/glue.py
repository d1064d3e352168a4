"""Entry trampolines and host thunks compiled once per shape, shared by every module.

The glue of a shape (its two entries and the host thunk of its native shape, see
irgen.boundary) does not depend on the module. Compiled into every module's object,
it was most of a small module's compile time at -O2 (a generated module with 10
shapes: 0.73 s with its glue, 0.20 s without). So a module's objects are its
partitions plus glue objects, each looked up per shape here (process memory, then
the disk compile cache); the shapes missing are compiled together into one object,
recorded under each of their keys. Glue symbols are ``weak_odr``: objects made for
different modules may both define a shape, and the linker keeps one definition.
"""

from __future__ import annotations

import hashlib
import threading

from . import cache
from .irgen.types import Shape, shape_name
from .symbols import thunk_shapes

MEMORY_OBJECTS = 4096
"""Glue objects kept in memory per process (a few KiB each)."""

_memory: dict[str, bytes] = {}
_lock = threading.Lock()


KEY_PREFIX = "glue-"
"""Glue entries' keys (and so their file names in the disk cache) start with it."""


def _key(kind: str, shape: Shape, opt_level: int) -> str:
    return KEY_PREFIX + cache.reading_key(f"glue-{kind}:{shape_name(shape)}", f"opt={opt_level}")


def _get(key: str) -> bytes | None:
    with _lock:
        obj = _memory.get(key)
    if obj is None:
        got = cache.load(key, memory=False)
        if got is not None and len(got) == 1:
            obj = got[0]
            _remember(key, obj)
    return obj


def _remember(key: str, obj: bytes) -> None:
    with _lock:
        if len(_memory) >= MEMORY_OBJECTS:
            _memory.pop(next(iter(_memory)))
        _memory[key] = obj


def glue_keys(shapes: list[Shape], opt_level: int) -> list[str]:
    """The cache keys of the glue objects that :func:`glue_objects` gives for
    ``shapes`` (what a unit's image key names them by, see link.unit_image_key)."""
    wanted = [("entry", s) for s in shapes] + [("thunk", s) for s in thunk_shapes(shapes)]
    return [_key(kind, shape, opt_level) for kind, shape in wanted]


def glue_objects(shapes: list[Shape], opt_level: int) -> list[bytes]:
    """Objects defining the entries of ``shapes`` and the host thunks of their native
    shapes (each object once)."""
    from .irgen.module import shared_glue_text

    wanted = [("entry", s) for s in shapes] + [("thunk", s) for s in thunk_shapes(shapes)]
    found: dict[str, bytes] = {}
    missing: list[tuple[str, Shape, str]] = []
    for kind, shape in wanted:
        key = _key(kind, shape, opt_level)
        obj = _get(key)
        if obj is None:
            missing.append((kind, shape, key))
        else:
            found[hashlib.sha256(obj).hexdigest()] = obj
    if missing:
        from . import jit

        target = jit.host_target()
        text = shared_glue_text([s for k, s, _ in missing if k == "entry"],
                                [s for k, s, _ in missing if k == "thunk"],
                                target.triple, target.datalayout)  # fmt: skip
        obj = jit.compile_ir(text, opt_level)
        for _, _, key in missing:
            _remember(key, obj)
            cache.store(key, [obj], memory=False)
        found[hashlib.sha256(obj).hexdigest()] = obj
    return list(found.values())
