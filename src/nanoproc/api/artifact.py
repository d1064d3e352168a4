"""The file format of ``Module.serialize()``: a versioned nanoproc artifact.

Layout (integers little-endian)::

    magic     16 bytes  b"\\0nanoproc-cwasm\\0"
    format    u32       FORMAT_VERSION
    version   u16 length + UTF-8   the nanoproc version that wrote it
    tier      u16 length + UTF-8   the execution tier it was compiled for
    wasm      u64 length + bytes   the module's binary
    code      u64 length + bytes   format 2 only: the tier's compiled code

Artifacts are refused unless every field matches this build and engine, as
wasmtime refuses artifacts of another version or configuration. A tier that keeps
compiled code (llvm) writes format 2, with its ``code`` section, which the tier
itself checks (CPU, LLVM version) when loading; format 1 has no code section.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache

from ..internal.errors import WasmtimeError

MAGIC = b"\0nanoproc-cwasm\0"
FORMAT_VERSION = 1
"""Artifacts without compiled code."""
FORMAT_WITH_CODE = 2
"""Artifacts with a tier's compiled code after the Wasm binary."""


@cache
def nanoproc_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoproc")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class Artifact:
    tier: str
    wasm: bytes
    code: bytes | None = None
    """The tier's compiled code (format 2), or None."""


def _text(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<H", len(b)) + b


def write_artifact(tier: str, wasm: bytes, code: bytes | None = None) -> bytearray:
    out = bytearray(MAGIC)
    out += struct.pack("<I", FORMAT_VERSION if code is None else FORMAT_WITH_CODE)
    out += _text(nanoproc_version())
    out += _text(tier)
    out += struct.pack("<Q", len(wasm))
    out += wasm
    if code is not None:
        out += struct.pack("<Q", len(code))
        out += code
    return out


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise WasmtimeError("serialized module is truncated")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str) -> int:
        (v,) = struct.unpack(fmt, self.take(struct.calcsize(fmt)))
        return int(v)

    def text(self) -> str:
        raw = self.take(self.unpack("<H"))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise WasmtimeError("serialized module is corrupt (bad text field)") from None


def read_artifact(data: bytes, tier: str) -> Artifact:
    """Parse an artifact for an engine running ``tier``; WasmtimeError if unusable."""
    if not data.startswith(MAGIC):
        raise WasmtimeError("not a serialized nanoproc module (bad magic)")
    r = _Reader(data)
    r.take(len(MAGIC))
    fmt = r.unpack("<I")
    if fmt not in (FORMAT_VERSION, FORMAT_WITH_CODE):
        raise WasmtimeError(
            f"serialized module has format version {fmt}; this nanoproc reads "
            f"versions {FORMAT_VERSION} and {FORMAT_WITH_CODE}"
        )
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
    wasm = r.take(r.unpack("<Q"))
    code = r.take(r.unpack("<Q")) if fmt == FORMAT_WITH_CODE else None
    if r.pos != len(data):
        raise WasmtimeError("serialized module has trailing bytes")
    return Artifact(made_for, wasm, code)
