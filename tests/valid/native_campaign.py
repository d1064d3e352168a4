"""On-demand campaign for the native body filter on real code (not a test_ file).

    python tests/valid/native_campaign.py --seconds 480 --seed 1 [--wasm more.wasm ...]

Bodies of real programs (the clang-built C programs of tests/wasi/wasm, plus any
``--wasm`` modules) are mutated in place, a few bytes of one body at a time (random
bytes, LEB128 continuation bits, opcodes swapped for others of the operator table,
values of interesting bytes), keeping every size so the rest of the module stays the
same. For each mutant, the native filter's verdict on that body must be implied by the
full checker's (accepted => the full decoder and checker accept it and count the same
instructions). Real code exercises the filter's common paths (numeric code, memory,
calls, br_table, exceptions in C++-built modules) far more than generated modules do.
Prints the counts and any disagreement.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from copy import copy
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from nanoproc.internal.binary.decode import decode_module  # noqa: E402
from nanoproc.internal.errors import DecodeError, ValidationError  # noqa: E402
from nanoproc.internal.syntax.module import Func  # noqa: E402
from nanoproc.internal.syntax.ops import OPS  # noqa: E402
from nanoproc.internal.valid import native  # noqa: E402
from nanoproc.internal.valid.code import check_func  # noqa: E402
from nanoproc.internal.valid.validate import _module_context  # noqa: E402

INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x1A, 0x1B,
               0x1C, 0x20, 0x21, 0x22, 0x40, 0x41, 0x42, 0x69, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F,
               0x80, 0xFC, 0xFD, 0xFF]  # fmt: skip
SINGLE = [op.code for op in OPS if op.prefix is None]


def _mutate(body: bytearray, rng: random.Random) -> None:
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        i = rng.randrange(len(body))
        how = rng.randrange(5)
        if how == 0:
            body[i] = rng.randrange(256)
        elif how == 1:
            body[i] ^= 0x80  # a LEB128 continuation bit
        elif how == 2:
            body[i] = rng.choice(SINGLE)
        elif how == 3:
            body[i] = rng.choice(INTERESTING)
        else:
            body[i] = (body[i] + rng.choice([-1, 1])) & 0xFF


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--wasm", type=Path, nargs="*", default=[])
    args = ap.parse_args()
    rng = random.Random(args.seed)
    paths = sorted((HERE.parent / "wasi" / "wasm").glob("*.wasm")) + list(args.wasm)
    programs = []
    for p in paths:
        data = p.read_bytes()
        module = decode_module(data)
        funcs = module.funcs
        hook = next((f.lazy for f in funcs if f.lazy is not None), None)
        if hook is None:
            continue
        _, spans = hook.raw_spans(funcs)
        bodies = [(i, s) for i, s in enumerate(spans) if s is not None and s[2] - s[1] > 1]
        if bodies:
            ctx = _module_context(module)
            tables = native.NativeTables(ctx, module)
            programs.append((p.name, data, module, ctx, tables, hook, bodies))
    print(f"{len(programs)} programs, {sum(len(x[-1]) for x in programs)} bodies")
    counts = {"mutants": 0, "native accepted": 0, "full accepted": 0}
    problems: list[str] = []
    stop = time.monotonic() + args.seconds
    while time.monotonic() < stop:
        name, data, module, ctx, tables, hook, bodies = rng.choice(programs)
        i, (lpos, ipos, end) = rng.choice(bodies)
        # Mostly the instructions (the final end kept); sometimes the locals too, which
        # changes what the section decoder reads: then the module is decoded again.
        start, stop_ = (ipos, end - 1) if rng.random() < 0.9 or len(data) > 2 << 20 else (lpos, end)
        mutant = bytearray(data)
        region = mutant[start:stop_]
        _mutate(region, rng)
        mutant[start:stop_] = region
        wasm = bytes(mutant)
        base = len(ctx.funcs) - len(module.funcs)
        if start == ipos:
            h = copy(hook)
            h.data = wasm
            f = Func(module.funcs[i].typeidx, module.funcs[i].locals, None,
                     module.funcs[i].code_offset)  # fmt: skip
            f.lazy = h
            m, c, t = module, ctx, tables
        else:
            try:
                m = decode_module(wasm)
                c = _module_context(m)
            except (ValidationError, DecodeError):
                continue  # a locals change the section decoder rejects
            f = m.funcs[i]
            t = None
        if f.lazy is None:
            continue
        _, spans = f.lazy.raw_spans([f])
        if spans[0] is None:
            continue
        [n] = native.check_bodies(c, m, base, wasm, spans, [i], t)
        full: int | Exception
        try:
            full = check_func(c, base + i, f)
        except (ValidationError, DecodeError) as e:
            full = e
        counts["mutants"] += 1
        counts["native accepted"] += n >= 0
        counts["full accepted"] += isinstance(full, int)
        if n >= 0 and full != n:
            problems.append(f"{name} function {base + i} seed {args.seed} mutant "
                            f"{counts['mutants']}: native {n}, full {full!r}")  # fmt: skip
            Path(f"native-finding-{args.seed}-{counts['mutants']}.wasm").write_bytes(wasm)
    print(", ".join(f"{v} {k}" for k, v in counts.items()))
    for p in problems:
        print("DISAGREEMENT", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
