"""The interp tier's translation cache: what one run translated, the next one loads.

On a big program's start, translating functions (Python source generated, then
``compile()``d) is most of the time to the first result. The translations depend
only on the module's bytes, the translation options and this build, so they are
kept on disk, next to the llvm tier's compile cache: one file per module and
options, holding each function's code objects as :mod:`.packed` bytes (``marshal``,
as CPython caches bytecode). A warm start unpacks a function at its first call
instead of translating it. That matters for the default (tiered) engine too: a
short program exits before its background compile even starts, so without this
cache its next run would translate everything again.

Fail safe: a file is used only if its checksum matches and every entry unpacks as
the translation of that function (else the function is translated as without the
cache); a file that cannot be written is skipped. Only modules with at least
MIN_CODE_BYTES of code are cached (a test suite's thousands of small modules need
no files). ``NANOPROC_INTERP_CACHE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import threading
import weakref
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cachedir import tier_cache_dir
from ..exec.digest import sha256_hex

if TYPE_CHECKING:
    from .artifact import ModuleArtifact, TranslationOptions

MIN_CODE_BYTES = 100_000
"""Code section size from which a module's translations are cached."""

MAGIC = b"nanoproc-interp-code 1\n"
_DIGEST = 32


def enabled() -> bool:
    if os.environ.get("NANOPROC_INTERP_CACHE", "1") == "0":
        return False
    return not os.environ.get("NANOPROC_INTERP_DUMP")  # the dump wants every source


def cache_dir() -> Path | None:
    """Where the files live (beside the llvm tier's cache), or None when off."""
    return tier_cache_dir("interp")


@cache
def generator_hash() -> str:
    """A hash of the translator's source (this package and the operator table), of
    the decoder and validator (a file also stands for its module's verdict, see
    :func:`known_valid`) and of the Python running it (marshal and bytecode are
    version-specific)."""
    h = hashlib.sha256(sys.version.encode() + b"\0" + sys.implementation.cache_tag.encode())
    root = Path(__file__).resolve().parent
    files = [*sorted(root.rglob("*.py")), root.parent / "syntax" / "ops.py",
             *sorted((root.parent / "valid").rglob("*.py")),
             *sorted((root.parent / "binary").rglob("*.py"))]
    for p in files:
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def path_for(art: ModuleArtifact, options: TranslationOptions) -> Path | None:
    """The cache file of ``art``'s module translated with ``options``, or None if
    this module is not cached."""
    if not enabled():
        return None
    wasm = art.compiled.binary
    funcs = art.module.funcs
    if wasm is None or len(funcs) < 2:
        return None
    if funcs[-1].code_offset - funcs[0].code_offset < MIN_CODE_BYTES:
        return None
    return key_path(sha256_hex(wasm), options)


def key_path(module_digest: str, options: TranslationOptions) -> Path | None:
    """The cache file of the module with this sha256 for ``options`` (None: off)."""
    d = cache_dir()
    if d is None:
        return None
    from . import artifact

    try:
        gen = generator_hash()
    except OSError:  # pragma: no cover - sources not readable (a zipped install)
        return None
    # not the translator's own flag: a warm start of native code asks here first and
    # translates nothing, so it need not import the translator
    parts = (module_digest, gen, repr(tuple(options)),
             f"cast={artifact.CAST_VIEWS};flat={artifact.force_flat()}")  # fmt: skip
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return d / key[:2] / f"{key}.code"


_preread: dict[Path, dict[int, bytes]] = {}
"""Files read by :func:`known_valid` (the module's artifact opens them next)."""


def known_valid(wasm: bytes, options: TranslationOptions) -> bool:
    """Whether the cache holds translations of ``wasm`` (so it validated: only
    modules that passed validation are translated), with an intact file."""
    if len(wasm) < MIN_CODE_BYTES or not enabled():
        return False
    path = key_path(sha256_hex(wasm), options)
    if path is None:
        return False
    entries = read(path)
    if not entries:
        return False
    _preread[path] = entries
    return True


def read(path: Path) -> dict[int, bytes]:
    """The packed translations in ``path`` (empty if missing or damaged)."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    head = len(MAGIC) + _DIGEST
    if len(data) < head or not data.startswith(MAGIC):
        return {}
    payload = memoryview(data)[head:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC):head]:
        return {}
    try:
        entries = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return {}
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(k, int) and isinstance(v, bytes)}


def write(path: Path, entries: dict[int, bytes]) -> None:
    """Store ``entries`` atomically (a reader sees the old file or the new one)."""
    payload = marshal.dumps(entries)
    data = MAGIC + hashlib.sha256(payload).digest() + payload
    tmp = None
    try:
        import tempfile  # writing only (tempfile loads random, shutil)

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".code")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass  # no cache this time
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


class CodeCache:
    """One module's cache file for one set of options: what it held when opened, and
    what this process translated since (written back, merged, when the module's
    artifact is dropped or the interpreter exits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        loaded = _preread.pop(path, None)
        self.loaded = read(path) if loaded is None else loaded
        self.fresh: dict[int, bytes] = {}
        self._lock = threading.Lock()
        weakref.finalize(self, _flush, path, self.fresh, self._lock)

    def take(self, funcidx: int) -> bytes | None:
        return self.loaded.pop(funcidx, None)

    def add(self, funcidx: int, data: bytes) -> None:
        with self._lock:
            self.fresh[funcidx] = data


def _flush(path: Path, fresh: dict[int, bytes], lock: threading.Lock) -> None:
    with lock:
        if not fresh:
            return
        new = dict(fresh)
        fresh.clear()
    entries = read(path)
    entries.update(new)
    write(path, entries)


def open_cache(art: ModuleArtifact, options: TranslationOptions) -> CodeCache | None:
    """The cache of ``art``'s module for ``options`` (None when not cached)."""
    path = path_for(art, options)
    return None if path is None else CodeCache(path)


def close_all(caches: dict[Any, CodeCache | None]) -> None:
    """Write back what was translated (tests; normally at exit or when dropped)."""
    for c in caches.values():
        if c is not None:
            _flush(c.path, c.fresh, c._lock)
