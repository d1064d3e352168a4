"""fd_* functions on open descriptors: read, write, seek, sync, stat, flags,
rights, close and renumber (directory listing and prestat are in calls_dir)."""

from __future__ import annotations

import errno
import fcntl
import os

from . import abi
from .ctx import WasiCtx
from .errno import Errno, WasiError
from .fdtable import DirEntry, FileEntry, SocketEntry, StreamEntry
from .guestmem import GuestMemory
from .registry import check_offset, file_entry, filestat_values, new_times, wasi_function
from .sockets import recv_into, send

_SYNC_FLAGS = abi.FDFLAG_DSYNC | abi.FDFLAG_RSYNC | abi.FDFLAG_SYNC
_ADVICE = [getattr(os, n, 0) for n in ("POSIX_FADV_NORMAL", "POSIX_FADV_SEQUENTIAL",
           "POSIX_FADV_RANDOM", "POSIX_FADV_WILLNEED", "POSIX_FADV_DONTNEED",
           "POSIX_FADV_NOREUSE")]  # fmt: skip


# ------------------------------------------------------------ reading and writing
@wasi_function
def fd_read(ctx: WasiCtx, mem: GuestMemory, fd: int, iovs: int, iovs_len: int, nread: int) -> None:
    entry = ctx.table.get(fd)
    if isinstance(entry, FileEntry):
        if not entry.readable:
            raise WasiError(Errno.BADF)
        entry.require(abi.RIGHT_FD_READ)
        buf = mem.first_iovec(iovs, iovs_len)
        n = os.readv(entry.fd, [buf]) if len(buf) else 0
    elif isinstance(entry, StreamEntry):
        stream = entry.input
        if stream is None:
            raise WasiError(Errno.BADF)
        entry.require(abi.RIGHT_FD_READ)
        buf = mem.first_iovec(iovs, iovs_len)
        n = stream.readinto(buf) if len(buf) else 0
    elif isinstance(entry, SocketEntry):
        entry.require(abi.RIGHT_FD_READ)
        n = recv_into(entry, mem.first_iovec(iovs, iovs_len), 0)
    else:
        raise WasiError(Errno.BADF)
    mem.set_u32(nread, n)


@wasi_function
def fd_write(ctx: WasiCtx, mem: GuestMemory, fd: int, iovs: int, iovs_len: int, nwritten: int) -> None:
    entry = ctx.table.get(fd)
    if isinstance(entry, FileEntry):
        if not entry.writable:
            raise WasiError(Errno.BADF)
        entry.require(abi.RIGHT_FD_WRITE)
        buf = mem.first_iovec(iovs, iovs_len)
        n = os.write(entry.fd, buf) if len(buf) else 0
    elif isinstance(entry, StreamEntry):
        stream = entry.output
        if stream is None:
            raise WasiError(Errno.BADF)
        entry.require(abi.RIGHT_FD_WRITE)
        buf = mem.first_iovec(iovs, iovs_len)
        n = stream.write(buf) if len(buf) else 0
    elif isinstance(entry, SocketEntry):
        entry.require(abi.RIGHT_FD_WRITE)
        n = send(entry, mem.first_iovec(iovs, iovs_len), 0)
    else:
        raise WasiError(Errno.BADF)
    mem.set_u32(nwritten, n)


@wasi_function
def fd_pread(ctx: WasiCtx, mem: GuestMemory, fd: int, iovs: int, iovs_len: int, offset: int,
             nread: int) -> None:  # fmt: skip
    entry = file_entry(ctx.table.get(fd))
    if not entry.readable:
        raise WasiError(Errno.BADF)
    entry.require(abi.RIGHT_FD_READ | abi.RIGHT_FD_SEEK)
    check_offset(offset)
    buf = mem.first_iovec(iovs, iovs_len)
    n = _pread_into(entry.fd, buf, offset) if len(buf) else 0
    mem.set_u32(nread, n)


def _pread_into(fd: int, buf: memoryview, offset: int) -> int:
    if hasattr(os, "preadv"):
        return os.preadv(fd, [buf], offset)
    data = os.pread(fd, len(buf), offset)
    buf[: len(data)] = data
    return len(data)


@wasi_function
def fd_pwrite(ctx: WasiCtx, mem: GuestMemory, fd: int, iovs: int, iovs_len: int, offset: int,
              nwritten: int) -> None:  # fmt: skip
    entry = file_entry(ctx.table.get(fd))
    if not entry.writable:
        raise WasiError(Errno.BADF)
    entry.require(abi.RIGHT_FD_WRITE | abi.RIGHT_FD_SEEK)
    check_offset(offset)
    buf = mem.first_iovec(iovs, iovs_len)
    n = os.pwrite(entry.fd, buf, offset) if len(buf) else 0
    mem.set_u32(nwritten, n)


# ------------------------------------------------------------ position
@wasi_function
def fd_seek(ctx: WasiCtx, mem: GuestMemory, fd: int, offset: int, whence: int, newoffset: int) -> None:
    entry = file_entry(ctx.table.get(fd))
    if whence > abi.WHENCE_END:
        raise WasiError(Errno.INVAL)
    offset -= (offset >> 63) << 64  # filedelta is signed
    tell_only = offset == 0 and whence == abi.WHENCE_CUR
    entry.require(abi.RIGHT_FD_TELL if tell_only else abi.RIGHT_FD_SEEK)
    how = (os.SEEK_SET, os.SEEK_CUR, os.SEEK_END)[whence]
    mem.check(newoffset, 8)
    mem.set_u64(newoffset, os.lseek(entry.fd, offset, how))


@wasi_function
def fd_tell(ctx: WasiCtx, mem: GuestMemory, fd: int, offset: int) -> None:
    entry = file_entry(ctx.table.get(fd))
    entry.require(abi.RIGHT_FD_TELL)
    mem.set_u64(offset, os.lseek(entry.fd, 0, os.SEEK_CUR))


# ------------------------------------------------------------ file-only operations
def _plain_file(ctx: WasiCtx, fd: int) -> FileEntry:
    entry = ctx.table.get(fd)
    if not isinstance(entry, FileEntry):
        raise WasiError(Errno.BADF)
    return entry


@wasi_function
def fd_advise(ctx: WasiCtx, mem: GuestMemory, fd: int, offset: int, length: int, advice: int) -> None:
    entry = _plain_file(ctx, fd)
    if advice > abi.ADVICE_MAX:
        raise WasiError(Errno.INVAL)
    entry.require(abi.RIGHT_FD_ADVISE)
    check_offset(offset)
    check_offset(length)
    if hasattr(os, "posix_fadvise"):  # advice is only a hint: nothing to do without it
        os.posix_fadvise(entry.fd, offset, length, _ADVICE[advice])


@wasi_function
def fd_allocate(ctx: WasiCtx, mem: GuestMemory, fd: int, offset: int, length: int) -> None:
    entry = _plain_file(ctx, fd)
    if not entry.perms.file_write:
        raise WasiError(Errno.PERM)
    if not entry.writable:
        raise WasiError(Errno.BADF)
    entry.require(abi.RIGHT_FD_ALLOCATE)
    end = check_offset(offset) + check_offset(length)
    if end > (1 << 63) - 1:
        raise WasiError(Errno.FBIG)
    if length == 0:
        raise WasiError(Errno.INVAL)
    try:
        if not hasattr(os, "posix_fallocate"):
            raise OSError(errno.EOPNOTSUPP, "posix_fallocate")
        os.posix_fallocate(entry.fd, offset, length)
    except OSError as e:
        if e.errno != errno.EOPNOTSUPP:
            raise
        if os.fstat(entry.fd).st_size < end:  # no preallocation here: at least the size
            os.ftruncate(entry.fd, end)


@wasi_function
def fd_datasync(ctx: WasiCtx, mem: GuestMemory, fd: int) -> None:
    entry = _plain_file(ctx, fd)
    entry.require(abi.RIGHT_FD_DATASYNC)
    getattr(os, "fdatasync", os.fsync)(entry.fd)


@wasi_function
def fd_sync(ctx: WasiCtx, mem: GuestMemory, fd: int) -> None:
    entry = _plain_file(ctx, fd)
    entry.require(abi.RIGHT_FD_SYNC)
    os.fsync(entry.fd)


# ------------------------------------------------------------ descriptor state
@wasi_function
def fd_fdstat_get(ctx: WasiCtx, mem: GuestMemory, fd: int, buf: int) -> None:
    entry = ctx.table.get(fd)
    mem.store(abi.FDSTAT, buf, entry.filetype, entry.fdflags, entry.rights_base,
              entry.rights_inheriting)  # fmt: skip


@wasi_function
def fd_fdstat_set_flags(ctx: WasiCtx, mem: GuestMemory, fd: int, flags: int) -> None:
    entry = ctx.table.get(fd)
    if flags & ~abi.FDFLAGS_ALL:
        raise WasiError(Errno.INVAL)
    if isinstance(entry, SocketEntry):
        if flags & ~abi.FDFLAG_NONBLOCK:
            raise WasiError(Errno.INVAL)
        entry.require(abi.RIGHT_FD_FDSTAT_SET_FLAGS)
        entry.sock.setblocking(not flags)
        entry.fdflags = flags
        return
    if not isinstance(entry, FileEntry):
        raise WasiError(Errno.BADF)
    if flags & _SYNC_FLAGS:  # the host cannot change these after open
        raise WasiError(Errno.INVAL)
    entry.require(abi.RIGHT_FD_FDSTAT_SET_FLAGS)
    host = fcntl.fcntl(entry.fd, fcntl.F_GETFL) & ~(os.O_APPEND | os.O_NONBLOCK)
    if flags & abi.FDFLAG_APPEND:
        host |= os.O_APPEND
    if flags & abi.FDFLAG_NONBLOCK:
        host |= os.O_NONBLOCK
    fcntl.fcntl(entry.fd, fcntl.F_SETFL, host)
    entry.fdflags = (entry.fdflags & _SYNC_FLAGS) | flags


@wasi_function
def fd_fdstat_set_rights(ctx: WasiCtx, mem: GuestMemory, fd: int, base: int, inheriting: int) -> None:
    """Rights can only be dropped (ENOTCAPABLE for an attempt to add one)."""
    entry = ctx.table.get(fd)
    if base & ~entry.rights_base or inheriting & ~entry.rights_inheriting:
        raise WasiError(Errno.NOTCAPABLE)
    entry.rights_base = base
    entry.rights_inheriting = inheriting


@wasi_function
def fd_close(ctx: WasiCtx, mem: GuestMemory, fd: int) -> None:
    ctx.table.remove(fd).close()


@wasi_function
def fd_renumber(ctx: WasiCtx, mem: GuestMemory, fd: int, to: int) -> None:
    ctx.table.renumber(fd, to)


# ------------------------------------------------------------ attributes
@wasi_function
def fd_filestat_get(ctx: WasiCtx, mem: GuestMemory, fd: int, buf: int) -> None:
    entry = ctx.table.get(fd)
    if isinstance(entry, StreamEntry):  # no host file behind it: only its type (as wasmtime)
        values: tuple[int, ...] = (0, 0, entry.filetype, 0, 0, 0, 0, 0)
    else:
        entry.require(abi.RIGHT_FD_FILESTAT_GET)
        if isinstance(entry, SocketEntry):
            values = filestat_values(os.fstat(entry.sock.fileno()))
        else:
            assert isinstance(entry, (FileEntry, DirEntry))
            values = filestat_values(os.fstat(entry.fd))
    mem.store(abi.FILESTAT, buf, *values)


@wasi_function
def fd_filestat_set_size(ctx: WasiCtx, mem: GuestMemory, fd: int, size: int) -> None:
    entry = _plain_file(ctx, fd)
    if not entry.perms.file_write:
        raise WasiError(Errno.PERM)
    if not entry.writable:  # what the host's ftruncate says for a read-only fd
        raise WasiError(Errno.INVAL)
    entry.require(abi.RIGHT_FD_FILESTAT_SET_SIZE)
    os.ftruncate(entry.fd, check_offset(size))


@wasi_function
def fd_filestat_set_times(ctx: WasiCtx, mem: GuestMemory, fd: int, atim: int, mtim: int, fst: int) -> None:
    entry = ctx.table.get(fd)
    if not isinstance(entry, (FileEntry, DirEntry)):
        raise WasiError(Errno.BADF)
    host_fd = entry.fd
    times = new_times(fst, atim, mtim, lambda: os.fstat(host_fd))
    allowed = entry.perms.file_write if isinstance(entry, FileEntry) else entry.perms.dir_write
    if not allowed:
        raise WasiError(Errno.PERM)
    entry.require(abi.RIGHT_FD_FILESTAT_SET_TIMES)
    if times is not None:
        os.utime(host_fd, ns=times)
