"""The compile cache: object code of compiled modules, on disk and in memory.

Entries live in platformdirs' user cache directory (``NANOPROC_CACHE_DIR``
overrides it; ``NANOPROC_LLVM_CACHE=0`` turns the disk cache off), one file per
key. The key covers everything the code depends on: the module's bytes, the
nanoproc version, a hash of this tier's own source (the code generator), the LLVM
and llvmlite versions, the CPU and its features, and the optimisation level.

Safe under concurrent processes: an entry is written to a temporary file in the
same directory and renamed into place (atomic on POSIX), so a reader sees a whole
entry or none. A truncated or corrupt entry (its checksum does not match) is
ignored and rebuilt. The checksum covers the entry's key and header too, so an
entry renamed or copied to another key's name is rebuilt as well, never run.
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
from functools import cache
from pathlib import Path

from ..cachedir import tier_cache_dir

MAGIC = b"npllvm\0\2"
_HEADER = struct.Struct("<8s32sI")  # magic, sha256 of (key, count, payload), object count

_memory: dict[str, list[bytes]] = {}
_memory_lock = threading.Lock()
MEMORY_ENTRIES = 256
"""Compiled modules kept in memory per process (a test session reuses many)."""


LOADER_ONLY = frozenset({"elflink.py", "link.py"})
"""Sources that only load object code (they never change what is compiled; the
images of elflink carry a hash of it themselves, see link.py)."""


@cache
def generator_hash() -> str:
    """A hash of this tier's source files: code from another generator is never reused."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for p in sorted(root.rglob("*.py")):
        if p.parent == root and p.name in LOADER_ONLY:
            continue
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> Path | None:
    """Where entries live, or None when the disk cache is off."""
    if os.environ.get("NANOPROC_LLVM_CACHE", "1") == "0":
        return None
    return tier_cache_dir("llvm")


def cache_key(module_digest: str, config: str) -> str:
    from .jit import host_target

    host = host_target().key()
    _record_host_key(host)
    return _key(module_digest, host, config)


def _key(module_digest: str, host: str, config: str) -> str:
    from ...api.artifact import nanoproc_version

    parts = (module_digest, nanoproc_version(), generator_hash(), host, config)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# ---------------------------------------------------------------- keys without LLVM
# A key needs the host target (CPU name and features as LLVM sees them), which takes
# loading LLVM (~0.3 s). A tiered engine asks the cache at every start, and on a
# cold start the answer is "not there": so the host key is also recorded in the
# cache directory under a fingerprint of the machine and the LLVM build that
# needs no LLVM (the CPU's identification and flags from /proc/cpuinfo, the
# llvmlite library file). ``quick_key`` then computes keys without LLVM; it only
# ever finds entries this machine's LLVM wrote under the same fingerprint, and
# whoever links the code computes the full key again.


@cache
def machine_fingerprint() -> str | None:
    """A hash of what the host target depends on, read without LLVM; None where
    that is not known (no /proc/cpuinfo, no llvmlite library file)."""
    import importlib.util
    import sys

    try:
        spec = importlib.util.find_spec("llvmlite")
        if spec is None or not spec.submodule_search_locations:
            return None
        lib_dir = Path(next(iter(spec.submodule_search_locations))) / "binding"
        libs = sorted(p for p in lib_dir.iterdir() if p.name.startswith("libllvmlite"))
        if not libs:
            return None
        st = libs[0].stat()
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            text = f.read()
        machine = os.uname().machine  # platform.machine()'s answer, without importing it
    except (OSError, ValueError, ImportError, AttributeError):
        return None
    cpu = []
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor is enough: LLVM asks the one it runs on
        name = line.split(":", 1)[0].strip()
        if name in ("vendor_id", "cpu family", "model", "model name", "stepping", "flags",
                    "Features", "CPU implementer", "CPU architecture", "CPU variant",
                    "CPU part", "isa", "uarch"):
            cpu.append(line)
    if not cpu:
        return None
    h = hashlib.sha256()
    for part in (sys.platform, machine, str(libs[0]), str(st.st_size),
                 str(st.st_mtime_ns), *cpu):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:32]


def _host_key_path() -> Path | None:
    d = cache_dir()
    fp = machine_fingerprint()
    return None if d is None or fp is None else d / f"host-{fp}.key"


_recorded: set[Path] = set()


def _record_host_key(host: str) -> None:
    """Remember ``host`` (the full host target key) under this machine's fingerprint."""
    path = _host_key_path()
    if path is None or path in _recorded:
        return
    _recorded.add(path)
    try:
        if path.read_text(encoding="utf-8") == host:
            return
    except (OSError, ValueError):  # missing, unreadable or not text: write it again
        pass
    _write_atomically(path, host.encode())


def quick_key(module_digest: str, config: str) -> str | None:
    """``cache_key`` without loading LLVM, or None when this machine's host key was
    never recorded in the cache directory (nothing it holds was compiled here)."""
    path = _host_key_path()
    if path is None:
        return None
    try:
        host = path.read_text(encoding="utf-8")
    except (OSError, ValueError):  # unreadable or not text: as if never recorded
        return None
    if not host or "\n" in host:
        return None
    return _key(module_digest, host, config)


_known_hosts: dict[tuple[str | None, str | None], str] = {}
"""(NANOPROC_CACHE_DIR, NANOPROC_LLVM_CACHE) -> the host key recorded there."""


def reading_key(module_digest: str, config: str) -> str:
    """``cache_key``, computed without loading LLVM when this machine's host key is
    recorded (as :func:`quick_key`; read once per process and cache directory): a
    warm start computes the keys of every cached unit and glue object it loads
    (~1,100 for CPython-for-WASI), and loading LLVM for them was ~0.1 s of its
    first run."""
    env = os.environ
    where = (env.get("NANOPROC_CACHE_DIR"), env.get("NANOPROC_LLVM_CACHE"))
    host = _known_hosts.get(where)
    if host is None:
        path = _host_key_path()
        try:
            text = path.read_text(encoding="utf-8") if path is not None else ""
        except (OSError, ValueError):
            text = ""
        if not text or "\n" in text:
            return cache_key(module_digest, config)
        host = _known_hosts[where] = text
    return _key(module_digest, host, config)


def load_quick(module_digest: str, config: str) -> list[bytes] | None:
    """The entry of (``module_digest``, ``config``) found through :func:`quick_key`
    (no LLVM loaded), or None: then ask again with :func:`cache_key`."""
    key = quick_key(module_digest, config)
    return None if key is None else load(key)


def probe(module_digest: str, config: str) -> bool | None:
    """Whether an intact entry for the module is in the cache, answered without
    loading LLVM: True, False, or None when that cannot be known without it."""
    if cache_dir() is None or machine_fingerprint() is None:
        return None
    key = quick_key(module_digest, config)
    if key is None:
        return False  # nothing was ever compiled on this machine into this directory
    return load(key) is not None


def _path(key: str) -> Path | None:
    d = cache_dir()
    return None if d is None else d / key[:2] / f"{key}.obj"


def _digest(key: str, count: int, payload: bytes | memoryview) -> bytes:
    h = hashlib.sha256(key.encode())
    h.update(struct.pack("<I", count))
    h.update(payload)
    return h.digest()


def encode(objects: list[bytes], key: str) -> bytes:
    payload = b"".join(struct.pack("<Q", len(o)) + o for o in objects)
    return _HEADER.pack(MAGIC, _digest(key, len(objects), payload), len(objects)) + payload


def decode(data: bytes, key: str) -> list[bytes] | None:
    """The objects of entry ``key``, or None if it is not a whole, intact entry."""
    if len(data) < _HEADER.size:
        return None
    magic, digest, count = _HEADER.unpack_from(data)
    payload = memoryview(data)[_HEADER.size :]
    if magic != MAGIC or _digest(key, count, payload) != digest:
        return None
    out = []
    pos = 0
    for _ in range(count):
        if pos + 8 > len(payload):
            return None
        (n,) = struct.unpack_from("<Q", payload, pos)
        pos += 8
        out.append(bytes(payload[pos : pos + n]))
        pos += n
    return out if pos == len(payload) else None


def load(key: str, memory: bool = True) -> list[bytes] | None:
    """The entry of ``key`` (from memory, else disk), or None. ``memory=False``: keep
    it out of the in-memory entries (callers with a memory of their own: glue.py)."""
    if memory:
        with _memory_lock:
            got = _memory.get(key)
        if got is not None:
            return got
    path = _path(key)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    objects = decode(data, key)
    if objects is not None and memory:
        _remember(key, objects)
    return objects


def store(key: str, objects: list[bytes], memory: bool = True) -> None:
    if memory:
        _remember(key, objects)
    path = _path(key)
    if path is None:
        return
    _write_atomically(path, encode(objects, key))


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        import tempfile  # writing only: a warm start reads (tempfile loads random, shutil)

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass  # a read-only or full cache directory only costs a recompile


def _remember(key: str, objects: list[bytes]) -> None:
    with _memory_lock:
        if len(_memory) >= MEMORY_ENTRIES:
            _memory.pop(next(iter(_memory)))
        _memory[key] = objects
