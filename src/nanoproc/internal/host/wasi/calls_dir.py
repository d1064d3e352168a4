"""Directory descriptors: fd_readdir and the preopen queries (fd_prestat_*)."""

from __future__ import annotations

import os

from . import abi
from .ctx import WasiCtx
from .errno import Errno, WasiError
from .fdtable import DirEntry
from .guestmem import GuestMemory
from .registry import dir_entry, filetype_of, wasi_function


@wasi_function
def fd_prestat_get(ctx: WasiCtx, mem: GuestMemory, fd: int, buf: int) -> None:
    entry = ctx.table.get(fd)
    if not isinstance(entry, DirEntry) or entry.guest_name is None:
        raise WasiError(Errno.BADF)
    mem.store(abi.PRESTAT, buf, abi.PREOPENTYPE_DIR, len(entry.guest_name))


@wasi_function
def fd_prestat_dir_name(ctx: WasiCtx, mem: GuestMemory, fd: int, path: int, path_len: int) -> None:
    """The preopen's guest name (never its host path), without a NUL."""
    entry = ctx.table.get(fd)
    if not isinstance(entry, DirEntry) or entry.guest_name is None:
        raise WasiError(Errno.NOTDIR)
    name = entry.guest_name
    if path_len < len(name):
        raise WasiError(Errno.NAMETOOLONG)
    mem.write(path, name)


@wasi_function
def fd_readdir(ctx: WasiCtx, mem: GuestMemory, fd: int, buf: int, buf_len: int, cookie: int,
               bufused: int) -> None:  # fmt: skip
    """Entries from ``cookie`` on, packed as dirents with their names.

    The listing is a snapshot taken at cookie 0, so cookies stay valid while the
    program walks a large directory in many calls. An entry that does not fit is
    cut at the end of the buffer; ``bufused == buf_len`` tells the program there
    is more, as the spec says. Only the bytes written must be in bounds (as in
    wasmtime), so a generous ``buf_len`` is no error.
    """
    entry = dir_entry(ctx.table.get(fd))
    entry.require(abi.RIGHT_FD_READDIR)
    if not entry.perms.dir_read:
        raise WasiError(Errno.PERM)
    mem.check(bufused, 4)
    if cookie == abi.DIRCOOKIE_START or entry.listing is None:
        entry.listing = _listing(entry.fd)
    listing = entry.listing
    out = bytearray()
    index = cookie
    while index < len(listing) and len(out) < buf_len:
        name, ino, ftype = listing[index]
        index += 1
        out += abi.DIRENT.pack(index, ino, len(name), ftype)
        out += name
    del out[buf_len:]
    mem.write(buf, out)
    mem.set_u32(bufused, len(out))


def _listing(fd: int) -> list[tuple[bytes, int, int]]:
    """``.``, ``..`` and the directory's entries as (name, inode, filetype).

    ``..`` reports the directory's own inode: the real parent may be outside the
    sandbox, and nothing about it is shown.
    """
    own = os.fstat(fd).st_ino
    out = [(b".", own, abi.FILETYPE_DIRECTORY), (b"..", own, abi.FILETYPE_DIRECTORY)]
    with os.scandir(fd) as it:
        for e in it:
            name = os.fsencode(e.name)
            try:
                if e.is_symlink():
                    ftype = abi.FILETYPE_SYMBOLIC_LINK
                elif e.is_dir(follow_symlinks=False):
                    ftype = abi.FILETYPE_DIRECTORY
                elif e.is_file(follow_symlinks=False):
                    ftype = abi.FILETYPE_REGULAR_FILE
                else:
                    ftype = filetype_of(e.stat(follow_symlinks=False).st_mode)
                ino = e.inode()
            except OSError:  # vanished while listing
                continue
            out.append((name, ino, ftype))
    return out
