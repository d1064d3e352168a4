#!/usr/bin/env python3
"""Count the Wasm instructions executed by run(n), using pywasm's per-instruction hook.

pywasm calls ``pywasm.log.debugln`` once per executed instruction (structured
control instructions count once, ``end`` does not), so replacing that function
with a counter gives a dynamic instruction count. Slow: use tiny or small n.

    python benchmarks/count_instructions.py [--size small] [--programs sieve,vm]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import engines as eng  # noqa: E402


def count(program: str, n: int) -> tuple[int, int]:
    """(instructions executed, checksum) of run(n) on pywasm."""
    import pywasm
    import pywasm.log

    engine = eng.Pywasm()
    engine.setup()
    wasm = (eng.PROGRAMS_DIR / f"{program}.wasm").read_bytes()
    func, args = engine.export_call(engine.instantiate(engine.compile(wasm)), "run", (n,))
    executed = 0

    def tick(*_: Any) -> None:
        nonlocal executed
        executed += 1

    original = pywasm.log.debugln
    pywasm.log.debugln = tick
    try:
        value = func(*args)
    finally:
        pywasm.log.debugln = original
    return executed, eng.to_checksum(value)


def main() -> int:
    """Print the instruction count of every selected program."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=["tiny", "small"], default="small")
    parser.add_argument("--programs", help="comma-separated programs (default: all)")
    args = parser.parse_args()
    expected = json.loads((eng.PROGRAMS_DIR / "expected.json").read_text())["programs"]
    names = args.programs.split(",") if args.programs else list(expected)
    status = 0
    for name in names:
        spec = expected[name]["sizes"][args.size]
        executed, checksum = count(name, spec["n"])
        ok = checksum == spec["checksum"]
        status |= not ok
        print(f"{name:10} n={spec['n']:<7} {executed:>10,} instructions"
              f"{'' if ok else '  CHECKSUM MISMATCH'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
