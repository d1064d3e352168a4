"""On-demand campaign for the fused body check (not collected by pytest: not a test_ file).

    python tests/valid/fused_campaign.py --seconds 600            # nice it on a shared machine

Modules from three sources, each also mutated (``fuzz.mutate``): the project's own
generator (``fuzz.generator.generate``: exceptions, GC, SIMD on some seeds), and
``wasm-tools smith`` with every Wasm 3.0 feature, valid and with ill-typed bodies.
For every body, the fused verdict and the native filter's (valid/native) must be
implied by the full checker's (see test_valid_fused.body_verdicts and
test_valid_native.native_body_verdicts); every module's verdict, with the native filter
forced (NANOPROC_NATIVE_VALIDATE=always), must equal the full path's (neither),
and for unmutated and once-mutated modules the verdict (valid or not) must equal
``wasm-tools validate``'s. Prints the counts and any disagreement.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from test_valid_fused import _full_verdict, _smith, _verdict, body_verdicts  # noqa: E402
from test_valid_native import native_body_verdicts  # noqa: E402
from valid_build import wasm_tools_exe  # noqa: E402

from nanoproc.fuzz.generator import generate  # noqa: E402
from nanoproc.fuzz.mutate import mutate  # noqa: E402
from nanoproc.internal.binary.encode import encode_module  # noqa: E402


def _own(seed: int) -> bytes:
    kind = seed % 4
    return encode_module(generate(seed, exceptions="new" if kind == 1 else "",
                                  gc=kind == 2, simd=None))  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mutants", type=int, default=5)
    args = ap.parse_args()
    os.environ["NANOPROC_NATIVE_VALIDATE"] = "always"
    rng = random.Random(args.seed)
    stop = time.monotonic() + args.seconds
    counts = {"modules": 0, "bodies": 0, "fused accepted": 0, "native accepted": 0,
              "wasm-tools compared": 0}  # fmt: skip
    problems: list[str] = []
    seed = args.seed * 1_000_000
    while time.monotonic() < stop:
        seed += 1
        source = seed % 3
        try:
            wasm = _own(seed) if source == 0 else _smith(seed, invalid=source == 2)
        except Exception as e:  # noqa: BLE001  (a generator failure is not our finding)
            print(f"seed {seed}: generator failed: {e}", file=sys.stderr)
            continue
        if wasm is None:
            continue
        for k in range(args.mutants + 1):
            data = wasm if k == 0 else mutate(wasm, rng)
            accepted, total, p = body_verdicts(data)
            counts["modules"] += 1
            counts["bodies"] += total
            counts["fused accepted"] += accepted
            problems += [f"seed {seed} source {source} mutant {k}: {x}" for x in p]
            accepted, _, p = native_body_verdicts(data)
            counts["native accepted"] += accepted
            problems += [f"seed {seed} source {source} mutant {k}: native {x}" for x in p]
            ours = _verdict(data)
            full = _full_verdict(data)
            if ours != full:
                problems.append(f"seed {seed} source {source} mutant {k}: {ours!r}, "
                                f"without fused {full!r}")  # fmt: skip
            if k < 2:
                theirs = subprocess.run([wasm_tools_exe(), "validate", "--features", "wasm3",
                                         "-"], input=data, capture_output=True)  # fmt: skip
                counts["wasm-tools compared"] += 1
                if (theirs.returncode == 0) != (ours is None):
                    problems.append(f"seed {seed} source {source} mutant {k}: wasm-tools "
                                    f"{theirs.stderr.decode().strip() or 'valid'!r}, "
                                    f"nanoproc {ours or 'valid'!r}")  # fmt: skip
    print(", ".join(f"{v} {k}" for k, v in counts.items()), f"(seeds up to {seed})")
    for p in problems:
        print("DISAGREEMENT", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
