"""The llvm tier's part of an AOT artifact (``Module.serialize``, ``nanoproc compile``).

The API's artifact carries the module's Wasm binary; this payload adds the compiled
object code and what it was compiled for, so loading is linking only (no LLVM
optimisation or code generation). Layout (integers little-endian)::

    magic      8 bytes   b"npllvmA1"
    target     u16 length + UTF-8   triple|cpu|features|LLVM version|llvmlite version
    generator  u16 length + UTF-8   hash of the code generator's source
    options    u8 opt level, u8 flags (1: fuel metering, 2: epoch checks)
    objects    u32 count, then per object: u64 length + bytes

Code compiled for another CPU (or its features), another LLVM or another build of
the generator is refused with an error saying which, never run: it could use
instructions this machine lacks or a different native ABI.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ..errors import WasmtimeError
from .cache import generator_hash
from .options import CodeOptions

if TYPE_CHECKING:
    from .jit import HostTarget

MAGIC = b"npllvmA1"


def _text(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<H", len(b)) + b


def encode_payload(objects: list[bytes], options: CodeOptions) -> bytes:
    out = bytearray(MAGIC)
    from .jit import host_target

    out += _text(host_target().key())
    out += _text(generator_hash())
    flags = (1 if options.fuel else 0) | (2 if options.epochs else 0)
    out += struct.pack("<BBI", options.opt_level, flags, len(objects))
    for o in objects:
        out += struct.pack("<Q", len(o)) + o
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise WasmtimeError("serialized module is truncated (llvm code section)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple[int, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def text(self) -> str:
        (n,) = self.unpack("<H")
        return self.take(n).decode("utf-8", "replace")


def _describe(key: str) -> str:
    parts = key.split("|")
    if len(parts) != 5:
        return key
    triple, cpu, _features, llvm_version, llvmlite_version = parts
    return f"{triple}, CPU {cpu}, LLVM {llvm_version} (llvmlite {llvmlite_version})"


def decode_payload(data: bytes) -> tuple[list[bytes], CodeOptions]:
    """(objects, options) of a payload made for this machine; WasmtimeError otherwise."""
    if not data.startswith(MAGIC):
        raise WasmtimeError("serialized module has no llvm code section (bad magic)")
    r = _Reader(data)
    r.take(len(MAGIC))
    made_for = r.text()
    from .jit import host_target

    here = host_target()
    if made_for != here.key():
        raise WasmtimeError(_mismatch(made_for, here))
    generator = r.text()
    if generator != generator_hash():
        raise WasmtimeError(
            "serialized module was compiled by a different build of nanoproc's llvm tier "
            f"(code generator {generator}, this one is {generator_hash()}): recompile it"
        )
    opt_level, flags, count = r.unpack("<BBI")
    objects = []
    for _ in range(count):
        (n,) = r.unpack("<Q")
        objects.append(r.take(n))
    if r.pos != len(data):
        raise WasmtimeError("serialized module has trailing bytes in its llvm code section")
    return objects, CodeOptions(opt_level, bool(flags & 1), bool(flags & 2))


def _mismatch(made_for: str, here: HostTarget) -> str:
    theirs = made_for.split("|")
    ours = here.key().split("|")
    what = "machine"
    if len(theirs) == 5:
        if theirs[0] != ours[0]:
            what = "target"
        elif theirs[1] != ours[1] or theirs[2] != ours[2]:
            what = "CPU (or CPU features)"
        else:
            what = "LLVM version"
    return (f"serialized module was compiled for another {what}: {_describe(made_for)}; "
            f"this machine is {_describe(here.key())}: recompile it here")  # fmt: skip
