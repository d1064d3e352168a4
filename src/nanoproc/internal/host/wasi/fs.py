"""Sandboxed path resolution: a guest path becomes (directory fd, one name).

The walk starts at a directory descriptor the guest holds and takes one component
at a time: each directory is opened relative to the previous one with
``O_NOFOLLOW | O_DIRECTORY``, ``..`` pops back to a directory the walk itself
opened (never past where it started: EPERM, as wasmtime), and symbolic links are
read with ``readlink(dir_fd=...)`` and expanded here, inside the sandbox, at most
``MAX_SYMLINKS`` times (ELOOP). Absolute paths and links are refused (EPERM).

The result is an open directory fd and a single name without ``/``: callers then
make exactly one ``*at`` call with it and ``follow_symlinks=False``, so nothing
is ever re-resolved from a host path string, and a symlink swapped in between
the walk and the call is acted on as a link, never followed out of the sandbox.
"""

from __future__ import annotations

import errno as os_errno
import os
from types import TracebackType

from .errno import Errno, WasiError

MAX_SYMLINKS = 40
"""Symbolic links one resolution may expand (as Linux and cap-std)."""

_O_WALK = (os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
           | getattr(os, "O_PATH", 0))  # fmt: skip
"""Opening a directory only to walk through it: search permission is enough."""


class Walk:
    """A resolved path: ``name`` in the directory ``dirfd``.

    Owns the directory fds it opened on the way (closed by ``close`` or ``with``).
    ``name`` is ``b"."`` when the path names a directory it walked into (a
    trailing slash, a final ``..``); ``trailing`` records a trailing slash.
    """

    __slots__ = ("base", "stack", "name", "trailing")

    def __init__(self, base: int) -> None:
        self.base = base
        self.stack: list[int] = []
        self.name = b"."
        self.trailing = False

    @property
    def dirfd(self) -> int:
        return self.stack[-1] if self.stack else self.base

    def close(self) -> None:
        while self.stack:
            os.close(self.stack.pop())

    def __enter__(self) -> Walk:
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()


def split(path: bytes) -> tuple[list[bytes], bool]:
    """Components of a relative path (empty and inner ``.`` dropped) and whether it
    ends with a slash. EPERM for an absolute path, ENOENT for an empty one."""
    if not path:
        raise WasiError(Errno.NOENT)
    if path.startswith(b"/"):
        raise WasiError(Errno.PERM)
    parts = path.split(b"/")
    last = parts[-1]
    comps = [c for c in parts[:-1] if c and c != b"."]
    if last:
        comps.append(last)
    return comps, not last


def resolve(base: int, path: bytes, follow: bool, slash_is_name: bool = False) -> Walk:
    """Walk ``path`` from directory fd ``base``.

    ``follow``: expand a symbolic link in the last component too (a trailing slash
    always does). ``slash_is_name``: with a trailing slash, still stop at the last
    component rather than walking into it (mkdir and rename want its name).
    """
    walk = Walk(base)
    try:
        _walk(walk, path, follow, slash_is_name)
    except BaseException:
        walk.close()
        raise
    return walk


def _walk(walk: Walk, path: bytes, follow: bool, slash_is_name: bool) -> None:
    comps, trailing = split(path)
    walk.trailing = trailing
    descend_last = trailing and not slash_is_name
    queue = comps[::-1]  # next component at the end
    links = 0
    while queue:
        comp = queue.pop()
        last = not queue
        if comp == b".":
            if last:
                walk.name = b"."
                return
            continue
        if comp == b"..":
            if not walk.stack:
                raise WasiError(Errno.PERM)
            os.close(walk.stack.pop())
            if last:
                walk.name = b"."
                return
            continue
        if last and not descend_last:
            target = readlink_or_none(walk.dirfd, comp) if follow else None
            if target is None:
                walk.name = comp
                return
            links = _count(links)
            more, slash = split(target)
            queue.extend(more[::-1])
            descend_last = slash and not slash_is_name
            walk.name = b"."
            continue
        try:
            fd = os.open(comp, _O_WALK, dir_fd=walk.dirfd)
        except OSError as e:
            if e.errno not in (os_errno.ELOOP, os_errno.ENOTDIR, os_errno.EMLINK):
                raise
            target = readlink_or_none(walk.dirfd, comp)
            if target is None:
                raise
            links = _count(links)
            more, slash = split(target)
            queue.extend(more[::-1])
            if last:
                descend_last = True
            walk.name = b"."
            continue
        walk.stack.append(fd)
        walk.name = b"."
    # Ran out of components inside a directory: the path names that directory.
    walk.name = b"."


def _count(links: int) -> int:
    links += 1
    if links > MAX_SYMLINKS:
        raise WasiError(Errno.LOOP)
    return links


def readlink_or_none(dirfd: int, name: bytes) -> bytes | None:
    """The target of symbolic link ``name``; None if it is not a link (or absent)."""
    try:
        return os.readlink(name, dir_fd=dirfd)
    except OSError as e:
        if e.errno in (os_errno.EINVAL, os_errno.ENOENT, os_errno.ENOTDIR):
            return None
        raise
