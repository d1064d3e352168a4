"""The CLI's standard streams when they are closed or their reader goes away.

``nanoproc run app.wasm >&-`` starts with descriptor 1 closed: Python then has no
``sys.stdout``, and the next file opened would take descriptor 1 and receive
the program's output. Rust's runtime (hence wasmtime) reopens closed standard
descriptors on /dev/null before ``main``; :func:`ensure_standard_streams` does
the same. A stream whose reader went away (EPIPE) while nanoproc writes its own
messages is pointed at /dev/null by :func:`write_quietly`, so that neither that
write nor Python's flush at exit changes the exit status.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TextIO

_NAMES = ("stdin", "stdout", "stderr")


def ensure_standard_streams() -> None:
    """Reopen closed descriptors 0-2 on /dev/null and give Python streams for them."""
    for fd, name in enumerate(_NAMES):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            mode = "r" if fd == 0 else "w"
            stream = io.TextIOWrapper(io.FileIO(fd, mode, closefd=False),
                                      errors="backslashreplace" if fd == 2 else "strict",
                                      line_buffering=fd == 2)  # fmt: skip
            setattr(sys, name, stream)


def silence(stream: TextIO) -> None:
    """Point ``stream``'s descriptor at /dev/null: what is still buffered, and
    everything written later, is dropped without an error."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def write_quietly(stream: TextIO | None, text: str) -> bool:
    """Write and flush ``text``; False (and the stream silenced) if it cannot be."""
    if stream is None:
        return False
    try:
        stream.write(text)
        stream.flush()
        return True
    except (OSError, ValueError):
        silence(stream)
        return False


def flush_quietly() -> None:
    """Flush stdout and stderr; a stream that cannot be flushed is silenced."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except (OSError, ValueError):
            silence(stream)
