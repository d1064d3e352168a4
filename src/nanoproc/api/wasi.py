"""``WasiConfig``: what a WASI program may see (arguments, environment, stdio,
directories). This class only records the configuration; ``Store.set_wasi`` hands
a frozen copy (:class:`WasiSettings`) to the WASI host, ``internal/host``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, Union

from ..internal.errors import WasmtimeError
from ..internal.records import Frozen
from .managed import Closable, setter_property

if TYPE_CHECKING:
    import socket  # not at start-up (~2 ms with selectors): see preopen_socket

PathLike = Union[str, bytes, "os.PathLike[Any]"]
CustomOutput = Callable[[bytes], int | None]
"""Receives each write to stdout/stderr; returns the bytes taken (None: all)."""

_set = object.__setattr__


class DirPerms(Enum):
    """What a program may do to a preopened directory itself."""

    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


class FilePerms(Enum):
    """What a program may do to the files in a preopened directory."""

    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


class Preopen(Frozen):
    __match_args__ = ("host_path", "guest_path", "dir_perms", "file_perms")
    host_path: str
    guest_path: str
    dir_perms: DirPerms
    file_perms: FilePerms

    def __init__(self, host_path: str, guest_path: str, dir_perms: DirPerms,
                 file_perms: FilePerms) -> None:  # fmt: skip
        _set(self, "host_path", host_path)
        _set(self, "guest_path", guest_path)
        _set(self, "dir_perms", dir_perms)
        _set(self, "file_perms", file_perms)


class WasiSettings(Frozen):
    """A consumed WasiConfig. Streams are ``"inherit"``, ``None`` (closed/empty),
    a host file path, (stdin) ``bytes`` to read, or (stdout/stderr) a CustomOutput
    callable. ``sockets`` are host sockets handed to the program (nanoproc only)."""

    __match_args__ = ("argv", "env", "stdin", "stdout", "stderr", "preopens", "sockets",
                      "max_open_files", "http_hosts", "network", "ip_name_lookup")  # fmt: skip
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    stdin: str | bytes | None
    stdout: str | CustomOutput | None
    stderr: str | CustomOutput | None
    preopens: tuple[Preopen, ...]
    sockets: tuple[socket.socket, ...]
    max_open_files: int | None
    http_hosts: tuple[str, ...]
    """Authorities (``host`` or ``host:port``, lower-case) wasi:http may send to."""
    network: tuple[tuple[str, str, int | None], ...]
    """wasi:sockets rules: (``"tcp"``/``"udp"``, IP network, port or None for any)."""
    ip_name_lookup: bool

    def __init__(self, argv: tuple[str, ...], env: tuple[tuple[str, str], ...],
                 stdin: str | bytes | None, stdout: str | CustomOutput | None,
                 stderr: str | CustomOutput | None, preopens: tuple[Preopen, ...],
                 sockets: tuple[socket.socket, ...] = (), max_open_files: int | None = None,
                 http_hosts: tuple[str, ...] = (),
                 network: tuple[tuple[str, str, int | None], ...] = (),
                 ip_name_lookup: bool = False) -> None:  # fmt: skip
        _set(self, "argv", argv)
        _set(self, "env", env)
        _set(self, "stdin", stdin)
        _set(self, "stdout", stdout)
        _set(self, "stderr", stderr)
        _set(self, "preopens", preopens)
        _set(self, "sockets", sockets)
        _set(self, "max_open_files", max_open_files)
        _set(self, "http_hosts", http_hosts)
        _set(self, "network", network)
        _set(self, "ip_name_lookup", ip_name_lookup)


def _path(path: PathLike) -> str:
    p = os.fsdecode(os.fspath(path))
    return p


class WasiConfig(Closable):
    """WASI configuration, set with wasmtime-py's write-only properties and methods."""

    def __init__(self) -> None:
        self._closed = False
        self._argv: tuple[str, ...] = ()
        self._env: tuple[tuple[str, str], ...] = ()
        self._stdin: str | bytes | None = None
        self._stdout: str | CustomOutput | None = None
        self._stderr: str | CustomOutput | None = None
        self._preopens: list[Preopen] = []
        self._sockets: list[socket.socket] = []
        self._max_open_files: int | None = None
        self._http_hosts: list[str] = []
        self._network: list[tuple[str, str, int | None]] = []
        self._ip_name_lookup = False

    @setter_property
    def argv(self, argv: list[str]) -> None:
        """The program's arguments (``argv[0]`` is its name)."""
        self._check_open()
        args = tuple(str(a) for a in argv)
        for a in args:
            a.encode("utf-8")  # UnicodeEncodeError now, as in wasmtime-py
        self._argv = args

    def inherit_argv(self) -> None:
        """Use this process's ``sys.argv``."""
        self._check_open()
        self._argv = tuple(sys.argv)

    @setter_property
    def env(self, pairs: Iterable[Iterable[str]]) -> None:
        """Environment variables, as ``(name, value)`` pairs."""
        self._check_open()
        out = []
        for name, value in pairs:
            str(name).encode("utf-8")  # UnicodeEncodeError now, as in wasmtime-py
            str(value).encode("utf-8")
            out.append((str(name), str(value)))
        self._env = tuple(out)

    def inherit_env(self) -> None:
        """Use this process's environment (variables that are not UTF-8 are left out)."""
        self._check_open()
        self._env = tuple((k, v) for k, v in os.environ.items() if _utf8(k) and _utf8(v))

    @setter_property
    def stdin_file(self, path: PathLike) -> None:
        """Read stdin from ``path``, which must exist (else WasmtimeError)."""
        self._check_open()
        p = _path(path)
        if not os.path.isfile(p):
            raise WasmtimeError("failed to set stdin file")
        self._stdin = p

    def inherit_stdin(self) -> None:
        self._check_open()
        self._stdin = "inherit"

    @setter_property
    def stdin_bytes(self, data: bytes) -> None:
        """Read stdin from these bytes, then end of file (nanoproc extension)."""
        self._check_open()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("expected bytes")
        self._stdin = bytes(data)

    @setter_property
    def stdout_file(self, path: PathLike) -> None:
        """Write stdout to ``path``, created or truncated now (WasmtimeError if it
        cannot be opened for writing)."""
        self._check_open()
        self._stdout = _writable(path, "stdout")

    @setter_property
    def stdout_custom(self, callback: CustomOutput) -> None:
        """Call ``callback(data)`` with every write to stdout."""
        self._check_open()
        self._stdout = callback

    @setter_property
    def stdout_buffer(self, buffer: bytearray) -> None:
        """Append everything written to stdout to ``buffer`` (nanoproc extension)."""
        self._check_open()
        self._stdout = _appender(buffer)

    def inherit_stdout(self) -> None:
        self._check_open()
        self._stdout = "inherit"

    @setter_property
    def stderr_file(self, path: PathLike) -> None:
        """Write stderr to ``path``, created or truncated now."""
        self._check_open()
        self._stderr = _writable(path, "stderr")

    @setter_property
    def stderr_custom(self, callback: CustomOutput) -> None:
        """Call ``callback(data)`` with every write to stderr."""
        self._check_open()
        self._stderr = callback

    @setter_property
    def stderr_buffer(self, buffer: bytearray) -> None:
        """Append everything written to stderr to ``buffer`` (nanoproc extension)."""
        self._check_open()
        self._stderr = _appender(buffer)

    def inherit_stderr(self) -> None:
        self._check_open()
        self._stderr = "inherit"

    def preopen_dir(
        self,
        path: str,
        guest_path: str,
        dir_perms: DirPerms | bool = DirPerms.READ_WRITE,
        file_perms: FilePerms = FilePerms.READ_WRITE,
        *,
        fs_mutable: bool | None = None,
    ) -> None:
        """Let the program use host directory ``path`` as ``guest_path``.

        ``dir_perms``/``file_perms`` limit what it may do there. A bool in place of
        ``dir_perms``, or ``fs_mutable=``, is wasmtime-py 50/51's ``fs_mutable``:
        False means read-only.
        """
        self._check_open()
        if fs_mutable is not None:
            dir_perms = bool(fs_mutable)
        if isinstance(dir_perms, bool):
            if not dir_perms:
                dir_perms, file_perms = DirPerms.READ_ONLY, FilePerms.READ_ONLY
            else:
                dir_perms = DirPerms.READ_WRITE
        if not isinstance(dir_perms, DirPerms) or not isinstance(file_perms, FilePerms):
            raise TypeError("expected DirPerms and FilePerms")
        host = _path(path)
        str(guest_path).encode("utf-8")  # UnicodeEncodeError, as for argv
        if not os.path.isdir(host):
            raise WasmtimeError("failed to add preopen dir")
        self._preopens.append(Preopen(host, str(guest_path), dir_perms, file_perms))

    def preopen_socket(self, sock: socket.socket) -> None:
        """Let the program use host socket ``sock`` (nanoproc extension).

        A listening socket lets the program accept connections (``sock_accept``);
        a connected one, read, write and shut it down. Sockets take the descriptor
        numbers after every preopened directory, in the order they were added. The
        host keeps ownership: the program closing its descriptor does not close
        ``sock``.
        """
        import socket

        self._check_open()
        if not isinstance(sock, socket.socket):
            raise TypeError("expected a socket.socket")
        if sock.type != socket.SOCK_STREAM:
            raise WasmtimeError("only stream (TCP or Unix) sockets can be preopened")
        self._sockets.append(sock)

    @setter_property
    def max_open_files(self, limit: int | None) -> None:
        """Most descriptors the program may hold open at once (EMFILE beyond; nanoproc
        extension). Default None: no cap but the host's own limit, as in wasmtime."""
        self._check_open()
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise TypeError("expected a non-negative int or None")
        self._max_open_files = limit

    def allow_http_host(self, authority: str) -> None:
        """Let ``wasi:http/outgoing-handler`` send requests to ``authority``: ``host``
        (any port) or ``host:port`` (nanoproc extension; without any, every outgoing
        request fails with ``HTTP-request-denied``). ``*`` allows every host."""
        self._check_open()
        if not isinstance(authority, str) or not authority or any(c in authority for c in " /?#@"):
            raise WasmtimeError(f"allow_http_host: expected HOST or HOST:PORT, got {authority!r}")
        self._http_hosts.append(authority.lower())

    def inherit_network(self) -> None:
        """Let wasi:sockets use every address and port, TCP and UDP (wasmtime's
        ``-S inherit-network``; nanoproc extension in the API)."""
        self._check_open()
        for proto in ("tcp", "udp"):
            self._network += [(proto, "0.0.0.0/0", None), (proto, "::/0", None)]

    def allow_tcp(self, address: str, port: int | None = None) -> None:
        """Let wasi:sockets TCP sockets bind to and connect to ``address`` (an IP,
        or a network such as ``10.0.0.0/8``), on ``port`` only if given (nanoproc
        extension). Without any TCP rule, TCP sockets cannot be created."""
        self._network.append(("tcp", _network(address), _port(port)))

    def allow_udp(self, address: str, port: int | None = None) -> None:
        """As :meth:`allow_tcp`, for UDP: binding, and sending to ``address``."""
        self._network.append(("udp", _network(address), _port(port)))

    def allow_ip_name_lookup(self) -> None:
        """Let wasi:sockets resolve host names (wasmtime's ``-S allow-ip-name-lookup``)."""
        self._check_open()
        self._ip_name_lookup = True

    def _consume(self) -> WasiSettings:
        """Freeze the configuration for a store; the config cannot be used again."""
        self._check_open()
        self._closed = True
        return WasiSettings(
            self._argv, self._env, self._stdin, self._stdout, self._stderr, tuple(self._preopens),
            tuple(self._sockets), self._max_open_files, tuple(self._http_hosts),
            tuple(self._network), self._ip_name_lookup,
        )


def _network(address: str) -> str:
    import ipaddress

    if address == "*":
        raise WasmtimeError("use inherit_network() to allow every address")
    try:
        return str(ipaddress.ip_network(address, strict=False))
    except ValueError:
        raise WasmtimeError(f"expected an IP address or network, got {address!r}") from None


def _port(port: int | None) -> int | None:
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535):
        raise WasmtimeError(f"expected a port from 0 to 65535, got {port!r}")
    return port


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _appender(buffer: bytearray) -> CustomOutput:
    if not isinstance(buffer, bytearray):
        raise TypeError("expected a bytearray")

    def append(data: bytes) -> None:
        buffer.extend(data)

    return append


def _writable(path: PathLike, stream: str) -> str:
    p = _path(path)
    try:
        with open(p, "wb"):
            pass
    except OSError:
        raise WasmtimeError(f"failed to set {stream} file") from None
    return p
