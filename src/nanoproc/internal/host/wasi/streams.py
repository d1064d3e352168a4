"""The standard streams a WASI program sees: inherited, files, Python bytes and
callbacks, or nothing at all (wasmtime's defaults: empty stdin, discarded output).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from .errno import Errno, WasiError

CALLBACK_CHUNK = 1 << 20
"""Most bytes handed to an output callback per write (the guest sees a short write)."""


class InputStream:
    """Where stdin reads come from."""

    host_fd: int | None = None
    """An OS fd to wait on in poll_oneoff; None when reads never block."""

    def readinto(self, buf: memoryview) -> int:
        raise NotImplementedError

    def isatty(self) -> bool:
        return self.host_fd is not None and os.isatty(self.host_fd)

    def close(self) -> None:
        pass


class OutputStream:
    """Where stdout or stderr writes go."""

    host_fd: int | None = None

    def write(self, data: memoryview) -> int:
        raise NotImplementedError

    def isatty(self) -> bool:
        return self.host_fd is not None and os.isatty(self.host_fd)

    def close(self) -> None:
        pass


class EmptyInput(InputStream):
    """No stdin: every read is end of file."""

    def readinto(self, buf: memoryview) -> int:
        return 0


class BytesInput(InputStream):
    """stdin from bytes given by the host."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(bytes(data))
        self.pos = 0

    def readinto(self, buf: memoryview) -> int:
        chunk = self.data[self.pos : self.pos + len(buf)]
        buf[: len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)


class FdInput(InputStream):
    """stdin from an OS fd: this process's own (inherited) or a file opened for it."""

    def __init__(self, fd: int, owned: bool) -> None:
        self.host_fd = fd
        self.owned = owned

    def readinto(self, buf: memoryview) -> int:
        assert self.host_fd is not None
        return os.readv(self.host_fd, [buf])

    def close(self) -> None:
        if self.owned and self.host_fd is not None:
            os.close(self.host_fd)
            self.host_fd = None


class SinkOutput(OutputStream):
    """Output nobody reads: every write succeeds and is dropped."""

    def write(self, data: memoryview) -> int:
        return len(data)


class FdOutput(OutputStream):
    """Output to an OS fd: this process's stdout/stderr (inherited) or a file."""

    def __init__(self, fd: int, owned: bool, pyfile: Any = None) -> None:
        self.host_fd = fd
        self.owned = owned
        self.pyfile = pyfile
        """Python's own stream on the same fd, flushed first to keep output in order."""

    def write(self, data: memoryview) -> int:
        assert self.host_fd is not None
        if self.pyfile is not None:
            try:
                self.pyfile.flush()
            except (OSError, ValueError):
                pass
        return os.write(self.host_fd, data)

    def close(self) -> None:
        if self.owned and self.host_fd is not None:
            os.close(self.host_fd)
            self.host_fd = None


class CallbackOutput(OutputStream):
    """Output handed to a Python callable, which returns how many bytes it took
    (None: all of them), as wasmtime-py's ``stdout_custom``."""

    def __init__(self, callback: Callable[[bytes], int | None]) -> None:
        self.callback = callback

    def write(self, data: memoryview) -> int:
        chunk = bytes(data[:CALLBACK_CHUNK])
        try:
            taken = self.callback(chunk)
        except Exception:
            raise WasiError(Errno.IO) from None
        if taken is None:
            return len(chunk)
        if not isinstance(taken, int) or not 0 <= taken <= len(chunk):
            raise WasiError(Errno.IO)
        return taken


def input_stream(spec: Any) -> InputStream:
    """stdin for a WasiSettings value: "inherit", a file path, bytes or None."""
    if spec is None:
        return EmptyInput()
    if isinstance(spec, (bytes, bytearray, memoryview)):
        return BytesInput(bytes(spec))
    if spec == "inherit":
        return FdInput(0, owned=False)
    return FdInput(os.open(spec, os.O_RDONLY | os.O_CLOEXEC), owned=True)


def output_stream(spec: Any, which: int) -> OutputStream:
    """stdout (which=1) or stderr (2) for a WasiSettings value: "inherit", a file
    path, a callable, or None."""
    if spec is None:
        return SinkOutput()
    if callable(spec):
        return CallbackOutput(spec)
    if spec == "inherit":
        return FdOutput(which, owned=False, pyfile=sys.stdout if which == 1 else sys.stderr)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
    return FdOutput(os.open(spec, flags, 0o666), owned=True)

