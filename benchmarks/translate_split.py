#!/usr/bin/env python3
"""Where the interp tier's translation time goes on a cold first run (a diagnostic).

    python benchmarks/translate_split.py                    # graphviz, boolector, quickjs
    python benchmarks/translate_split.py --programs boolector --repeat 3

For each program of ``startup.py`` (same packages, same drivers), a child process runs
the program once on the interp tier with the translation cache off, timing every
translation (process CPU) against the whole run's CPU. Then it translates the same
functions again, the same way, splitting each into its phases:

* ``structure``: the translator's set-up (the body decoded if it was not, block
  structure analysed: ``Translator.__init__``);
* ``source``: generating the Python source (``Translator.run``);
* ``compile``: CPython's ``compile()`` of that source;
* ``rest``: the other work of ``translate._compiled`` (trap-frame registration).

It prints shares (percentages of the run and of translation) and the amount of code:
compare two builds by their shares and per-line costs, taken in the same run of the
machine's load; absolute times on a shared machine are not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
sys.path.insert(0, str(BENCH))

import startup  # noqa: E402  (the programs, their drivers and the download)


def child(name: str, repeat: int) -> None:
    """Run ``name`` once, then translate what it translated again, phase by phase."""
    from nanoproc.internal.interp import artifact as art_mod

    spent = [0.0]
    seen: list[tuple[object, int]] = []
    original = art_mod.ModuleArtifact._translate

    def timed(self: art_mod.ModuleArtifact, funcidx: int,
              options: art_mod.TranslationOptions) -> art_mod.Translated:
        t = time.process_time()
        try:
            return original(self, funcidx, options)
        finally:
            spent[0] += time.process_time() - t
            seen.append((self, funcidx))

    art_mod.ModuleArtifact._translate = timed  # type: ignore[method-assign]
    sys.argv = ["driver", "nanoproc"]
    t0 = time.process_time()
    exec(compile(startup.PRELUDE + startup.PROGRAMS[name].driver, "<driver>", "exec"), {})
    run_cpu = time.process_time() - t0
    art_mod.ModuleArtifact._translate = original  # type: ignore[method-assign]

    from nanoproc.internal.interp import translate as tr_mod

    phases: dict[str, list[float]] = {}
    lines = chars = 0
    for rep in range(repeat):
        fresh: dict[int, art_mod.ModuleArtifact] = {}
        cost = dict.fromkeys(("structure", "source", "compile", "rest"), 0.0)
        for art, funcidx in seen:
            a = fresh.get(id(art))
            if a is None:
                a = fresh[id(art)] = art_mod.ModuleArtifact(art.compiled)  # type: ignore[attr-defined]
            t0 = time.process_time()
            tr = tr_mod.Translator(a, funcidx, art_mod.DEFAULT_OPTIONS)
            t1 = time.process_time()
            source = tr.run()
            t2 = time.process_time()
            compile(source, "<split>", "exec")
            t3 = time.process_time()
            tr_mod._compiled(a, funcidx, tr, source)
            t4 = time.process_time()
            cost["structure"] += t1 - t0
            cost["source"] += t2 - t1
            cost["compile"] += t3 - t2
            cost["rest"] += max(0.0, (t4 - t3) - (t3 - t2))
            if rep == 0:
                lines += source.count("\n")
                chars += len(source)
        for k, v in cost.items():
            phases.setdefault(k, []).append(v)
    print(json.dumps({"functions": len(seen), "lines": lines, "chars": chars,
                      "run_cpu": run_cpu, "translate_cpu": spent[0],
                      "phases": {k: statistics.median(v) for k, v in phases.items()}}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", default=",".join(startup.SUITE))
    ap.add_argument("--repeat", type=int, default=3, help="re-translations (median)")
    ap.add_argument("--cache", type=Path, default=startup.DEFAULT_CACHE)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.repeat)
        return
    names = args.programs.split(",")
    site = startup.fetch(args.cache, names)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(SRC), str(BENCH)]),
               NANOPROC_STRATEGY="interp", NANOPROC_INTERP_CACHE="0",
               BENCH_INPUT=startup.BOOLECTOR_INPUT)
    print(f"load average {os.getloadavg()[0]:.1f} (shares, not absolute times, compare)")
    for name in names:
        proc = subprocess.run([sys.executable, __file__, "--child", name, "--repeat",
                               str(args.repeat)], capture_output=True, text=True, env=env)  # fmt: skip
        if proc.returncode != 0:
            raise SystemExit(f"{name}: {proc.stderr[-2000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        ph = r["phases"]
        total = sum(ph.values())
        print(f"{name}: {r['functions']} functions translated, {r['lines']} lines, "
              f"{r['chars'] / 1e6:.2f} MB of source; translation "
              f"{100 * r['translate_cpu'] / r['run_cpu']:.0f}% of the run's CPU")
        for k, v in ph.items():
            print(f"  {k:10s} {100 * v / total:5.1f}%  {1e6 * v / max(r['lines'], 1):6.1f} us/line")


if __name__ == "__main__":
    main()
