"""The file format of ``Module.serialize()``: a versioned nanoproc artifact.

Layout (integers little-endian)::

    magic     16 bytes  b"\\0nanoproc-cwasm\\0"
    format    u32       FORMAT_VERSION
    flags     u32       1: has a code section, 2: signed (has a MAC)
    version   u16 length + UTF-8   the nanoproc version that wrote it
    tier      u16 length + UTF-8   the execution tier it was compiled for
    wasm      u64 length + bytes   the module's binary
    code      u64 length + bytes   with flag 1: the tier's compiled code
    mac       32 bytes             with flag 2: HMAC-SHA256(key, everything before)
    digest    32 bytes             SHA-256 of everything before it

The digest is checked before any other byte is used: a damaged or truncated
artifact is refused as such (:data:`DAMAGED`), never parsed, never run. A key
(``Config.artifact_key``, ``nanoproc compile --sign-key``) adds the MAC; an engine
with a key refuses artifacts without it or made with another key. Without a key a
signed artifact is accepted once its digest matches, as an unsigned one: loading
an artifact without a key means trusting the file, as in wasmtime (SECURITY.md).

Then every field must match this build and engine, as wasmtime refuses artifacts
of another version or configuration. A tier that keeps compiled code (llvm) writes
the ``code`` section, which the tier itself checks (CPU, LLVM version) when
loading.
"""

from __future__ import annotations

import struct
from functools import cache

from ..internal.errors import WasmtimeError
from ..internal.records import Frozen

MAGIC = b"\0nanoproc-cwasm\0"
FORMAT_VERSION = 4
"""Artifacts with a digest (formats 1 and 2, before it, had none)."""
FLAG_CODE = 1
FLAG_SIGNED = 2
DIGEST_SIZE = 32
MAC_SIZE = 32
MIN_KEY_BYTES = 16
"""Shortest signing key accepted: a MAC is only as strong as its key."""

DAMAGED = "artifact is damaged (digest mismatch)"
"""The refusal of every artifact whose bytes changed after it was written."""

_set = object.__setattr__


@cache
def nanoproc_version() -> str:
    """The installed distribution's version ("0+unknown" when running from a source
    tree). Read from its metadata directory directly: ``importlib.metadata`` costs
    ~50 ms to import, a third of a warm start (every compile-cache key has this)."""
    import os
    import sys

    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # not a directory (a zip file, a missing path)
            continue
        for name in names:
            low = name.lower()
            if not (low.startswith(("nanoproc-", "nanoproc."))
                    and low.endswith((".dist-info", ".egg-info"))):  # fmt: skip
                continue
            for meta in ("METADATA", "PKG-INFO"):
                try:
                    with open(os.path.join(entry, name, meta), encoding="utf-8") as f:
                        for line in f:
                            if line.startswith("Version:"):
                                return line.split(":", 1)[1].strip()
                            if not line.strip():
                                break
                except OSError:
                    continue
    return "0+unknown"


class Artifact(Frozen):
    __match_args__ = ("tier", "wasm", "code", "signed")
    tier: str
    wasm: bytes
    code: bytes | None
    """The tier's compiled code, or None."""
    signed: bool

    def __init__(self, tier: str, wasm: bytes, code: bytes | None = None,
                 signed: bool = False) -> None:  # fmt: skip
        _set(self, "tier", tier)
        _set(self, "wasm", wasm)
        _set(self, "code", code)
        _set(self, "signed", signed)


def check_key(key: object) -> bytes:
    """``key`` as a signing key (bytes of at least MIN_KEY_BYTES), else an error."""
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError("expected the key as bytes")
    key = bytes(key)
    if len(key) < MIN_KEY_BYTES:
        raise WasmtimeError(f"an artifact key must be at least {MIN_KEY_BYTES} bytes long "
                            f"(this one has {len(key)}); 32 random bytes are a good key")  # fmt: skip
    return key


def _text(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<H", len(b)) + b


def write_artifact(tier: str, wasm: bytes, code: bytes | None = None,
                   key: bytes | None = None) -> bytearray:  # fmt: skip
    """The artifact of ``wasm`` (and the tier's ``code``), signed when ``key`` is given."""
    flags = (FLAG_CODE if code is not None else 0) | (FLAG_SIGNED if key is not None else 0)
    out = bytearray(MAGIC)
    out += struct.pack("<II", FORMAT_VERSION, flags)
    out += _text(nanoproc_version())
    out += _text(tier)
    out += struct.pack("<Q", len(wasm))
    out += wasm
    if code is not None:
        out += struct.pack("<Q", len(code))
        out += code
    import hashlib  # not at start-up (OpenSSL's _hashlib, ~3 ms): only artifacts need it here

    if key is not None:
        import hmac  # only for signed artifacts: not at start-up

        out += hmac.digest(key, out, "sha256")
    out += hashlib.sha256(out).digest()
    return out


def looks_like_artifact(data: bytes) -> bool:
    """Whether ``data`` is meant to be an artifact: it starts with the magic, or with
    something close to it (a few damaged bytes), or is a cut-off start of it."""
    head = data[: len(MAGIC)]
    if len(head) < 4:
        return False
    same = sum(a == b for a, b in zip(head, MAGIC))
    return same >= len(head) - 3 and head[:4] != b"\0asm"


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> memoryview:
        end = self.pos + n
        if end > len(self.data):
            # The digest matched: the writer itself made this (a bug, or a forgery
            # by whoever also recomputed the digest). Refuse it all the same.
            raise WasmtimeError("serialized module is malformed (a field runs past its end)")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str) -> int:
        (v,) = struct.unpack(fmt, self.take(struct.calcsize(fmt)))
        return int(v)

    def text(self) -> str:
        raw = self.take(self.unpack("<H"))
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise WasmtimeError("serialized module is malformed (bad text field)") from None


def _verify(data: bytes, key: bytes | None) -> memoryview:
    """The artifact's bytes without its MAC and digest, once they check out."""
    import hashlib
    import hmac  # not at start-up: only artifacts read back use them
    if not looks_like_artifact(data):
        raise WasmtimeError("not a serialized nanoproc module (bad magic)")
    body = memoryview(data)[:-DIGEST_SIZE] if len(data) > DIGEST_SIZE else memoryview(b"")
    fmt = struct.unpack_from("<I", data, len(MAGIC))[0] if len(data) >= len(MAGIC) + 4 else None
    intact = len(body) >= len(MAGIC) + 8 and hmac.compare_digest(
        hashlib.sha256(body).digest(), data[-DIGEST_SIZE:])
    if not intact:
        if fmt in (1, 2) and data.startswith(MAGIC):
            raise WasmtimeError(f"serialized module has format version {fmt}, written by an older "
                                "nanoproc without a digest: recompile it")  # fmt: skip
        raise WasmtimeError(DAMAGED)
    flags = struct.unpack_from("<I", body, len(MAGIC) + 4)[0]
    if not flags & FLAG_SIGNED:
        if key is not None:
            raise WasmtimeError("artifact is not signed, and this engine only loads artifacts "
                                "signed with its key (Config.artifact_key)")  # fmt: skip
        return body
    if len(body) < len(MAGIC) + 8 + MAC_SIZE:
        raise WasmtimeError("serialized module is malformed (no room for its MAC)")
    signed, mac = body[:-MAC_SIZE], body[-MAC_SIZE:]
    if key is not None and not hmac.compare_digest(hmac.digest(key, signed, "sha256"), mac):
        raise WasmtimeError("artifact was signed with another key (MAC mismatch): this engine "
                            "only loads artifacts signed with its key")  # fmt: skip
    return signed


def read_artifact(data: bytes, tier: str, key: bytes | None = None) -> Artifact:
    """Check and parse an artifact for an engine running ``tier`` (that requires
    artifacts signed with ``key``, if given); WasmtimeError if unusable."""
    body = _verify(data, key)
    r = _Reader(body)
    r.take(len(MAGIC))
    fmt = r.unpack("<I")
    if fmt != FORMAT_VERSION:
        raise WasmtimeError(
            f"serialized module has format version {fmt}; this nanoproc reads version "
            f"{FORMAT_VERSION}"
        )
    flags = r.unpack("<I")
    if flags & ~(FLAG_CODE | FLAG_SIGNED):
        raise WasmtimeError(f"serialized module has unknown flags 0x{flags:x}")
    made_by = r.text()
    if made_by != nanoproc_version():
        raise WasmtimeError(
            f"module was serialized by nanoproc {made_by}, which is incompatible "
            f"with this nanoproc {nanoproc_version()}"
        )
    made_for = r.text()
    if made_for != tier:
        raise WasmtimeError(
            f"module was serialized for the {made_for} tier, but this engine uses "
            f"the {tier} tier"
        )
    wasm = bytes(r.take(r.unpack("<Q")))
    code = bytes(r.take(r.unpack("<Q"))) if flags & FLAG_CODE else None
    if r.pos != len(body):
        raise WasmtimeError("serialized module is malformed (trailing bytes)")
    return Artifact(made_for, wasm, code, bool(flags & FLAG_SIGNED))
