"""Host functions called directly on a MemoryInst, and the pieces under them:
path resolution, guest-memory checks, errno mapping, record layouts."""

from __future__ import annotations

import errno
import os
import struct
import tracemalloc
from pathlib import Path

import pytest

import nanoproc
from nanoproc.internal.exec.memory import MemoryInst
from nanoproc.internal.host.wasi import abi
from nanoproc.internal.host.wasi.ctx import WasiCtx
from nanoproc.internal.host.wasi.errno import Errno, WasiError, from_oserror
from nanoproc.internal.host.wasi.fs import MAX_SYMLINKS, resolve, split
from nanoproc.internal.host.wasi.guestmem import GuestMemory
from nanoproc.internal.host.wasi.registry import FUNCTIONS
from nanoproc.internal.syntax.types import Limits, MemType

PAGES = 1024  # 64 MiB of guest memory
BIG = 48 << 20


def memory() -> GuestMemory:
    mem = MemoryInst(MemType(Limits(PAGES, None)))
    return GuestMemory(mem.view)


def ctx_for(config: nanoproc.WasiConfig) -> WasiCtx:
    return WasiCtx.from_settings(config._consume())


def call(name: str, ctx: WasiCtx, mem: GuestMemory, *args: int) -> int:
    try:
        FUNCTIONS[name](ctx, mem, *args)
    except WasiError as e:
        return e.errno.value
    except OSError as e:
        return from_oserror(e).value
    return 0


def peak_during(fn: object) -> int:
    tracemalloc.start()
    try:
        fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_big_transfers_use_little_host_memory(tmp_path: Path) -> None:
    """48 MiB through fd_read, fd_write and random_get with < 2 MiB of Python
    allocations: data moves between the OS and guest memory directly."""
    big = tmp_path / "big"
    with open(big, "wb") as f:
        f.truncate(BIG)  # sparse: no disk space needed
    config = nanoproc.WasiConfig()
    config.stdin_file = str(big)
    config.stdout_file = "/dev/null"
    ctx = ctx_for(config)
    mem = memory()
    mem.store(abi.IOVEC, 16, 1024, BIG)

    def transfer() -> None:
        assert call("fd_read", ctx, mem, 0, 16, 1, 8) == 0
        assert call("fd_write", ctx, mem, 1, 16, 1, 8) == 0
        assert call("random_get", ctx, mem, 1024, BIG) == 0

    assert peak_during(transfer) < 2 << 20
    assert struct.unpack_from("<I", mem.view, 8)[0] > 0
    ctx.close()


def test_callback_output_is_chunked() -> None:
    got: list[int] = []
    config = nanoproc.WasiConfig()
    config.stdout_custom = lambda data: got.append(len(data))
    ctx = ctx_for(config)
    mem = memory()
    mem.store(abi.IOVEC, 16, 1024, BIG)
    assert call("fd_write", ctx, mem, 1, 16, 1, 8) == 0
    assert got == [1 << 20]  # one bounded chunk; the guest sees a short write
    assert struct.unpack_from("<I", mem.view, 8)[0] == 1 << 20


def test_huge_iovec_count_reads_at_most_iov_max_entries() -> None:
    ctx = ctx_for(nanoproc.WasiConfig())
    mem = memory()
    # 2**20 empty iovecs, then a non-empty one: past IOV_MAX, so nothing is written
    mem.store(abi.IOVEC, (1 << 20) * 8, 0, 5)
    assert call("fd_write", ctx, mem, 1, 0, (1 << 20) + 1, 8) == 0
    assert struct.unpack_from("<I", mem.view, 8)[0] == 0


# ---------------------------------------------------------------- path resolution
def test_split() -> None:
    assert split(b"a/b") == ([b"a", b"b"], False)
    assert split(b"a//./b/") == ([b"a", b"b"], True)
    assert split(b"./a/.") == ([b"a", b"."], False)
    assert split(b".") == ([b"."], False)
    for bad, code in ((b"", Errno.NOENT), (b"/etc", Errno.PERM), (b"//x", Errno.PERM)):
        with pytest.raises(WasiError) as info:
            split(bad)
        assert info.value.errno == code


@pytest.fixture
def tree(tmp_path: Path) -> int:
    (tmp_path / "outside.txt").write_text("no")
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "f.txt").write_text("yes")
    os.symlink("a/b", root / "to_b")
    os.symlink("../f.txt", root / "a" / "b" / "up")
    os.symlink("../outside.txt", root / "out")
    os.symlink(str(tmp_path / "outside.txt"), root / "abs")
    for i in range(MAX_SYMLINKS + 1):
        os.symlink(f"c{i + 1}", root / f"c{i}")
    (root / f"c{MAX_SYMLINKS + 1}").write_text("end")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def resolved(base: int, path: bytes, follow: bool = True, slash_is_name: bool = False) -> tuple[bytes, bytes]:
    """(name, text of the file it names), or raise WasiError."""
    with resolve(base, path, follow, slash_is_name) as w:
        fd = -1
        try:
            fd = os.open(w.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=w.dirfd)
            return w.name, os.read(fd, 100)
        except OSError as e:
            return w.name, f"errno {errno.errorcode[e.errno or 0]}".encode()
        finally:
            if fd >= 0:
                os.close(fd)


def fails(base: int, path: bytes, code: Errno, follow: bool = True) -> None:
    """Resolving fails with ``code`` (a WasiError, or a host error mapped to it)."""
    with pytest.raises((WasiError, OSError)) as info:
        resolved(base, path, follow)
    e = info.value
    assert (e.errno if isinstance(e, WasiError) else from_oserror(e)) == code


def test_resolve_inside(tree: int) -> None:
    assert resolved(tree, b"a/f.txt") == (b"f.txt", b"yes")
    assert resolved(tree, b"to_b/up") == (b"f.txt", b"yes")  # link in the middle, link at the end
    assert resolved(tree, b"a/b/../f.txt") == (b"f.txt", b"yes")
    assert resolved(tree, b"c1")[1] == b"end"  # 40 links: allowed
    assert resolved(tree, b"a/") == (b".", b"errno EISDIR")  # trailing slash walks in
    assert resolved(tree, b"a/", slash_is_name=True)[0] == b"a"
    assert resolved(tree, b"out", follow=False)[0] == b"out"  # the link itself, not followed
    assert resolved(tree, b"a/..")[0] == b"."


def test_resolve_refuses_escapes(tree: int) -> None:
    fails(tree, b"..", Errno.PERM)
    fails(tree, b"a/../..", Errno.PERM)
    fails(tree, b"out", Errno.PERM)
    fails(tree, b"abs", Errno.PERM)
    fails(tree, b"c0", Errno.LOOP)  # 41 links
    fails(tree, b"a/f.txt/x", Errno.NOTDIR)
    fails(tree, b"missing/x", Errno.NOENT)


def test_resolve_closes_what_it_opened(tree: int) -> None:
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    for _ in range(50):
        resolved(tree, b"to_b/up")
        with pytest.raises(WasiError):
            resolved(tree, b"a/b/../../..")
        with pytest.raises(OSError):
            resolved(tree, b"a/b/missing/x")
    if before:
        assert len(os.listdir("/proc/self/fd")) == before


# ---------------------------------------------------------------- small pieces
def test_guest_paths() -> None:
    mem = memory()
    mem.write(0, b"ok/name\xff\0")
    assert mem.path(0, 7) == b"ok/name"
    with pytest.raises(WasiError, match="ILSEQ"):
        mem.path(0, 8)
    mem.write(0, b"a\0b")
    with pytest.raises(WasiError, match="INVAL"):
        mem.path(0, 3)
    with pytest.raises(WasiError, match="FAULT"):
        mem.path(PAGES * 65536 - 2, 3)


def test_errno_values_and_host_mapping() -> None:
    assert (Errno.TOOBIG, Errno.BADF, Errno.FAULT, Errno.INVAL, Errno.NOENT, Errno.PERM,
            Errno.NOTCAPABLE) == (1, 8, 21, 28, 44, 63, 76)  # fmt: skip
    assert len(Errno) == 77
    for host, wasi in ((errno.ENOENT, Errno.NOENT), (errno.EACCES, Errno.ACCES), (errno.E2BIG, Errno.TOOBIG),
                       (errno.EWOULDBLOCK, Errno.AGAIN), (errno.ENOTEMPTY, Errno.NOTEMPTY)):  # fmt: skip
        assert from_oserror(OSError(host, "x")) == wasi
    assert from_oserror(OSError(9999, "unknown")) == Errno.IO


def test_record_layouts() -> None:
    assert (abi.FDSTAT.size, abi.FILESTAT.size, abi.DIRENT.size, abi.PRESTAT.size,
            abi.SUBSCRIPTION.size, abi.EVENT.size, abi.IOVEC.size) == (24, 64, 24, 8, 48, 32, 8)  # fmt: skip
    assert abi.RIGHTS_ALL == 0x3FFFFFFF and abi.RIGHT_SOCK_ACCEPT == 1 << 29


def test_sleep_obeys_the_epoch_deadline() -> None:
    """A guest sleeping in poll_oneoff traps with INTERRUPT once its store's epoch
    deadline passes (context_for wires the check when the engine has epochs on)."""
    import threading
    import time
    from types import SimpleNamespace

    from nanoproc.internal.exec.trap import Trap, TrapCode
    from nanoproc.internal.host.wasi.ctx import context_for

    class StoreState:  # the fields context_for reads (weak-referenceable, as the real one)
        def __init__(self, engine: object) -> None:
            self.engine = engine
            self.epoch_deadline = 1
            self.wasi = nanoproc.WasiConfig()._consume()

    engine = SimpleNamespace(epoch_interruption=True, epoch=0)
    st = StoreState(engine)
    ctx = context_for(st)
    assert ctx.interrupted is not None and not ctx.interrupted()
    mem = memory()
    mem.store(abi.SUBSCRIPTION, 0, 7, abi.EVENTTYPE_CLOCK,
              abi.SUB_CLOCK.pack(abi.CLOCK_MONOTONIC, 10 * 10**9, 0, 0))  # fmt: skip
    threading.Timer(0.1, lambda: setattr(engine, "epoch", 1)).start()
    start = time.monotonic()
    with pytest.raises(Trap) as info:
        FUNCTIONS["poll_oneoff"](ctx, mem, 0, 64, 1, 200)
    assert info.value.trap_code == TrapCode.INTERRUPT
    assert time.monotonic() - start < 5
