"""``WasiCtx``: one program's WASI state (arguments, environment, descriptors),
built from the store's consumed ``WasiConfig`` on its first WASI call.

Descriptors 0-2 are the standard streams, then one per preopened directory in the
order they were added, then the host's preopened sockets. The only host paths
ever used are the preopens' own, opened once here; the guest sees their guest
names and nothing else.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import abi
from .fdtable import DirEntry, FdTable, Perms, SocketEntry, StreamEntry
from .streams import input_stream, output_stream

if TYPE_CHECKING:
    import socket

PREOPEN_RIGHTS = (
    abi.RIGHT_PATH_CREATE_DIRECTORY | abi.RIGHT_PATH_CREATE_FILE | abi.RIGHT_PATH_LINK_SOURCE
    | abi.RIGHT_PATH_LINK_TARGET | abi.RIGHT_PATH_OPEN | abi.RIGHT_FD_READDIR
    | abi.RIGHT_PATH_READLINK | abi.RIGHT_PATH_RENAME_SOURCE | abi.RIGHT_PATH_RENAME_TARGET
    | abi.RIGHT_PATH_SYMLINK | abi.RIGHT_PATH_REMOVE_DIRECTORY | abi.RIGHT_PATH_UNLINK_FILE
    | abi.RIGHT_PATH_FILESTAT_GET | abi.RIGHT_PATH_FILESTAT_SET_TIMES
    | abi.RIGHT_FD_FILESTAT_GET | abi.RIGHT_FD_FILESTAT_SET_TIMES
)  # fmt: skip
"""A preopened directory's base rights (the set wasmtime reports, 0x7b7fe00)."""

PREOPEN_INHERITING = PREOPEN_RIGHTS | (
    abi.RIGHT_FD_DATASYNC | abi.RIGHT_FD_READ | abi.RIGHT_FD_SEEK | abi.RIGHT_FD_FDSTAT_SET_FLAGS
    | abi.RIGHT_FD_SYNC | abi.RIGHT_FD_TELL | abi.RIGHT_FD_WRITE | abi.RIGHT_FD_ADVISE
    | abi.RIGHT_FD_ALLOCATE | abi.RIGHT_FD_FILESTAT_SET_SIZE | abi.RIGHT_POLL_FD_READWRITE
)  # fmt: skip
"""Rights a preopen passes on to what is opened through it (0xff7ffff)."""

STDIN_RIGHTS = abi.RIGHT_FD_READ
STDOUT_RIGHTS = abi.RIGHT_FD_WRITE

LISTENER_RIGHTS = (abi.RIGHT_SOCK_ACCEPT | abi.RIGHT_POLL_FD_READWRITE | abi.RIGHT_FD_FILESTAT_GET
                   | abi.RIGHT_FD_FDSTAT_SET_FLAGS)  # fmt: skip
CONNECTION_RIGHTS = (abi.RIGHT_FD_READ | abi.RIGHT_FD_WRITE | abi.RIGHT_POLL_FD_READWRITE
                     | abi.RIGHT_SOCK_SHUTDOWN | abi.RIGHT_FD_FILESTAT_GET
                     | abi.RIGHT_FD_FDSTAT_SET_FLAGS)  # fmt: skip


class WasiCtx:
    """Arguments, environment and descriptor table of one WASI program."""

    def __init__(self, args: list[bytes], env: list[bytes], max_fds: int | None = None) -> None:
        self.args = args
        self.env = env
        """``NAME=VALUE`` strings."""
        self.table = FdTable(max_fds)
        self.interrupted: Callable[[], bool] | None = None
        """When set, long waits (poll_oneoff) check it and trap with INTERRUPT once
        it is true: the store's epoch deadline, so a sleeping guest obeys it too."""

    @classmethod
    def from_settings(cls, settings: Any) -> WasiCtx:
        """A context for a consumed WasiConfig (``api.wasi.WasiSettings``)."""
        ctx = cls([a.encode("utf-8") for a in settings.argv],
                  [f"{k}={v}".encode() for k, v in settings.env],
                  getattr(settings, "max_open_files", None))  # fmt: skip
        try:
            ctx.table.add(StreamEntry(input_stream(settings.stdin), STDIN_RIGHTS))
            ctx.table.add(StreamEntry(output_stream(settings.stdout, 1), STDOUT_RIGHTS))
            ctx.table.add(StreamEntry(output_stream(settings.stderr, 2), STDOUT_RIGHTS))
            for pre in settings.preopens:
                ctx.add_preopen(pre.host_path, pre.guest_path, _perms(pre))
            for sock in getattr(settings, "sockets", ()):
                ctx.add_socket(sock)
        except BaseException:
            ctx.close()
            raise
        return ctx

    def add_preopen(self, host_path: str, guest_path: str, perms: Perms) -> int:
        fd = os.open(host_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        entry = DirEntry(fd, perms, PREOPEN_RIGHTS, PREOPEN_INHERITING, guest_path.encode("utf-8"))
        return self.table.add(entry)

    def add_socket(self, sock: socket.socket) -> int:
        """Hand the guest a host socket (listening, or already connected)."""
        import socket  # not at start-up: loaded by whoever made ``sock``

        listening = bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
        entry = SocketEntry(sock, listening, LISTENER_RIGHTS if listening else CONNECTION_RIGHTS)
        entry.owned = False  # the host's socket: it closes it
        return self.table.add(entry)

    def close(self) -> None:
        self.table.close_all()


def _perms(pre: Any) -> Perms:
    d = getattr(pre.dir_perms, "value", 3)
    f = getattr(pre.file_perms, "value", 3)
    return Perms(bool(d & 1), bool(d & 2), bool(f & 1), bool(f & 2))


_CONTEXTS: weakref.WeakKeyDictionary[Any, tuple[Any, WasiCtx]] = weakref.WeakKeyDictionary()


def context_for(store_state: Any) -> WasiCtx:
    """The WASI context of a store, (re)built when its WasiConfig changed.

    The context's host descriptors are closed when the store is collected, or
    when ``Store.set_wasi`` gives the store a new configuration.
    """
    settings = store_state.wasi
    cached = _CONTEXTS.get(store_state)
    if cached is not None and cached[0] is settings:
        return cached[1]
    if settings is None:
        from ...errors import WasmtimeError

        raise WasmtimeError("wasi context must be populated: call Store.set_wasi first")
    if cached is not None:
        cached[1].close()
    ctx = WasiCtx.from_settings(settings)
    engine = store_state.engine
    if getattr(engine, "epoch_interruption", False):
        st_ref = weakref.ref(store_state)  # no cycle: the context must not keep its store alive

        def interrupted() -> bool:
            st = st_ref()
            return st is not None and engine.epoch >= st.epoch_deadline

        ctx.interrupted = interrupted
    _CONTEXTS[store_state] = (settings, ctx)
    weakref.finalize(store_state, ctx.close)
    return ctx
