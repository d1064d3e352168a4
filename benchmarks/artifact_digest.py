#!/usr/bin/env python3
"""What checking an artifact's digest (and MAC) costs in a cached load of a 1 MB module.

    python benchmarks/artifact_digest.py                  # 1 MB module, 9 rounds
    python benchmarks/artifact_digest.py --size 4 --repeat 15 --opt 2

A generated module of about ``--size`` MB (binary) is compiled once by the llvm
tier (the compile cache keeps it for the next run) and serialized twice, plain and
signed. Each round then times, back to back in one process:

* **cached load**: ``Module.deserialize`` + ``Store`` + ``Instance`` + one call, the
  digest checked (what ``nanoproc run app.cwasm`` does);
* **unchecked**: the same with the digest check replaced by a no-op (the baseline
  the target is measured against);
* **signed load**: the same for the signed artifact with the key configured
  (digest and MAC);
* **digest alone**: ``artifact._verify`` of the plain artifact (the checked load's
  extra work), and **MAC alone** of the signed one with its key.

The variants take turns going first in a round, and garbage is collected before
each load. A load takes about a second (decoding and validating 1 MB of Wasm in
Python, linking 2 MB of objects), so its noise on a shared machine is far larger
than the digest: the "digest alone" share is the precise figure, the medians'
ratio the end-to-end check.

It prints the median of each and the ratios; the target is a checked load at most
5% slower than an unchecked one. Rounds interleave the variants so that a shared
machine's load changes hit them alike.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import nanoproc  # noqa: E402
from nanoproc.api import artifact  # noqa: E402

KEY = b"benchmark key, 32 bytes long...."


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _section(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + _leb(len(body)) + body


def _vec(items: list[bytes]) -> bytes:
    return _leb(len(items)) + b"".join(items)


def generate(target_bytes: int) -> bytes:
    """A valid module of about ``target_bytes``: functions (i32) -> i32 of integer
    arithmetic, memory accesses and calls to earlier functions, exported."""
    bodies: list[bytes] = []
    size = 0
    i = 0
    while size < target_bytes:
        code = bytearray()
        for j in range(40):
            k = (i * 131 + j * 17) % 1000
            code += b"\x20\x00\x41" + _sleb(k) + b"\x6a"  # local.get 0, i32.const k, i32.add
            code += b"\x41" + _sleb(k | 1) + b"\x6c"  # i32.const, i32.mul
            if j % 8 == 3:
                code += b"\x41" + _sleb(4 * k) + b"\x28\x02\x00\x6a"  # i32.load, i32.add
            if j % 10 == 7 and i:
                code += b"\x10" + _leb(i - 1 - (k % min(i, 50)))  # call an earlier function
            code += b"\x21\x00"  # local.set 0
        code += b"\x20\x00\x0b"
        body = b"\x00" + bytes(code)  # no locals
        bodies.append(_leb(len(body)) + body)
        size += len(bodies[-1])
        i += 1
    n = len(bodies)
    types = _section(1, _vec([b"\x60\x01\x7f\x01\x7f"]))
    funcs = _section(3, _vec([b"\x00"] * n))
    memory = _section(5, _vec([b"\x00\x01"]))
    exports = _section(7, _vec([_leb(len(f"f{k}")) + f"f{k}".encode() + b"\x00" + _leb(k)
                                for k in range(n)]))  # fmt: skip
    code_sec = _section(10, _vec(bodies))
    return b"\0asm\1\0\0\0" + types + funcs + memory + exports + code_sec


def _engine(key: bytes | None = None, opt: int | None = None) -> nanoproc.Engine:
    config = nanoproc.Config()
    config.strategy = "llvm"
    if key is not None:
        config.artifact_key = key
    engine = nanoproc.Engine(config)
    if opt is not None:
        engine.backend.options = engine.backend.options.replace(opt_level=opt)  # type: ignore[attr-defined]
    return engine


def _load(engine: nanoproc.Engine, blob: bytes) -> float:
    gc.collect()  # the previous load's garbage is not this one's cost
    start = time.perf_counter()
    module = nanoproc.Module.deserialize(engine, blob)
    store = nanoproc.Store(engine)
    instance = nanoproc.Instance(store, module, [])
    instance.exports(store)["f0"](store, 1)  # type: ignore[operator]
    return time.perf_counter() - start


def _unchecked_verify(data: bytes, key: bytes | None) -> memoryview:
    """artifact._verify without the digest and MAC: the baseline."""
    body = memoryview(data)[: -artifact.DIGEST_SIZE]
    flags = struct.unpack_from("<I", body, len(artifact.MAGIC) + 4)[0]
    return body[: -artifact.MAC_SIZE] if flags & artifact.FLAG_SIGNED else body


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--size", type=float, default=1.0, help="module size in MB (default 1)")
    p.add_argument("--repeat", type=int, default=9, help="rounds (default 9)")
    p.add_argument("--opt", type=int, default=None, help="LLVM opt level (default: the tier's)")
    args = p.parse_args()

    wasm = generate(int(args.size * 1024 * 1024))
    print(f"module: {len(wasm) / 1e6:.2f} MB binary", flush=True)
    t = time.perf_counter()
    plain = bytes(nanoproc.Module(_engine(opt=args.opt), wasm).serialize())
    signed = bytes(nanoproc.Module(_engine(KEY, opt=args.opt), wasm).serialize())
    print(f"compiled and serialized in {time.perf_counter() - t:.1f}s; artifact "
          f"{len(plain) / 1e6:.2f} MB", flush=True)  # fmt: skip

    checked_verify = artifact._verify
    times: dict[str, list[float]] = {}
    def unchecked() -> float:
        artifact._verify = _unchecked_verify  # type: ignore[assignment]
        try:
            return _load(_engine(), plain)
        finally:
            artifact._verify = checked_verify

    def digest() -> float:
        start = time.perf_counter()
        checked_verify(plain, None)
        return time.perf_counter() - start

    def signed_digest() -> float:
        start = time.perf_counter()
        checked_verify(signed, KEY)
        return time.perf_counter() - start

    variants = {"cached load": lambda: _load(_engine(), plain), "unchecked": unchecked,
                "signed load": lambda: _load(_engine(KEY), signed), "digest alone": digest,
                "MAC alone": signed_digest}
    _load(_engine(), plain)  # warm-up: imports, first-use caches
    names = list(variants)
    for r in range(args.repeat):
        for name in names[r % 3 :] + names[: r % 3]:  # each load variant goes first in turn
            times.setdefault(name, []).append(variants[name]())

    med = {k: statistics.median(v) for k, v in sorted(times.items(), key=lambda kv: names.index(kv[0]))}
    base = med["unchecked"]
    print(f"\nmedians of {args.repeat} rounds (ms):")
    for name, value in med.items():
        print(f"  {name:13s} {value * 1e3:9.2f}   {value / base:6.3f}x unchecked")
    overhead = med["cached load"] / base - 1
    print(f"\ndigest check: {overhead * 100:+.2f}% of a cached load (target <= 5%); "
          f"digest alone is {med['digest alone'] / base * 100:.2f}% of it")  # fmt: skip
    print(f"signed: {(med['signed load'] / base - 1) * 100:+.2f}%; digest and MAC alone are "
          f"{med['MAC alone'] / base * 100:.2f}% of an unchecked load")
    paired = [c / u - 1 for c, u in zip(times["cached load"], times["unchecked"])]
    print(f"paired rounds (checked / unchecked - 1): median {statistics.median(paired) * 100:+.2f}%, "
          f"range {min(paired) * 100:+.1f}% to {max(paired) * 100:+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
