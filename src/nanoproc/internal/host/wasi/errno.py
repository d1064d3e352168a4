"""WASI preview1 ``errno`` values (witx ``$errno``) and the mapping from host errors.

A WASI function reports failure by returning one of these codes; ``WasiError``
carries one from deep inside a call to the binding layer, which returns it.
"""

from __future__ import annotations

import errno as _os
from enum import IntEnum


class Errno(IntEnum):
    SUCCESS = 0
    TOOBIG = 1  # "2big"
    ACCES = 2
    ADDRINUSE = 3
    ADDRNOTAVAIL = 4
    AFNOSUPPORT = 5
    AGAIN = 6
    ALREADY = 7
    BADF = 8
    BADMSG = 9
    BUSY = 10
    CANCELED = 11
    CHILD = 12
    CONNABORTED = 13
    CONNREFUSED = 14
    CONNRESET = 15
    DEADLK = 16
    DESTADDRREQ = 17
    DOM = 18
    DQUOT = 19
    EXIST = 20
    FAULT = 21
    FBIG = 22
    HOSTUNREACH = 23
    IDRM = 24
    ILSEQ = 25
    INPROGRESS = 26
    INTR = 27
    INVAL = 28
    IO = 29
    ISCONN = 30
    ISDIR = 31
    LOOP = 32
    MFILE = 33
    MLINK = 34
    MSGSIZE = 35
    MULTIHOP = 36
    NAMETOOLONG = 37
    NETDOWN = 38
    NETRESET = 39
    NETUNREACH = 40
    NFILE = 41
    NOBUFS = 42
    NODEV = 43
    NOENT = 44
    NOEXEC = 45
    NOLCK = 46
    NOLINK = 47
    NOMEM = 48
    NOMSG = 49
    NOPROTOOPT = 50
    NOSPC = 51
    NOSYS = 52
    NOTCONN = 53
    NOTDIR = 54
    NOTEMPTY = 55
    NOTRECOVERABLE = 56
    NOTSOCK = 57
    NOTSUP = 58
    NOTTY = 59
    NXIO = 60
    OVERFLOW = 61
    OWNERDEAD = 62
    PERM = 63
    PIPE = 64
    PROTO = 65
    PROTONOSUPPORT = 66
    PROTOTYPE = 67
    RANGE = 68
    ROFS = 69
    SPIPE = 70
    SRCH = 71
    STALE = 72
    TIMEDOUT = 73
    TXTBSY = 74
    XDEV = 75
    NOTCAPABLE = 76


class WasiError(Exception):
    """A WASI call failed with ``errno``; the binding returns it to the guest."""

    def __init__(self, errno: Errno) -> None:
        super().__init__(errno.name)
        self.errno = errno


def _host_table() -> dict[int, Errno]:
    """Host errno numbers to WASI ones, by name (host numbering differs per OS)."""
    aliases = {"E2BIG": Errno.TOOBIG, "EWOULDBLOCK": Errno.AGAIN, "EOPNOTSUPP": Errno.NOTSUP,
               "ENOTSUP": Errno.NOTSUP, "EDEADLOCK": Errno.DEADLK}  # fmt: skip
    table: dict[int, Errno] = {}
    for name, num in vars(_os).items():
        if not name.startswith("E") or not isinstance(num, int):
            continue
        wasi = aliases.get(name) or Errno.__members__.get(name[1:])
        if wasi is not None:
            table.setdefault(num, wasi)
    return table


_HOST_TO_WASI = _host_table()


def from_oserror(exc: OSError) -> Errno:
    """The WASI errno for a host OSError (EIO for anything WASI has no name for)."""
    return _HOST_TO_WASI.get(exc.errno or 0, Errno.IO)
