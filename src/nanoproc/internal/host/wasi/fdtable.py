"""The guest's file descriptor table and what each descriptor stands for.

A descriptor carries its preview1 rights (``rights_base`` for operations on it,
``rights_inheriting`` for descriptors opened through it), which can only ever
shrink, and, for files and directories, the permissions of the preopen it came
from, which no operation can widen.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ...records import Frozen
from . import abi
from .errno import Errno, WasiError
from .streams import InputStream, OutputStream

if TYPE_CHECKING:
    import socket  # loaded by whoever hands a socket over (WasiConfig.preopen_socket)

_set = object.__setattr__


class Perms(Frozen):
    """What a preopen allows, inherited by everything opened through it."""

    __match_args__ = ("dir_read", "dir_write", "file_read", "file_write")
    dir_read: bool
    """List, open and stat inside the directory."""
    dir_write: bool
    """Create, remove, rename, link and change times of its entries."""
    file_read: bool
    file_write: bool
    """Open files for writing, truncate them, change their size or times."""

    def __init__(self, dir_read: bool = True, dir_write: bool = True, file_read: bool = True,
                 file_write: bool = True) -> None:  # fmt: skip
        _set(self, "dir_read", dir_read)
        _set(self, "dir_write", dir_write)
        _set(self, "file_read", file_read)
        _set(self, "file_write", file_write)


class Entry:
    """One open descriptor."""

    filetype = abi.FILETYPE_UNKNOWN

    def __init__(self, rights_base: int, rights_inheriting: int, fdflags: int = 0) -> None:
        self.rights_base = rights_base
        self.rights_inheriting = rights_inheriting
        self.fdflags = fdflags

    def require(self, rights: int) -> None:
        """ENOTCAPABLE unless this descriptor holds all of ``rights``."""
        if self.rights_base & rights != rights:
            raise WasiError(Errno.NOTCAPABLE)

    def close(self) -> None:
        pass


class HostFdEntry(Entry):
    """A file or directory: an OS descriptor this table owns."""

    def __init__(self, fd: int, perms: Perms, rights_base: int, rights_inheriting: int,
                 fdflags: int = 0) -> None:  # fmt: skip
        super().__init__(rights_base, rights_inheriting, fdflags)
        self.fd = fd
        self.perms = perms

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class FileEntry(HostFdEntry):
    """A regular file (or other non-directory) opened with path_open."""

    filetype = abi.FILETYPE_REGULAR_FILE

    def __init__(self, fd: int, perms: Perms, rights_base: int, rights_inheriting: int,
                 fdflags: int, readable: bool, writable: bool, filetype: int) -> None:  # fmt: skip
        super().__init__(fd, perms, rights_base, rights_inheriting, fdflags)
        self.readable = readable
        self.writable = writable
        self.filetype = filetype


class DirEntry(HostFdEntry):
    """A directory: a preopen (``guest_name`` set) or one opened through one."""

    filetype = abi.FILETYPE_DIRECTORY

    def __init__(self, fd: int, perms: Perms, rights_base: int, rights_inheriting: int,
                 guest_name: bytes | None = None) -> None:  # fmt: skip
        super().__init__(fd, perms, rights_base, rights_inheriting)
        self.guest_name = guest_name
        self.listing: list[tuple[bytes, int, int]] | None = None
        """fd_readdir's snapshot: (name, inode, filetype), taken at cookie 0."""


class StreamEntry(Entry):
    """stdin, stdout or stderr."""

    def __init__(self, stream: InputStream | OutputStream, rights: int) -> None:
        super().__init__(rights, rights)
        self.stream = stream
        self.filetype = abi.FILETYPE_CHARACTER_DEVICE if stream.isatty() else abi.FILETYPE_UNKNOWN

    @property
    def input(self) -> InputStream | None:
        return self.stream if isinstance(self.stream, InputStream) else None

    @property
    def output(self) -> OutputStream | None:
        return self.stream if isinstance(self.stream, OutputStream) else None

    def close(self) -> None:
        self.stream.close()


class SocketEntry(Entry):
    """A TCP socket: one the host preopened, or a connection accepted on it."""

    filetype = abi.FILETYPE_SOCKET_STREAM

    def __init__(self, sock: socket.socket, listening: bool, rights: int) -> None:
        super().__init__(rights, rights)
        self.sock = sock
        self.listening = listening
        self.owned = True
        if not sock.getblocking():
            self.fdflags |= abi.FDFLAG_NONBLOCK

    def close(self) -> None:
        if self.owned:
            self.sock.close()


class FdTable:
    """Descriptor numbers to entries.

    A new descriptor takes the highest free number below the top, else the next
    one: the numbers wasmtime hands out, so programs that print them agree.

    There is no cap of its own unless ``max_fds`` is given (``WasiConfig.max_open_files``):
    every file, directory and socket entry holds a host descriptor, so the host's
    limit (``ulimit -n``) is the guest's, as in wasmtime, and the guest gets EMFILE
    when the host runs out.
    """

    def __init__(self, max_fds: int | None = None) -> None:
        self.entries: dict[int, Entry] = {}
        self.top = 0
        self.free: set[int] = set()
        self.max_fds = max_fds

    def get(self, fd: int) -> Entry:
        entry = self.entries.get(fd)
        if entry is None:
            raise WasiError(Errno.BADF)
        return entry

    def add(self, entry: Entry) -> int:
        if self.max_fds is not None and len(self.entries) >= self.max_fds:
            raise WasiError(Errno.MFILE)
        if self.free:
            fd = max(self.free)
            self.free.discard(fd)
        else:
            fd = self.top
            self.top += 1
        self.entries[fd] = entry
        return fd

    def remove(self, fd: int) -> Entry:
        entry = self.get(fd)
        del self.entries[fd]
        self.free.add(fd)
        return entry

    def renumber(self, src: int, dst: int) -> None:
        """Move ``src`` to ``dst``, closing what ``dst`` held (EBADF unless both exist)."""
        entry = self.get(src)
        old = self.get(dst)
        if src == dst:
            return
        self.entries[dst] = entry
        del self.entries[src]
        self.free.add(src)
        old.close()

    def close_all(self) -> None:
        entries, self.entries = list(self.entries.values()), {}
        for entry in entries:
            try:
                entry.close()
            except OSError:
                pass
