"""``wasi:filesystem`` (types, preopens) on preview1's capability layer.

Every path goes through :func:`..wasi.fs.resolve` (no ``..`` above the
descriptor, no absolute path, symbolic links expanded inside the sandbox) and
then one ``*at`` call with ``follow_symlinks=False``; a descriptor carries its
preopen's :class:`~..wasi.fdtable.Perms`, which no call can widen: under a
read-only preopen every change is ``not-permitted``, as in wasmtime.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from typing import Any

from ...exec.component.values import Variant
from ..wasi import abi
from ..wasi.calls_path import _host_flags, _open
from ..wasi.errno import Errno, WasiError
from ..wasi.fdtable import DirEntry, Perms
from ..wasi.fs import readlink_or_none, resolve
from ..wasi.guestmem import MAX_PATH
from ..wasi.registry import check_offset
from .io import FileInStream, FileOutStream
from .state import (
    DESCRIPTOR,
    DIRECTORY_ENTRY_STREAM,
    ERROR,
    INPUT_STREAM,
    OUTPUT_STREAM,
    IoError,
    P2State,
    err,
    error_code,
    ok,
)

MAX_READ = 1 << 24
"""Most bytes one ``descriptor.read`` returns."""


class Descriptor:
    """An open file or directory: a host fd this object owns."""

    def __init__(self, fd: int, perms: Perms, is_dir: bool, read: bool, write: bool) -> None:
        self.fd = fd
        self.perms = perms
        self.is_dir = is_dir
        self.read = read
        self.write = write

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def dir(self) -> Descriptor:
        if not self.is_dir:
            raise WasiError(Errno.NOTDIR)
        return self

    def mutable_dir(self) -> Descriptor:
        self.dir()
        if not self.perms.dir_write:
            raise WasiError(Errno.PERM)
        return self

    def flags(self) -> set[str]:
        out = set()
        if self.read:
            out.add("read")
        if self.write:
            out.add("write" if not self.is_dir else "mutate-directory")
        return out


_TYPES = ((stat.S_ISREG, "regular-file"), (stat.S_ISDIR, "directory"),
          (stat.S_ISLNK, "symbolic-link"), (stat.S_ISCHR, "character-device"),
          (stat.S_ISBLK, "block-device"), (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"))  # fmt: skip


def type_of(mode: int) -> str:
    for test, name in _TYPES:
        if test(mode):
            return name
    return "unknown"


def _dt(ns: int) -> dict[str, int]:
    return {"seconds": ns // 1_000_000_000 if ns >= 0 else 0,
            "nanoseconds": ns % 1_000_000_000 if ns >= 0 else 0}  # fmt: skip


def _stat(st: os.stat_result) -> dict[str, Any]:
    return {"type": type_of(st.st_mode), "link-count": st.st_nlink, "size": st.st_size,
            "data-access-timestamp": Variant("some", _dt(st.st_atime_ns)),
            "data-modification-timestamp": Variant("some", _dt(st.st_mtime_ns)),
            "status-change-timestamp": Variant("some", _dt(st.st_ctime_ns))}  # fmt: skip


def _hash(st: os.stat_result) -> dict[str, int]:
    return {"lower": st.st_ino & (1 << 64) - 1, "upper": st.st_dev & (1 << 64) - 1}


def _new_time(ts: Any, current: int) -> int:
    tag = ts.tag if isinstance(ts, Variant) else ts
    if tag == "no-change":
        return current
    if tag == "now":
        return time.time_ns()
    dt = ts.payload
    return int(dt.seconds) * 1_000_000_000 + int(dt.nanoseconds)


def _path(path: str) -> bytes:
    if "\0" in path:
        raise WasiError(Errno.INVAL)
    data = path.encode("utf-8")
    if len(data) > MAX_PATH:  # preview1's limit too (guestmem.MAX_PATH)
        raise WasiError(Errno.NAMETOOLONG)
    return data


class DirStream:
    def __init__(self, entries: list[tuple[str, str]]) -> None:
        self.entries = entries[::-1]

    def next(self) -> Any:
        if not self.entries:
            return None
        t, name = self.entries.pop()
        return Variant("some", {"type": t, "name": name})


def _list(fd: int) -> list[tuple[str, str]]:
    """The entries in the host's readdir order (as wasmtime), without . and .."""
    out = []
    with os.scandir(fd) as it:
        for e in it:
            try:
                t = type_of(e.stat(follow_symlinks=False).st_mode)
            except OSError:
                t = "unknown"
            out.append((t, e.name))
    return out


def define(p2_of: Callable[[Any], P2State], fs: dict[str, Any]) -> None:
    def call(fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn(p2, descriptor, *args)`` as a method returning result<_, error-code>."""

        def method(store: Any, self: Any, *args: Any) -> Variant:
            p2 = p2_of(store)
            d = p2.get(self)
            try:
                return ok(fn(p2, d, *args))
            except (OSError, WasiError, UnicodeError, ValueError, OverflowError) as e:
                return err(error_code(e))

        return method

    def read_via_stream(p2: P2State, d: Descriptor, offset: int) -> Any:
        if d.is_dir:
            raise WasiError(Errno.ISDIR)
        if not d.read:
            raise WasiError(Errno.BADF)
        return p2.own(FileInStream(d.fd, check_offset(offset)), INPUT_STREAM)

    def writable(d: Descriptor) -> None:
        """A file write: not-permitted under a read-only preopen (as wasmtime), else
        bad-descriptor if the file was not opened for writing."""
        if d.is_dir:
            raise WasiError(Errno.ISDIR)
        if not d.perms.file_write:
            raise WasiError(Errno.PERM)
        if not d.write:
            raise WasiError(Errno.BADF)

    def stream_writable(d: Descriptor) -> None:
        """As wasmtime: a write stream may be made on a file opened read-only (its
        writes then fail), not under a read-only preopen."""
        if d.is_dir:
            raise WasiError(Errno.ISDIR)
        if not d.perms.file_write:
            raise WasiError(Errno.PERM)

    def write_via_stream(p2: P2State, d: Descriptor, offset: int) -> Any:
        stream_writable(d)
        return p2.own(FileOutStream(d.fd, check_offset(offset)), OUTPUT_STREAM)

    def append_via_stream(p2: P2State, d: Descriptor) -> Any:
        stream_writable(d)
        s = FileOutStream(d.fd, None)
        os.set_blocking(s.fd, True)
        os.lseek(s.fd, 0, os.SEEK_END)
        s.offset = None
        return p2.own(_Appender(s), OUTPUT_STREAM)

    def advise(p2: P2State, d: Descriptor, offset: int, length: int, advice: str) -> None:
        if d.is_dir:
            raise WasiError(Errno.BADF)

    def sync(p2: P2State, d: Descriptor) -> None:
        if not d.is_dir:
            os.fsync(d.fd)

    def get_flags(p2: P2State, d: Descriptor) -> set[str]:
        return d.flags()

    def get_type(p2: P2State, d: Descriptor) -> str:
        return type_of(os.fstat(d.fd).st_mode)

    def set_size(p2: P2State, d: Descriptor, size: int) -> None:
        if d.is_dir:
            raise WasiError(Errno.ISDIR)
        if not d.perms.file_write:
            raise WasiError(Errno.PERM)
        if not d.write:  # ftruncate of a descriptor not open for writing, as wasmtime
            raise WasiError(Errno.INVAL)
        os.ftruncate(d.fd, check_offset(size))

    def set_times(p2: P2State, d: Descriptor, a: Any, m: Any) -> None:
        if not (d.perms.dir_write if d.is_dir else d.perms.file_write):
            raise WasiError(Errno.PERM)
        st = os.fstat(d.fd)
        os.utime(d.fd, ns=(_new_time(a, st.st_atime_ns), _new_time(m, st.st_mtime_ns)))

    def read(p2: P2State, d: Descriptor, length: int, offset: int) -> tuple[bytes, bool]:
        if d.is_dir:
            raise WasiError(Errno.ISDIR)
        if not d.read:
            raise WasiError(Errno.BADF)
        data = os.pread(d.fd, min(length, MAX_READ), check_offset(offset))
        return data, not data and length > 0  # the end: nothing left to read (as wasmtime)

    def write(p2: P2State, d: Descriptor, data: bytes, offset: int) -> int:
        writable(d)
        return os.pwrite(d.fd, data, check_offset(offset))

    def read_directory(p2: P2State, d: Descriptor) -> Any:
        d.dir()
        if not d.perms.dir_read:
            raise WasiError(Errno.PERM)
        return p2.own(DirStream(_list(d.fd)), DIRECTORY_ENTRY_STREAM)

    def stat_(p2: P2State, d: Descriptor) -> Any:
        return _stat(os.fstat(d.fd))

    def stat_at(p2: P2State, d: Descriptor, flags: set[str], path: str) -> Any:
        d.dir()
        if not d.perms.dir_read:
            raise WasiError(Errno.PERM)
        with resolve(d.fd, _path(path), "symlink-follow" in flags) as w:
            return _stat(os.stat(w.name, dir_fd=w.dirfd, follow_symlinks=False))

    def set_times_at(p2: P2State, d: Descriptor, flags: set[str], path: str, a: Any, m: Any) -> None:
        d.mutable_dir()
        with resolve(d.fd, _path(path), "symlink-follow" in flags) as w:
            st = os.stat(w.name, dir_fd=w.dirfd, follow_symlinks=False)
            times = (_new_time(a, st.st_atime_ns), _new_time(m, st.st_mtime_ns))
            os.utime(w.name, ns=times, dir_fd=w.dirfd, follow_symlinks=False)

    def create_directory_at(p2: P2State, d: Descriptor, path: str) -> None:
        d.mutable_dir()
        with resolve(d.fd, _path(path), follow=False, slash_is_name=True) as w:
            os.mkdir(w.name, 0o777, dir_fd=w.dirfd)

    def remove_directory_at(p2: P2State, d: Descriptor, path: str) -> None:
        d.mutable_dir()
        with resolve(d.fd, _path(path), follow=False, slash_is_name=True) as w:
            if w.trailing and readlink_or_none(w.dirfd, w.name) is not None:
                raise WasiError(Errno.NOTDIR)
            os.rmdir(w.name, dir_fd=w.dirfd)

    def unlink_file_at(p2: P2State, d: Descriptor, path: str) -> None:
        d.mutable_dir()
        with resolve(d.fd, _path(path), follow=False) as w:
            os.unlink(w.name, dir_fd=w.dirfd)

    def _may_move(src: Descriptor, dst: Descriptor) -> None:
        if src.perms != dst.perms and not src.perms.file_write:
            raise WasiError(Errno.PERM)

    def link_at(p2: P2State, d: Descriptor, flags: set[str], old: str, new_d: Any, new: str) -> None:
        dst = p2.get(new_d)
        d.mutable_dir()
        dst.mutable_dir()
        if "symlink-follow" in flags:
            raise WasiError(Errno.INVAL)
        _may_move(d, dst)
        with resolve(d.fd, _path(old), follow=False) as a, resolve(dst.fd, _path(new), follow=False) as b:
            os.link(a.name, b.name, src_dir_fd=a.dirfd, dst_dir_fd=b.dirfd, follow_symlinks=False)

    def rename_at(p2: P2State, d: Descriptor, old: str, new_d: Any, new: str) -> None:
        dst = p2.get(new_d)
        d.mutable_dir()
        dst.mutable_dir()
        _may_move(d, dst)
        with resolve(d.fd, _path(old), False, slash_is_name=True) as a, \
                resolve(dst.fd, _path(new), False, slash_is_name=True) as b:  # fmt: skip
            if a.trailing or b.trailing:
                if not stat.S_ISDIR(os.stat(a.name, dir_fd=a.dirfd, follow_symlinks=False).st_mode):
                    raise WasiError(Errno.NOTDIR)
            os.rename(a.name, b.name, src_dir_fd=a.dirfd, dst_dir_fd=b.dirfd)

    def symlink_at(p2: P2State, d: Descriptor, target: str, path: str) -> None:
        d.mutable_dir()
        t = _path(target)
        if t.startswith(b"/"):
            raise WasiError(Errno.PERM)
        if not t:
            raise WasiError(Errno.NOENT)
        with resolve(d.fd, _path(path), follow=False) as w:
            os.symlink(t, w.name, dir_fd=w.dirfd)

    def readlink_at(p2: P2State, d: Descriptor, path: str) -> str:
        d.dir()
        if not d.perms.dir_read:
            raise WasiError(Errno.PERM)
        with resolve(d.fd, _path(path), follow=False) as w:
            target = os.readlink(w.name, dir_fd=w.dirfd)
        if target.startswith(b"/"):
            raise WasiError(Errno.PERM)
        return target.decode("utf-8")

    def open_at(p2: P2State, d: Descriptor, pflags: set[str], path: str, oflags: set[str],
                dflags: set[str]) -> Any:  # fmt: skip
        d.dir()
        perms = d.perms
        read = "read" in dflags
        write = "write" in dflags
        mutate = "mutate-directory" in dflags
        if not perms.dir_read:
            raise WasiError(Errno.PERM)
        if (write and not perms.file_write) or (read and not perms.file_read):
            raise WasiError(Errno.PERM)
        if (mutate or oflags & {"create", "truncate"}) and not perms.dir_write:
            raise WasiError(Errno.PERM)
        if write and "directory" in oflags:
            raise WasiError(Errno.ISDIR)
        if dflags & {"file-integrity-sync", "data-integrity-sync", "requested-write-sync"}:
            raise WasiError(Errno.NOTSUP)  # as wasmtime: synchronous I/O is refused
        bits = 0
        for name, bit in (("create", abi.OFLAG_CREAT), ("directory", abi.OFLAG_DIRECTORY),
                          ("exclusive", abi.OFLAG_EXCL), ("truncate", abi.OFLAG_TRUNC)):  # fmt: skip
            if name in oflags:
                bits |= bit
        creat = "create" in oflags
        if creat and "directory" in oflags:
            raise WasiError(Errno.INVAL)
        follow = "symlink-follow" in pflags and not (creat and "exclusive" in oflags)
        target = _path(path)
        if creat and target.endswith(b"/"):
            with resolve(d.fd, target, follow=False, slash_is_name=True):
                raise WasiError(Errno.ISDIR)
        host_fd = _open(d.fd, target, _host_flags(bits, 0, read or not write, write), follow)
        try:
            is_dir = stat.S_ISDIR(os.fstat(host_fd).st_mode)
            if is_dir and write:
                raise WasiError(Errno.ISDIR)
            new = Descriptor(host_fd, perms, is_dir, read or not write, write or (is_dir and mutate))
        except BaseException:
            os.close(host_fd)
            raise
        return p2.own(new, DESCRIPTOR)

    def is_same(store: Any, self: Any, other: Any) -> bool:
        p2 = p2_of(store)
        a, b = os.fstat(p2.get(self).fd), os.fstat(p2.get(other).fd)
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)

    def metadata_hash(p2: P2State, d: Descriptor) -> Any:
        return _hash(os.fstat(d.fd))

    def metadata_hash_at(p2: P2State, d: Descriptor, flags: set[str], path: str) -> Any:
        d.dir()
        with resolve(d.fd, _path(path), "symlink-follow" in flags) as w:
            return _hash(os.stat(w.name, dir_fd=w.dirfd, follow_symlinks=False))

    def next_entry(store: Any, self: Any) -> Variant:
        return ok(p2_of(store).get(self).next())

    def fs_error_code(store: Any, e: Any) -> Any:
        obj = p2_of(store).get(e)
        return error_code(WasiError(obj.errno)) if isinstance(obj, IoError) else None

    m = "[method]descriptor."
    fs["types"] = {
        m + "read-via-stream": call(read_via_stream), m + "write-via-stream": call(write_via_stream),
        m + "append-via-stream": call(append_via_stream), m + "advise": call(advise),
        m + "sync-data": call(sync), m + "sync": call(sync), m + "get-flags": call(get_flags),
        m + "get-type": call(get_type), m + "set-size": call(set_size),
        m + "set-times": call(set_times), m + "read": call(read), m + "write": call(write),
        m + "read-directory": call(read_directory), m + "stat": call(stat_),
        m + "stat-at": call(stat_at), m + "set-times-at": call(set_times_at),
        m + "create-directory-at": call(create_directory_at),
        m + "remove-directory-at": call(remove_directory_at),
        m + "unlink-file-at": call(unlink_file_at), m + "link-at": call(link_at),
        m + "rename-at": call(rename_at), m + "symlink-at": call(symlink_at),
        m + "readlink-at": call(readlink_at), m + "open-at": call(open_at),
        m + "is-same-object": is_same, m + "metadata-hash": call(metadata_hash),
        m + "metadata-hash-at": call(metadata_hash_at),
        "[method]directory-entry-stream.read-directory-entry": next_entry,
        "filesystem-error-code": fs_error_code,
    }  # fmt: skip

    def get_directories(store: Any) -> list[tuple[Any, str]]:
        p2 = p2_of(store)
        out = []
        for _, entry in sorted(p2.ctx.table.entries.items()):
            if isinstance(entry, DirEntry) and entry.guest_name is not None:
                fd = os.dup(entry.fd)
                d = Descriptor(fd, entry.perms, True, True, entry.perms.dir_write)
                out.append((p2.own(d, DESCRIPTOR), entry.guest_name.decode("utf-8")))
        return out

    fs["preopens"] = {"get-directories": get_directories}


class _Appender:
    """An output stream at the end of the file (O_APPEND semantics by seeking)."""

    def __init__(self, s: FileOutStream) -> None:
        self.s = s

    def write(self, data: bytes) -> None:
        os.lseek(self.s.fd, 0, os.SEEK_END)
        self.s.write(data)

    def close(self) -> None:
        self.s.close()


RESOURCES = {
    "types": {"descriptor": DESCRIPTOR, "directory-entry-stream": DIRECTORY_ENTRY_STREAM,
              "input-stream": INPUT_STREAM, "output-stream": OUTPUT_STREAM, "error": ERROR},
    "preopens": {"descriptor": DESCRIPTOR},
}  # fmt: skip
