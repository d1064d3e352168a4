"""The fused byte-level check (valid/fused.py) only accepts what the full validator accepts.

For every function body of the modules below, the fused check alone either says
"not sure" (None) or gives the instruction count; in the second case the full decoder
and checker must accept the same body and count the same instructions. Modules: every
binary module of the spec suite (valid, invalid and malformed ones that decode), wasm-tools
smith modules (valid and with ill-typed bodies) and their random mutations, and clang-built
C programs (where the fused check must also be the one that decides, or it is useless).
Module verdicts are compared with ``wasm-tools validate`` for the generated modules.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest
from valid_build import ScriptCache, wasm_tools_exe

from conftest import spec_dir, spec_files
from nanoproc.fuzz.mutate import mutate
from nanoproc.internal.binary.decode import decode_module
from nanoproc.internal.errors import DecodeError, ValidationError
from nanoproc.internal.valid import code, validate_module
from nanoproc.internal.valid.code import check_func, check_func_fused
from nanoproc.internal.valid.fused import ModuleTables
from nanoproc.internal.valid.validate import _module_context

ROOT = Path(__file__).resolve().parents[2]


def body_verdicts(wasm: bytes) -> tuple[int, int, list[str]]:
    """(bodies the fused check accepted, bodies checked, disagreements)."""
    try:
        module = decode_module(wasm)
        ctx = _module_context(module)
    except Exception:  # noqa: BLE001  (module-level errors are not the fused check's business)
        return 0, 0, []
    fast = ModuleTables(ctx)
    base = len(ctx.funcs) - len(module.funcs)
    accepted = 0
    problems: list[str] = []
    for i, f in enumerate(module.funcs):
        try:
            fused = check_func_fused(fast, base + i, f)
        except ValidationError:
            fused = None  # too many locals / bad local type: raised before either check
        assert f.body is None, "the fused check must not decode the body"
        full: int | Exception
        try:
            full = check_func(ctx, base + i, f)
        except (ValidationError, DecodeError) as e:
            full = e
        if fused is not None:
            accepted += 1
            if full != fused:
                problems.append(f"function {base + i}: fused accepted ({fused} instructions), "
                                f"full check: {full!r}")  # fmt: skip
        f.body = None
        f.offsets = None
    return accepted, len(module.funcs), problems


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> ScriptCache:
    return ScriptCache(tmp_path_factory.getbasetemp() / "valid-spec")  # shared with test_valid_spec


def _spec_ids() -> list[str]:
    return [p.name for p in spec_files()] or ["(no spec suite)"]


@pytest.mark.parametrize("chunk", range(4))
def test_spec_modules_agree(chunk: int, scripts: ScriptCache) -> None:
    root = spec_dir()
    accepted = total = 0
    problems: list[str] = []
    for name in _spec_ids()[chunk::4]:
        out, commands = scripts.commands(root / name)
        for cmd in commands:
            if cmd.get("module_type") != "binary" or "filename" not in cmd:
                continue
            a, t, p = body_verdicts((out / cmd["filename"]).read_bytes())
            accepted += a
            total += t
            problems += [f"{name}:{cmd['line']}: {x}" for x in p]
    assert not problems, "\n".join(problems[:20])
    assert accepted > total // 4  # the fast path really decides many spec bodies


def test_a_body_overrunning_the_input_is_not_accepted() -> None:
    # Found by tests/valid/fused_campaign.py on a mutant: the last body's size (and
    # the code section's) claims one byte more than the module has; the decoder's
    # "section size mismatch" must stand (a slice of the bytes silently ends early).
    head = bytes.fromhex("0061736d01000000" "0104016000" "00" "03020100")
    wasm = head + bytes.fromhex("0a06" "01" "04" "00010b")
    accepted, total, problems = body_verdicts(wasm)
    assert (accepted, total, problems) == (0, 1, [])
    assert _verdict(wasm) == _full_verdict(wasm) == "section size mismatch (at offset 0x16)"


@pytest.mark.parametrize("name", ["grep", "sort", "arc", "cpr"])
def test_c_programs_are_decided_by_the_fused_check(name: str) -> None:
    wasm = (ROOT / "tests" / "wasi" / "wasm" / f"{name}.wasm").read_bytes()
    accepted, total, problems = body_verdicts(wasm)
    assert not problems, "\n".join(problems)
    assert accepted >= 0.95 * total, (accepted, total)


def _smith(seed: int, invalid: bool) -> bytes | None:
    from test_valid_differential import FEATURES

    rnd = random.Random(seed)
    raw = bytes(rnd.getrandbits(8) for _ in range(rnd.choice([1500, 6000])))
    extra = ["--allow-invalid-funcs", "true"] if invalid else []
    res = subprocess.run([wasm_tools_exe(), "smith", *FEATURES, *extra], input=raw,
                         capture_output=True)  # fmt: skip
    return res.stdout if res.returncode == 0 else None


def _verdict(wasm: bytes) -> str | None:
    try:
        validate_module(decode_module(wasm))
    except (ValidationError, DecodeError) as e:
        return str(e)
    return None


def _full_verdict(wasm: bytes) -> str | None:
    """The module's verdict without the fused check and the native filter (every body
    decoded, then checked)."""
    saved = code._fused, os.environ.get("NANOPROC_NATIVE_VALIDATE")
    code._fused = lambda *args: None
    os.environ["NANOPROC_NATIVE_VALIDATE"] = "0"
    try:
        return _verdict(wasm)
    finally:
        code._fused = saved[0]
        if saved[1] is None:
            del os.environ["NANOPROC_NATIVE_VALIDATE"]
        else:
            os.environ["NANOPROC_NATIVE_VALIDATE"] = saved[1]


@pytest.mark.parametrize("invalid", [False, True])
def test_smith_modules_and_mutants_agree(invalid: bool) -> None:
    rng = random.Random(10 + invalid)
    problems: list[str] = []
    checked = 0
    for seed in range(1000 * invalid, 1000 * invalid + 30):
        wasm = _smith(seed, invalid)
        if wasm is None:
            continue
        for k in range(6):
            data = wasm if k == 0 else mutate(wasm, rng)
            _, _, p = body_verdicts(data)
            problems += [f"seed {seed} mutant {k}: {x}" for x in p]
            ours = _verdict(data)
            full = _full_verdict(data)
            if ours != full:
                problems.append(f"seed {seed} mutant {k}: {ours!r}, without fused: {full!r}")
            if k < 2:
                theirs = subprocess.run([wasm_tools_exe(), "validate", "--features", "wasm3",
                                         "-"], input=data, capture_output=True)  # fmt: skip
                if (theirs.returncode == 0) != (ours is None):
                    problems.append(f"seed {seed} mutant {k}: wasm-tools "
                                    f"{theirs.stderr.decode().strip() or 'valid'!r}, "
                                    f"nanoproc {ours or 'valid'!r}")  # fmt: skip
            checked += 1
    assert checked >= 60
    assert not problems, "\n".join(problems[:20])


# Wasm 3.0 features, valid and invalid bodies: (module text, whether the fused check
# must decide every body itself). Agreement with the full checker is required for all.
FEATURE_CASES: list[tuple[str, str, bool]] = [
    ("memory64", """(module (memory i64 1)
       (func (param i64) (result i32)
         (i64.store offset=4294967296 (local.get 0) (i64.const 1))
         (i32.load offset=8 align=4 (local.get 0))))""", True),
    ("memory64 with an i32 address", """(module (memory i64 1)
       (func (param i32) (result i32) (i32.load (local.get 0))))""", False),
    ("offset too big for memory32", """(module (memory 1)
       (func (param i32) (result i32) (i32.load offset=4294967296 (local.get 0))))""", False),
    ("alignment above natural", """(module (memory 1)
       (func (param i32) (result i32) (i32.load align=8 (local.get 0))))""", False),
    ("multi-memory", """(module (memory 1) (memory i64 1)
       (func (param i32 i64) (result i64)
         (i64.load 1 offset=1000 (local.get 1))
         (i32.store 0 (local.get 0) (i32.const 1))
         (memory.copy 1 1 (local.get 1) (local.get 1) (local.get 1))
         (memory.fill 0 (local.get 0) (i32.const 0) (local.get 0))))""", True),
    ("memory.copy mixed address types", """(module (memory 1) (memory i64 1)
       (func (param i32 i64)
         (memory.copy 0 1 (local.get 0) (local.get 1) (local.get 0))))""", True),
    ("memory.copy wrong length type", """(module (memory 1) (memory i64 1)
       (func (param i32 i64)
         (memory.copy 0 1 (local.get 0) (local.get 1) (local.get 1))))""", False),
    ("simd", """(module (memory 1)
       (func (param i32) (result v128)
         (i32x4.add (v128.load (local.get 0)) (v128.const i32x4 1 2 3 4))
         (v128.store (local.get 0) (i8x16.splat (i32.const 7)))
         (f64x2.splat (f64.const 1.5)) (i64x2.mul) (v128.not)))""", False),
    ("simd lanes", """(module
       (func (param v128) (result i32) (i32x4.extract_lane 3 (local.get 0))))""", False),
    ("simd lane out of range", """(module
       (func (param v128) (result i32) (i32x4.extract_lane 4 (local.get 0))))""", False),
    ("exceptions", """(module (tag $e (param i32)) (tag $f)
       (func (param i32) (result i32)
         (block $h (result i32 exnref)
           (block $g (result exnref)
             (try_table (catch_ref $e $h) (catch_all_ref $g) (throw $e (local.get 0)))
             (unreachable))
           (throw_ref))
         (drop)))""", True),
    ("catch carrying the wrong types", """(module (tag $e (param i32))
       (func (param i32) (result i32)
         (block $h (result i32 exnref)
           (try_table (catch $e $h) (throw $e (local.get 0))) (unreachable))
         (drop)))""", False),
    ("catch label mismatch", """(module (tag $e (param i64))
       (func (result i32)
         (block $h (result i32) (try_table (catch $e $h) (unreachable)) (i32.const 0))))""",
     False),
    ("tail calls", """(module (type $t (func (param i32) (result i32)))
       (table 1 funcref)
       (func $f (param i32) (result i32) (return_call $f (local.get 0)))
       (func (param i32) (result i32)
         (return_call_indirect (type $t) (local.get 0) (i32.const 0))))""", False),
    ("typed function references", """(module (type $t (func (result i32)))
       (func $f (result i32) (i32.const 1)) (elem declare func $f)
       (func (result i32) (call_ref $t (ref.func $f))))""", False),
    ("non-nullable local read before set", """(module (type $t (func))
       (func (local (ref $t)) (drop (local.get 0))))""", False),
    ("non-nullable local set in a block, read after it", """(module (type $t (func))
       (func $f (local (ref $t)) (block (local.set 0 (ref.func $f))) (drop (local.get 0)))
       (elem declare func $f))""", False),
    ("gc subtyping", """(module (type $s (sub (struct (field i32))))
       (type $t (sub $s (struct (field i32) (field i64))))
       (func (param (ref $t)) (result (ref null $s) i32)
         (local.get 0) (struct.get $s 0 (local.get 0))))""", False),
    ("unreachable code", """(module
       (func (result i32) (unreachable) (i32.add) (i64.const 0) (drop))
       (func (result i32) (block (result i32) (br 0 (i32.const 1)) (i32.const 2)))
       (func (result i32) (block (result i32) (br 0 (i32.const 1)) (f32.const 2)))
       (func (result i32) (return (i32.const 1)) (drop) (i32.const 0)))""", False),
    ("if with parameters", """(module
       (type $t (func (param i32) (result i32)))
       (func (param i32) (result i32)
         (local.get 0) (local.get 0) (if (type $t) (then) (else (i32.const 1) (i32.add))))
       (func (param i32) (result i32)
         (local.get 0) (local.get 0) (if (type $t) (then))))""", True),
    ("if without else, results differ", """(module
       (func (param i32) (result i32) (if (result i32) (local.get 0) (then (i32.const 1)))))""",
     False),
    ("br_table arities", """(module
       (func (param i32) (result i32)
         (block $a (result i32) (block $b (result i32)
           (br_table $a $b (i32.const 1) (local.get 0)))))
       (func (param i32) (result i32)
         (block $a (result i32) (block $b
           (br_table $a $b (i32.const 1) (local.get 0))))))""", False),
    ("select", """(module
       (func (param i32) (result i64) (select (i64.const 1) (i64.const 2) (local.get 0)))
       (func (param i32 externref) (result externref)
         (select (result externref) (local.get 1) (ref.null extern) (local.get 0)))
       (func (param i32) (result i64) (select (i64.const 1) (i32.const 2) (local.get 0))))""",
     False),
    ("globals", """(module (global $c i32 (i32.const 1)) (global $m (mut i64) (i64.const 0))
       (func (global.set $m (i64.extend_i32_u (global.get $c))))
       (func (global.set $c (i32.const 2))))""", False),
    ("bulk memory without a data count section", """(module (memory 1) (data "x")
       (func (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1)) (data.drop 0)))""",
     False),
]


@pytest.mark.parametrize("name", [c[0] for c in FEATURE_CASES])
def test_wasm3_features(name: str) -> None:
    from nanoproc.api.wat import wat2wasm

    text, decided = next((t, d) for n, t, d in FEATURE_CASES if n == name)
    wasm = bytes(wat2wasm(text))
    accepted, total, problems = body_verdicts(wasm)
    assert not problems, "\n".join(problems)
    if decided:
        assert accepted == total, (accepted, total)
    assert _verdict(wasm) == _full_verdict(wasm)
