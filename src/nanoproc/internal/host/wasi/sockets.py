"""sock_* functions, on sockets the host hands in (``WasiConfig.preopen_socket``).

Preview1 cannot create, bind or connect sockets; a program can only accept
connections on a listening socket it was given, and read, write and shut down
the connections. Nothing here names an address, so sockets widen no capability
beyond the one the host chose to grant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import abi
from .ctx import CONNECTION_RIGHTS, WasiCtx
from .errno import Errno, WasiError
from .fdtable import Entry, SocketEntry
from .guestmem import GuestMemory
from .registry import wasi_function

if TYPE_CHECKING:
    import socket

# ``socket`` is imported by the functions, not at start-up (with ``selectors`` it is
# ~2 ms of every WASI program): they only run on a SocketEntry, whose socket.socket
# the host made, so the module is loaded by then.


def _socket(entry: Entry) -> SocketEntry:
    if not isinstance(entry, SocketEntry):
        raise WasiError(Errno.NOTSOCK)
    return entry


def _connection(entry: SocketEntry) -> socket.socket:
    if entry.listening:
        raise WasiError(Errno.NOTCONN)
    return entry.sock


def recv_into(entry: SocketEntry, buf: memoryview, flags: int) -> int:
    sock = _connection(entry)
    if not len(buf):
        return 0
    return sock.recv_into(buf, len(buf), flags)


def send(entry: SocketEntry, buf: memoryview, flags: int) -> int:
    sock = _connection(entry)
    if not len(buf):
        return 0
    import socket  # loaded: the entry holds a socket.socket

    return sock.send(buf, flags | getattr(socket, "MSG_NOSIGNAL", 0))


@wasi_function
def sock_accept(ctx: WasiCtx, mem: GuestMemory, fd: int, flags: int, fd_out: int) -> None:
    """Accept a connection (EAGAIN when non-blocking and none is waiting)."""
    entry = _socket(ctx.table.get(fd))
    if flags & ~abi.FDFLAG_NONBLOCK:
        raise WasiError(Errno.INVAL)
    entry.require(abi.RIGHT_SOCK_ACCEPT)
    if not entry.listening:
        raise WasiError(Errno.INVAL)
    mem.check(fd_out, 4)
    conn, _ = entry.sock.accept()
    try:
        conn.setblocking(not flags & abi.FDFLAG_NONBLOCK)
        new_fd = ctx.table.add(SocketEntry(conn, False, CONNECTION_RIGHTS))
    except BaseException:
        conn.close()
        raise
    mem.set_u32(fd_out, new_fd)


@wasi_function
def sock_recv(ctx: WasiCtx, mem: GuestMemory, fd: int, ri_data: int, ri_data_len: int,
              ri_flags: int, ro_datalen: int, ro_flags: int) -> None:  # fmt: skip
    entry = _socket(ctx.table.get(fd))
    if ri_flags & ~(abi.RIFLAG_RECV_PEEK | abi.RIFLAG_RECV_WAITALL):
        raise WasiError(Errno.INVAL)
    entry.require(abi.RIGHT_FD_READ)
    import socket  # loaded: the entry holds a socket.socket

    host = 0
    if ri_flags & abi.RIFLAG_RECV_PEEK:
        host |= socket.MSG_PEEK
    if ri_flags & abi.RIFLAG_RECV_WAITALL:
        host |= socket.MSG_WAITALL
    mem.check(ro_datalen, 4)
    mem.check(ro_flags, 2)
    n = recv_into(entry, mem.first_iovec(ri_data, ri_data_len), host)
    mem.set_u32(ro_datalen, n)
    mem.store(abi.U16, ro_flags, 0)


@wasi_function
def sock_send(ctx: WasiCtx, mem: GuestMemory, fd: int, si_data: int, si_data_len: int,
              si_flags: int, so_datalen: int) -> None:  # fmt: skip
    entry = _socket(ctx.table.get(fd))
    if si_flags:
        raise WasiError(Errno.INVAL)
    entry.require(abi.RIGHT_FD_WRITE)
    mem.check(so_datalen, 4)
    mem.set_u32(so_datalen, send(entry, mem.first_iovec(si_data, si_data_len), 0))


@wasi_function
def sock_shutdown(ctx: WasiCtx, mem: GuestMemory, fd: int, how: int) -> None:
    entry = _socket(ctx.table.get(fd))
    if how not in (abi.SDFLAG_RD, abi.SDFLAG_WR, abi.SDFLAG_RD | abi.SDFLAG_WR):
        raise WasiError(Errno.INVAL)
    entry.require(abi.RIGHT_SOCK_SHUTDOWN)
    sock = _connection(entry)
    import socket  # loaded: the entry holds a socket.socket

    sock.shutdown({1: socket.SHUT_RD, 2: socket.SHUT_WR, 3: socket.SHUT_RDWR}[how])
