"""Linking object code into memory: our own ELF linker where it can (no LLVM
needed, see :mod:`.elflink`), else LLVM's JITLink (:func:`.jit.link`).

What our linker makes of a set of objects (an :class:`.elflink.Image`, linked at
address 0) is kept in the compile cache under a hash of the objects and of the
linker's source, so a warm start only maps it and patches its absolute addresses.
An image read back is used only if its checksum matches (see :mod:`.cache`) and it
decodes to a well-formed image; otherwise it is linked again.

``NANOPROC_LINKER=llvm`` always links through LLVM (to compare the two).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import struct
from functools import cache
from pathlib import Path
from typing import Any

from . import cache as code_cache
from . import elflink


def link(objects: list[bytes], symbols: list[str]) -> Any:
    """Link ``objects`` into memory and look up ``symbols`` (a Library: ``addresses``
    maps each symbol to its address; the code lives as long as the Library)."""
    if os.environ.get("NANOPROC_LINKER") != "llvm":
        try:
            return image(objects).load(symbols)
        except elflink.Unsupported:
            pass
    from .jit import link as llvm_link

    return llvm_link(objects, symbols)


IMAGE_PREFIX = "elf-"
"""Images' keys (and so their file names in the disk cache) start with it."""


@cache
def _linker_hash() -> str:
    return hashlib.sha256(Path(elflink.__file__).read_bytes()).hexdigest()[:16]


def image_key(objects: list[bytes]) -> str:
    h = hashlib.sha256(f"{elflink.FORMAT}:{_linker_hash()}".encode())
    for o in objects:
        h.update(struct.pack("<Q", len(o)))
        h.update(o)
    return IMAGE_PREFIX + h.hexdigest()


def image(objects: list[bytes]) -> elflink.Image:
    """The objects linked at address 0: from the compile cache, or linked now (and
    stored there); raises Unsupported for objects our linker does not handle."""
    key = image_key(objects) if code_cache.cache_dir() is not None else None
    if key is not None:
        got = code_cache.load(key, memory=False)
        if got is not None and len(got) == 1:
            img = elflink.Image.decode(got[0])
            if img is not None:
                return img
    img = elflink.prelink(objects)
    if key is not None:
        code_cache.store(key, [img.encode()], memory=False)
    return img


UNIT_TAG = "unit-image-1"
"""The second item of a unit's image entry starts with what it is (see unit_image)."""


def unit_image_key(unit_key: str, glue_keys: list[str]) -> str | None:
    """The key of a partial unit's linked image: the unit's own cache key (which
    names its objects: module, functions, code generator, host, options) and the
    glue entries' keys (which name theirs), with the linker's. No object is read or
    hashed for it, so a warm start finds the image of each unit without loading
    the unit's objects. None when there is no disk cache or LLVM links."""
    if code_cache.cache_dir() is None or os.environ.get("NANOPROC_LINKER") == "llvm":
        return None
    parts = [f"{elflink.FORMAT}:{_linker_hash()}:{UNIT_TAG}", unit_key, *glue_keys]
    return IMAGE_PREFIX + hashlib.sha256("\n".join(parts).encode()).hexdigest()


UnitImage = tuple[elflink.Image, int, list[int], list[bytes]]
"""(image, the biggest frame of its code, the unit's outside references, the
stackmap sections of its objects)."""


def load_unit_image(key: str) -> UnitImage | None:
    """A unit's image entry (see unit_image_key), or None if it is missing or not an
    intact, well-formed one (its checksum is checked by the cache)."""
    got = code_cache.load(key, memory=False)
    if got is None or len(got) != 2:
        return None
    img = elflink.Image.decode(got[0])
    try:
        meta = marshal.loads(got[1])
    except (ValueError, EOFError, TypeError):
        return None
    if img is None or not isinstance(meta, tuple) or len(meta) != 4 or meta[0] != UNIT_TAG:
        return None
    _tag, max_stack, refs, sections = meta
    if (type(max_stack) is not int or max_stack < 0 or not isinstance(refs, list)
            or not all(type(r) is int and r >= 0 for r in refs)
            or not isinstance(sections, list)
            or not all(type(s) is bytes for s in sections)):  # fmt: skip
        return None
    return img, max_stack, refs, sections


def store_unit_image(key: str, unit: UnitImage) -> None:
    img, max_stack, refs, sections = unit
    meta = marshal.dumps((UNIT_TAG, max_stack, refs, sections))
    code_cache.store(key, [img.encode(), meta], memory=False)
