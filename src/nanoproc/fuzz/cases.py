"""One fuzz case: build its module from (path, seed), run it everywhere, judge it.

Paths: ``gen`` (our generator), ``exc`` (our generator with exception handling;
a third of its modules also use the legacy instructions, which wasmtime does not
run: those are compared between nanoproc's tiers only; another third has GC types,
references in payloads), ``gc`` (our generator with
GC types, objects, casts and typed function references), ``smith`` (wasm-tools
smith) and ``mutate`` (a mutated generator or smith module, checked for robustness
rather than compared); ``host`` (the host boundary under stress, see hostfuzz.py)
is asked for by name.
Every case is reproducible from its path and seed alone.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..internal.binary import decode_module
from ..internal.binary.encode import encode_module
from ..internal.syntax.module import Module
from .generator import call_plan, generate
from .minimize import Plan, minimize
from .mutate import exercise, mutate
from .runners import Outcome, difference, run
from .smith import smith_module, wasm_tools

PATHS = ("gen", "exc", "smith", "mutate", "gc")
"""The paths of a campaign unless others are asked for."""
ALL_PATHS = (*PATHS, "host")


@dataclass
class Engine:
    """An engine to run cases on: the API module, the engine, a display name."""

    name: str
    api: Any
    engine: Any


LLVM_FUZZ_STACK = 4 << 20
"""``max_wasm_stack`` of the llvm engine in campaigns (see :func:`engines`)."""


EPOCHS_SUFFIX = "-epochs"
"""A tier named ``llvm-epochs`` (or ``interp-epochs``) is that tier with epoch checks
compiled in as well as fuel (the runner sets a deadline no case reaches), so
campaigns compare the code epoch checks add with wasmtime's too."""


def engines(tiers: list[str], with_wasmtime: bool = True) -> tuple[list[Engine], list[str]]:
    """Fuel-consuming engines for ``tiers`` (+ wasmtime-py as the reference, first);
    also notes on what could not take part and why."""
    import nanoproc
    from nanoproc.api.tiers import llvm_unavailable_reason

    out: list[Engine] = []
    notes: list[str] = []
    if with_wasmtime:
        try:
            import wasmtime

            wconfig = wasmtime.Config()
            wconfig.consume_fuel = True
            out.append(Engine("wasmtime", wasmtime, wasmtime.Engine(wconfig)))
        except ImportError:
            notes.append("wasmtime-py is not installed: tiers are only compared with each other")
    for name in tiers:
        tier = name.removesuffix(EPOCHS_SUFFIX)
        units = tier == "tiered-units"  # tiered, with per-function tier-up (units_schedule)
        if units:
            tier = "tiered"
        if tier in ("llvm", "tiered") and llvm_unavailable_reason() is not None:
            notes.append(f"{name} skipped: {llvm_unavailable_reason()}")
            continue
        config = nanoproc.Config()
        config.strategy = tier
        config.consume_fuel = True
        config.epoch_interruption = name.endswith(EPOCHS_SUFFIX)
        if tier in ("llvm", "tiered"):
            # Unoptimised (-O0) code has frames several times Cranelift's: the generator's
            # recursion budget (1,000 calls) must fit as it does in wasmtime's 512 KiB,
            # so that only unbounded recursion overflows, in every engine alike.
            config.max_wasm_stack = LLVM_FUZZ_STACK
        engine = nanoproc.Engine(config)
        if not getattr(engine.backend, "supports_fuel", False):
            notes.append(f"{tier} skipped: the tier does not meter fuel yet")
            continue
        if units:
            engine.backend.units_after = units_schedule  # type: ignore[attr-defined]
        elif tier == "tiered":
            engine.backend.switch_after = switch_point  # type: ignore[attr-defined]
        out.append(Engine(name, nanoproc, engine))
    return out, notes


TIERED_SWITCH_RANGE = 40


def switch_point(module: Any) -> int:
    """How many calls of its functions an instance makes on the interp tier before the
    ``tiered`` engine switches it to native code: from 1 (its first call is native)
    to TIERED_SWITCH_RANGE, taken from the module's bytes so a case reproduces."""
    import hashlib

    from ..internal.llvm.compiler import module_binary

    digest = hashlib.sha256(module_binary(module)).digest()
    return 1 + int.from_bytes(digest[:4], "little") % TIERED_SWITCH_RANGE


def units_schedule(module: Any) -> list[tuple[int, list[int]]]:
    """When the ``tiered-units`` engine makes which units of native code for an
    instance (see internal/tiered/units.count_units): one to three random sets of
    defined functions, each after 1 to TIERED_SWITCH_RANGE calls, from the module's
    bytes so a case reproduces."""
    import hashlib
    import random

    from ..internal.llvm.compiler import module_binary

    rng = random.Random(hashlib.sha256(module_binary(module)).digest())
    nimp = module.num_imported_funcs
    defined = list(range(nimp, len(module.func_types)))
    if not defined:
        return []
    return [(rng.randint(1, TIERED_SWITCH_RANGE),
             rng.sample(defined, rng.randint(1, len(defined))))
            for _ in range(rng.randint(1, 3))]


@dataclass
class Built:
    """A case's module: binary, tree (when decodable) and the calls to make."""

    wasm: bytes
    tree: Module | None
    plan: Plan = field(default_factory=list)
    legacy: bool = False
    """Uses the legacy exception instructions (wasmtime-py cannot run it)."""


def build(path: str, seed: int) -> Built | None:
    """The module of case (path, seed); None when wasm-smith declines the seed."""
    if path in ("gen", "gc"):
        tree = generate(seed, gc=path == "gc")
        return Built(encode_module(tree), tree, call_plan(tree, seed))
    if path == "exc":
        legacy = seed % 3 == 0
        # a third with GC types too: GC references in payloads (interp, llvm: the llvm
        # heap's roots include exception payloads)
        tree = generate(seed, exceptions="legacy" if legacy else "new", gc=seed % 3 == 1)
        return Built(encode_module(tree), tree, call_plan(tree, seed), legacy)
    if path == "smith":
        exe = wasm_tools()
        if exe is None:
            return None
        data = smith_module(seed, exe)
        if data is None:
            return None
        try:
            tree = decode_module(data, lazy=False)
        except Exception:  # noqa: BLE001 - the engines will say what is wrong with it
            return Built(data, None, [])
        return Built(data, tree, call_plan(tree, seed))
    rng = random.Random(seed)
    base = build("smith" if rng.random() < 0.3 and wasm_tools() else "gen", seed)
    if base is None:
        base = build("gen", seed)
    assert base is not None
    return Built(mutate(base.wasm, rng), None, [])


@dataclass
class Verdict:
    """What a case showed."""

    status: str
    """``ok``, ``difference``, ``crash``, ``hang``, ``declined``, ``unsupported``; for
    mutants ``rejected``, ``not instantiated`` or ``ran``."""
    detail: str = ""
    files: list[str] = field(default_factory=list)


def judge(path: str, seed: int, runs: list[Engine], out_dir: Path | None,
          shrink: bool = True) -> Verdict:
    """Run case (path, seed) on every engine and compare (or, for ``mutate``, check
    that only API exceptions come out)."""
    if path == "host":
        return _judge_host(seed, runs, out_dir)
    built = build(path, seed)
    if built is None:
        return Verdict("declined")
    if path == "mutate":
        return _judge_mutant(built, seed, runs, out_dir)
    if built.legacy:
        runs = [e for e in runs if e.name != "wasmtime"]
        if len(runs) < 2:
            return Verdict("unsupported", "legacy exceptions: one tier, nothing to compare")
    outcomes = [run(e.api, e.engine, e.name, built.wasm, built.plan) for e in runs]
    for e, o in zip(runs, outcomes):
        if o.crash:
            files = []
            if out_dir is not None:
                files = _write(out_dir, f"crash-{path}-{seed}", built.wasm, built.tree,
                               {"path": path, "seed": seed, "engine": e.name, "error": o.crash,
                                "plan": built.plan})
            return Verdict("crash", f"{e.name}: {o.crash}", files)
    if all(o.setup == "unsupported" for o in outcomes[1:]):
        return Verdict("unsupported")
    ref = outcomes[0]
    for e, o in zip(runs[1:], outcomes[1:]):
        if o.setup == "unsupported":  # this tier refuses the module (its documented limits)
            continue
        diff = difference(ref, o)
        if diff is None:
            continue
        files = []
        if out_dir is not None:
            files = save(out_dir, f"difference-{path}-{seed}", built, [ref, o], diff,
                         runs[0], e, shrink)
        return Verdict("difference", diff, files)
    return Verdict("ok")


def _judge_host(seed: int, runs: list[Engine], out_dir: Path | None) -> Verdict:
    """A host-boundary case (hostfuzz.py) on wasmtime-py and the tiers of ``runs``
    (which make their own engines: the case picks stack, fuel and epoch settings)."""
    from .hostfuzz import judge_host

    tiers = list(dict.fromkeys(e.name.removesuffix(EPOCHS_SUFFIX) for e in runs
                               if e.name != "wasmtime"))  # fmt: skip
    status, detail, data = judge_host(seed, tiers)
    files = []
    if status == "difference" and out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        f = out_dir / f"difference-host-{seed}.json"
        f.write_text(json.dumps({"path": "host", "difference": detail, **data}, indent=1,
                                default=repr) + "\n")  # fmt: skip
        files = [str(f)]
    return Verdict(status, detail, files)


def _judge_mutant(built: Built, seed: int, runs: list[Engine], out_dir: Path | None) -> Verdict:
    rng = random.Random(seed)
    mismatch = _validation_mismatch(built.wasm, runs)
    if mismatch:
        files = []
        if out_dir is not None:
            files = _write(out_dir, f"validation-mutate-{seed}", built.wasm, None,
                           {"path": "mutate", "seed": seed, "difference": mismatch})
        return Verdict("validation", mismatch, files)
    for e in runs:
        if e.name == "wasmtime":
            continue
        try:
            what = exercise(e.api, e.engine, built.wasm, rng)
        except Exception as exc:  # noqa: BLE001 - exactly what this path looks for
            detail = f"{e.name}: {type(exc).__name__}: {exc}"
            files = []
            if out_dir is not None:
                files = _write(out_dir, f"crash-mutate-{seed}", built.wasm, None,
                               {"path": "mutate", "seed": seed, "engine": e.name,
                                "error": detail})
            return Verdict("crash", detail, files)
        if what != "ran":
            return Verdict(what)
    return Verdict("ran")


def _validation_mismatch(wasm: bytes, runs: list[Engine]) -> str | None:
    """Whether nanoproc and wasmtime-py disagree on the binary's validity."""
    verdicts = []
    for e in runs:
        try:
            e.api.Module.validate(e.engine, wasm)
            verdicts.append((e.name, "valid"))
        except e.api.WasmtimeError as exc:
            verdicts.append((e.name, f"invalid: {str(exc).splitlines()[0][:120]}"))
    kinds = {v.split(":")[0] for _, v in verdicts}
    return None if len(kinds) <= 1 else "; ".join(f"{n}: {v}" for n, v in verdicts)


MINIMIZE_SECONDS = 45.0
"""Time a campaign worker spends minimizing one difference (each try runs the
case on two engines, an llvm compile among them): within the campaign's per-case
limit (campaign.SOFT_TIMEOUT, 120 s), so that the difference is reported as one,
with its reproducer, and never as a hang."""


def save(out_dir: Path, stem: str, built: Built, outcomes: list[Outcome], diff: str,
         ref: Engine, other: Engine, shrink: bool) -> list[str]:
    """Write the reproducer, minimized when the module tree is at hand."""
    tree, plan = built.tree, built.plan
    wasm = built.wasm
    if shrink and tree is not None:

        def differs(m: Module, p: Plan) -> bool:
            data = encode_module(m)
            a = run(ref.api, ref.engine, ref.name, data, p)
            b = run(other.api, other.engine, other.name, data, p)
            return difference(a, b) is not None

        tree, plan = minimize(tree, plan, differs, seconds=MINIMIZE_SECONDS)
        wasm = encode_module(tree)
        diff = difference(run(ref.api, ref.engine, ref.name, wasm, plan),
                          run(other.api, other.engine, other.name, wasm, plan)) or diff
    meta = {"difference": diff, "engines": [ref.name, other.name], "plan": plan,
            "minimized": bool(shrink and built.tree is not None),
            "outcomes": [{"engine": o.engine, "setup": o.setup, "crash": o.crash,
                          "steps": o.steps} for o in outcomes]}  # fmt: skip
    return _write(out_dir, stem, wasm, tree, meta)


def load_reproducer(json_path: str | Path) -> tuple[bytes, Plan]:
    """A saved reproducer: the module (the .wasm beside the .json) and its calls."""
    meta = json.loads(Path(json_path).read_text())
    wasm = Path(json_path).with_suffix(".wasm").read_bytes()
    plan = [(name, list(args)) for name, args in meta.get("plan", [])]
    return wasm, plan


def _write(out_dir: Path, stem: str, wasm: bytes, tree: Module | None,
           meta: dict[str, Any]) -> list[str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / f"{stem}.wasm", out_dir / f"{stem}.json"]
    files[0].write_bytes(wasm)
    files[1].write_text(json.dumps(meta, indent=1, default=repr) + "\n")
    if tree is not None:
        try:
            from ..internal.text.printer import print_module

            wat = out_dir / f"{stem}.wat"
            wat.write_text(print_module(tree))
            files.append(wat)
        except Exception:  # noqa: BLE001, S110 - the .wasm is the reproducer; .wat is a courtesy
            pass
    return [str(f) for f in files]
