"""The table of WASI function implementations, filled by ``@wasi_function``.

An implementation is ``impl(ctx, mem, *args)`` with the call's arguments in the
internal representation (unsigned ints). It returns None on success and raises
``WasiError`` (or lets an ``OSError`` through) to fail; the binding layer turns
either into the errno the guest gets.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from typing import Any

from . import abi
from .errno import Errno, WasiError
from .fdtable import DirEntry, Entry, FileEntry, SocketEntry, StreamEntry

Impl = Callable[..., Any]
FUNCTIONS: dict[str, Impl] = {}

I64_MAX = (1 << 63) - 1
U64_MASK = (1 << 64) - 1


def wasi_function(fn: Impl) -> Impl:
    """Register ``fn`` as the implementation of the WASI function of its name."""
    FUNCTIONS[fn.__name__] = fn
    return fn


# ------------------------------------------------------------ shared helpers
def filetype_of(mode: int) -> int:
    if stat.S_ISREG(mode):
        return abi.FILETYPE_REGULAR_FILE
    if stat.S_ISDIR(mode):
        return abi.FILETYPE_DIRECTORY
    if stat.S_ISLNK(mode):
        return abi.FILETYPE_SYMBOLIC_LINK
    if stat.S_ISCHR(mode):
        return abi.FILETYPE_CHARACTER_DEVICE
    if stat.S_ISBLK(mode):
        return abi.FILETYPE_BLOCK_DEVICE
    if stat.S_ISSOCK(mode):
        return abi.FILETYPE_SOCKET_STREAM
    return abi.FILETYPE_UNKNOWN


def filestat_values(st: os.stat_result) -> tuple[int, ...]:
    """A host stat as the witx ``filestat`` fields (times wrap like u64)."""
    return (st.st_dev & U64_MASK, st.st_ino & U64_MASK, filetype_of(st.st_mode),
            st.st_nlink, st.st_size, st.st_atime_ns & U64_MASK, st.st_mtime_ns & U64_MASK,
            st.st_ctime_ns & U64_MASK)  # fmt: skip


def check_fstflags(fst: int) -> None:
    """EINVAL for unknown flag bits or a time both given and "now"."""
    if fst & ~abi.FSTFLAGS_ALL:
        raise WasiError(Errno.INVAL)
    if (fst & abi.FST_ATIM and fst & abi.FST_ATIM_NOW) or (fst & abi.FST_MTIM and fst & abi.FST_MTIM_NOW):
        raise WasiError(Errno.INVAL)


def new_times(fst: int, atim: int, mtim: int, current: Callable[[], os.stat_result]) -> tuple[int, int] | None:
    """(atime, mtime) in ns for a set_times call, None if it changes nothing.

    Python cannot leave one time alone (UTIME_OMIT), so an untouched time is set
    again to its current value.
    """
    check_fstflags(fst)
    if not fst:
        return None
    now = time.time_ns()
    sets_a = fst & (abi.FST_ATIM | abi.FST_ATIM_NOW)
    sets_m = fst & (abi.FST_MTIM | abi.FST_MTIM_NOW)
    st = None if sets_a and sets_m else current()
    a = atim if fst & abi.FST_ATIM else now if fst & abi.FST_ATIM_NOW else st.st_atime_ns  # type: ignore[union-attr]
    m = mtim if fst & abi.FST_MTIM else now if fst & abi.FST_MTIM_NOW else st.st_mtime_ns  # type: ignore[union-attr]
    return _signed(a), _signed(m)


def _signed(t: int) -> int:
    return t - (1 << 64) if t > I64_MAX else t


def file_entry(entry: Entry) -> FileEntry:
    """``entry`` as a seekable file: ESPIPE for streams and sockets, EBADF for the rest."""
    if isinstance(entry, FileEntry):
        return entry
    if isinstance(entry, (StreamEntry, SocketEntry)):
        raise WasiError(Errno.SPIPE)
    raise WasiError(Errno.BADF)


def dir_entry(entry: Entry) -> DirEntry:
    if isinstance(entry, DirEntry):
        return entry
    raise WasiError(Errno.BADF)


def check_offset(value: int) -> int:
    """A file offset or size the host can take (EINVAL past 2**63 - 1)."""
    if value > I64_MAX:
        raise WasiError(Errno.INVAL)
    return value
