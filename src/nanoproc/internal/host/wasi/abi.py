"""WASI preview1 constants and record layouts, as the witx defines them.

Flags and enums are plain ints (they go straight into guest memory); layouts are
``struct`` formats, little-endian, with the witx's padding made explicit.
"""

from __future__ import annotations

import struct

MODULE = "wasi_snapshot_preview1"

# ------------------------------------------------------------ clockid
CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
CLOCK_PROCESS_CPUTIME_ID = 2
CLOCK_THREAD_CPUTIME_ID = 3

# ------------------------------------------------------------ rights
RIGHT_FD_DATASYNC = 1 << 0
RIGHT_FD_READ = 1 << 1
RIGHT_FD_SEEK = 1 << 2
RIGHT_FD_FDSTAT_SET_FLAGS = 1 << 3
RIGHT_FD_SYNC = 1 << 4
RIGHT_FD_TELL = 1 << 5
RIGHT_FD_WRITE = 1 << 6
RIGHT_FD_ADVISE = 1 << 7
RIGHT_FD_ALLOCATE = 1 << 8
RIGHT_PATH_CREATE_DIRECTORY = 1 << 9
RIGHT_PATH_CREATE_FILE = 1 << 10
RIGHT_PATH_LINK_SOURCE = 1 << 11
RIGHT_PATH_LINK_TARGET = 1 << 12
RIGHT_PATH_OPEN = 1 << 13
RIGHT_FD_READDIR = 1 << 14
RIGHT_PATH_READLINK = 1 << 15
RIGHT_PATH_RENAME_SOURCE = 1 << 16
RIGHT_PATH_RENAME_TARGET = 1 << 17
RIGHT_PATH_FILESTAT_GET = 1 << 18
RIGHT_PATH_FILESTAT_SET_SIZE = 1 << 19
RIGHT_PATH_FILESTAT_SET_TIMES = 1 << 20
RIGHT_FD_FILESTAT_GET = 1 << 21
RIGHT_FD_FILESTAT_SET_SIZE = 1 << 22
RIGHT_FD_FILESTAT_SET_TIMES = 1 << 23
RIGHT_PATH_SYMLINK = 1 << 24
RIGHT_PATH_REMOVE_DIRECTORY = 1 << 25
RIGHT_PATH_UNLINK_FILE = 1 << 26
RIGHT_POLL_FD_READWRITE = 1 << 27
RIGHT_SOCK_SHUTDOWN = 1 << 28
RIGHT_SOCK_ACCEPT = 1 << 29
RIGHTS_ALL = (1 << 30) - 1

# ------------------------------------------------------------ filetype
FILETYPE_UNKNOWN = 0
FILETYPE_BLOCK_DEVICE = 1
FILETYPE_CHARACTER_DEVICE = 2
FILETYPE_DIRECTORY = 3
FILETYPE_REGULAR_FILE = 4
FILETYPE_SOCKET_DGRAM = 5
FILETYPE_SOCKET_STREAM = 6
FILETYPE_SYMBOLIC_LINK = 7

# ------------------------------------------------------------ whence, advice
WHENCE_SET = 0
WHENCE_CUR = 1
WHENCE_END = 2
ADVICE_MAX = 5  # normal, sequential, random, willneed, dontneed, noreuse

# ------------------------------------------------------------ fdflags
FDFLAG_APPEND = 1 << 0
FDFLAG_DSYNC = 1 << 1
FDFLAG_NONBLOCK = 1 << 2
FDFLAG_RSYNC = 1 << 3
FDFLAG_SYNC = 1 << 4
FDFLAGS_ALL = (1 << 5) - 1

# ------------------------------------------------------------ fstflags
FST_ATIM = 1 << 0
FST_ATIM_NOW = 1 << 1
FST_MTIM = 1 << 2
FST_MTIM_NOW = 1 << 3
FSTFLAGS_ALL = (1 << 4) - 1

# ------------------------------------------------------------ lookupflags, oflags
LOOKUP_SYMLINK_FOLLOW = 1 << 0

OFLAG_CREAT = 1 << 0
OFLAG_DIRECTORY = 1 << 1
OFLAG_EXCL = 1 << 2
OFLAG_TRUNC = 1 << 3
OFLAGS_ALL = (1 << 4) - 1

# ------------------------------------------------------------ poll
EVENTTYPE_CLOCK = 0
EVENTTYPE_FD_READ = 1
EVENTTYPE_FD_WRITE = 2
EVENTRWFLAG_HANGUP = 1 << 0
SUBCLOCK_ABSTIME = 1 << 0

# ------------------------------------------------------------ sockets
RIFLAG_RECV_PEEK = 1 << 0
RIFLAG_RECV_WAITALL = 1 << 1
ROFLAG_RECV_DATA_TRUNCATED = 1 << 0
SDFLAG_RD = 1 << 0
SDFLAG_WR = 1 << 1

PREOPENTYPE_DIR = 0
DIRCOOKIE_START = 0

# ------------------------------------------------------------ record layouts
IOVEC = struct.Struct("<II")  # buf, buf_len (ciovec is the same)
FDSTAT = struct.Struct("<BxHxxxxQQ")  # filetype, flags, rights_base, rights_inheriting
FILESTAT = struct.Struct("<QQBxxxxxxxQQQQQ")  # dev ino filetype nlink size atim mtim ctim
DIRENT = struct.Struct("<QQIBxxx")  # d_next d_ino d_namlen d_type
PRESTAT = struct.Struct("<BxxxI")  # tag (dir), pr_name_len
SUBSCRIPTION = struct.Struct("<QB7x32s")  # userdata, tag, union body
SUB_CLOCK = struct.Struct("<IxxxxQQH")  # id, timeout, precision, flags
SUB_FD = struct.Struct("<I")  # file_descriptor
EVENT = struct.Struct("<QHBxxxxxQH6x")  # userdata error type; nbytes flags
U8 = struct.Struct("<B")
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")

assert FDSTAT.size == 24 and FILESTAT.size == 64 and DIRENT.size == 24
assert PRESTAT.size == 8 and SUBSCRIPTION.size == 48 and EVENT.size == 32
