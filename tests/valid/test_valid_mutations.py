"""Differential test: ill-typed variants of the suite's modules, judged by wasm-tools.

Each case decodes a valid module of a spec script, changes one function body (drops,
duplicates, swaps or moves an instruction, or bumps an index immediate), encodes it
and compares the verdict of ``validate_module`` with ``wasm-tools validate``. The
edits keep blocks balanced, so the binary stays well-formed and the typing rules
(subtyping, casts, locals, labels, address types, ...) decide.
"""

from __future__ import annotations

import random
import subprocess
import zlib

import pytest
from valid_build import ScriptCache, wasm_tools_exe

from conftest import spec_dir, spec_files
from nanoproc.internal.errors import DecodeError, ValidationError
from nanoproc.internal.syntax.module import Expr, Module
from nanoproc.internal.syntax.ops import BLOCK_STARTS, ELSE, END
from nanoproc.internal.valid import validate_module

SCRIPTS = [
    "br_on_cast.wast", "ref_cast.wast", "struct.wast", "array.wast", "type-subtyping.wast",
    "try_table.wast", "call_ref.wast", "return_call_ref.wast", "local_init.wast",
    "select.wast", "table_copy_mixed.wast", "memory_copy64.wast", "br_table.wast",
    "i31.wast", "simd_lane.wast", "extern.wast",
]  # fmt: skip
CASES_PER_SCRIPT = 25
STRUCTURAL = set(BLOCK_STARTS) | {ELSE, END}


@pytest.fixture(scope="session")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> ScriptCache:
    return ScriptCache(tmp_path_factory.getbasetemp() / "valid-spec")


def mutate(body: Expr, rnd: random.Random) -> str | None:
    """Change ``body`` in place; the kind of change, or None if nothing applied."""
    plain = [i for i, ins in enumerate(body) if ins[0] not in STRUCTURAL]
    kind = rnd.choice(["drop", "dup", "swap", "move", "index", "index"])
    if kind == "index":
        cands = [i for i, ins in enumerate(body) if len(ins) > 1 and type(ins[1]) is int]
        if not cands:
            return None
        i = rnd.choice(cands)
        op, x, *rest = body[i]
        body[i] = (op, max(0, x + rnd.choice([-1, 1, 2])), *rest)
        return kind
    if not plain:
        return None
    i = rnd.choice(plain)
    if kind == "drop":
        del body[i]
    elif kind == "dup":
        body.insert(i, body[i])
    elif kind == "swap":
        j = rnd.choice(plain)
        body[i], body[j] = body[j], body[i]
    else:
        body.insert(rnd.randrange(len(body)), body.pop(i))
    return kind


def _verdict(module: Module) -> str | None:
    try:
        validate_module(module)
    except ValidationError as e:
        return e.reason
    return None


@pytest.mark.parametrize("script", [s for s in SCRIPTS if not spec_files() or
                                    any(p.name == s for p in spec_files())] or ["(none)"])  # fmt: skip
def test_mutated_bodies_agree_with_wasm_tools(script: str, scripts: ScriptCache) -> None:
    from nanoproc.internal.binary.decode import decode_module
    from nanoproc.internal.binary.encode import encode_module

    out, commands = scripts.commands(spec_dir() / script)
    files = [out / c["filename"] for c in commands
             if c["type"] == "module" and c.get("module_type") == "binary"]  # fmt: skip
    files = [f for f in files if any(fn.instrs for fn in decode_module(f.read_bytes()).funcs)]
    rnd = random.Random(zlib.crc32(script.encode()))
    failures = []
    checked = 0
    for case in range(CASES_PER_SCRIPT):
        path = rnd.choice(files)
        module = decode_module(path.read_bytes(), lazy=False)
        funcs = [f for f in module.funcs if f.body]
        if not funcs:
            continue
        func = rnd.choice(funcs)
        kind = mutate(func.instrs, rnd)
        if kind is None:
            continue
        func.offsets = None
        wasm = encode_module(module)
        theirs = subprocess.run([wasm_tools_exe(), "validate", "--features", "wasm3", "-"],
                                input=wasm, capture_output=True)  # fmt: skip
        try:
            ours = _verdict(decode_module(wasm))
        except DecodeError as e:
            ours = str(e)
        checked += 1
        if (theirs.returncode == 0) != (ours is None):
            failures.append(
                f"case {case} ({path.name}, {kind}): wasm-tools "
                f"{theirs.stderr.decode().strip() or 'valid'!r}, nanoproc {ours or 'valid'!r}"
            )
    assert checked >= CASES_PER_SCRIPT // 2
    assert not failures, "\n".join(failures)
