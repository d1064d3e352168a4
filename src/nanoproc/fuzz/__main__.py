"""``python -m nanoproc.fuzz``: run a differential fuzz campaign.

    python -m nanoproc.fuzz --time 60 --seed 7          # a minute, campaign 7
    python -m nanoproc.fuzz --count 500 --jobs 2        # 500 cases, a random campaign
    python -m nanoproc.fuzz --replay gen:7000021        # one case, outcomes printed
    python -m nanoproc.fuzz --paths host --time 300     # the host boundary (hostfuzz.py)

Exit status 1 if any difference, host crash or hang was found; reproducers
(minimized when possible) go to ``--out`` (default ``fuzz-findings``).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

from .campaign import default_jobs, run_campaign
from .cases import ALL_PATHS, PATHS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nanoproc.fuzz", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time", type=float, default=None, help="seconds to run (default: 60 "
                   "unless --count is given)")
    p.add_argument("--count", type=int, default=None, help="number of cases")
    p.add_argument("--seed", type=int, default=None, help="campaign seed (default: random)")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes")
    p.add_argument("--paths", default=",".join(PATHS),
                   help=f"case kinds, comma-separated, of {','.join(ALL_PATHS)} "
                        f"(default {','.join(PATHS)})")
    p.add_argument("--tiers", default="interp,llvm",
                   help="nanoproc tiers to run; a tier + '-epochs' (llvm-epochs) also has epoch "
                        "checks compiled in (llvm is skipped where it cannot run)")
    p.add_argument("--simd", choices=["half", "all", "none"], default=None,
                   help="which gen/smith cases use SIMD (default: half, or the "
                        "NANOPROC_FUZZ_SIMD environment variable)")
    p.add_argument("--out", default="fuzz-findings", help="directory for reproducers")
    p.add_argument("--no-minimize", action="store_true", help="save reproducers as found")
    p.add_argument("--replay", metavar="PATH:SEED|FILE.json",
                   help="run one case (or a saved reproducer) and print its outcomes")
    args = p.parse_args(argv)

    tiers = tuple(t for t in args.tiers.split(",") if t)
    if args.simd is not None:  # workers inherit it (generator.uses_simd)
        os.environ["NANOPROC_FUZZ_SIMD"] = args.simd
    if args.replay:
        return _replay(args.replay, tiers)
    paths = tuple(x for x in args.paths.split(",") if x)
    unknown = set(paths) - set(ALL_PATHS)
    if unknown:
        p.error(f"unknown paths: {', '.join(sorted(unknown))}")
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    seconds = args.time if args.time is not None or args.count is not None else 60.0
    print(f"campaign seed {seed}; tiers {','.join(tiers)}; paths {','.join(paths)}; "
          f"jobs {args.jobs}", flush=True)
    start = time.monotonic()
    report = run_campaign(seed, seconds, args.count, args.jobs, tiers, paths, args.out,
                          shrink=not args.no_minimize, progress=True)
    print(report.summary())
    print(f"{time.monotonic() - start:.0f} s")
    return 1 if report.bad else 0


def _replay(spec: str, tiers: tuple[str, ...]) -> int:
    from .cases import build, engines
    from .runners import difference, run

    if spec.startswith("host:"):
        import json

        from .hostfuzz import judge_host

        tiers_ = [t.removesuffix("-epochs") for t in tiers]
        status, detail, data = judge_host(int(spec.partition(":")[2]), tiers_)
        print(json.dumps(data, indent=1, default=repr))
        print(status, detail)
        return 0 if status in ("ok", "declined") else 1
    if spec.endswith(".json"):
        from .cases import Built, load_reproducer

        wasm, plan = load_reproducer(spec)
        built: Built | None = Built(wasm, None, plan)
    else:
        path, _, seed_text = spec.partition(":")
        built = build(path, int(seed_text))
    if built is None:
        print("no module for this case")
        return 1
    runs, notes = engines(list(tiers))
    if built.legacy:
        runs = [e for e in runs if e.name != "wasmtime"]  # it has no legacy exceptions
    for n in notes:
        print("note:", n)
    outcomes = [run(e.api, e.engine, e.name, built.wasm, built.plan) for e in runs]
    for o in outcomes:
        print(f"== {o.engine}: {o.setup}{' CRASH ' + o.crash if o.crash else ''}")
        for what, obs in o.steps:
            print(f"  {what}: {obs}")
    diffs = [None if o.setup == "unsupported" else difference(outcomes[0], o)
             for o in outcomes[1:]]  # fmt: skip
    for o, d in zip(outcomes[1:], diffs):
        print(f"difference ({o.engine}):", d if o.setup != "unsupported" else "not compared")
    return 1 if any(diffs) else 0


if __name__ == "__main__":
    sys.exit(main())
