"""Random structured programs, run by the interp tier and by wasmtime-py: same results,
same traps, same memory and globals afterwards (see wasm_fuzz).

NANOPROC_FUZZ_SEEDS=<n> runs more programs than the default.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
import wasm_fuzz
from interp_helpers import BACKEND, compile_wasm, new_instance, signed32, wat2wasm

from nanoproc.internal.exec.trap import Trap

wasmtime = pytest.importorskip("wasmtime")

SEEDS = int(os.environ.get("NANOPROC_FUZZ_SEEDS", "120"))
ARGS = [(0, 0, 0), (1, 2, 3), (0xFFFFFFFF, 7, 0x80000000), (100, 0xFFFF, 13), (5, 5, 5)]


def _ours(inst: Any, name: str, args: tuple[int, ...]) -> tuple[str, Any]:
    try:
        return "ok", inst.exports[name].call(*args)
    except BaseException as e:
        exc = BACKEND.convert_exception(e)
        assert isinstance(exc, Trap), f"{name}{args} raised {exc!r}"
        return "trap", exc.trap_code.name if exc.trap_code else exc.message


def _theirs(store: Any, inst: Any, name: str, args: tuple[int, ...]) -> tuple[str, Any]:
    try:
        r = inst.exports(store)[name](store, *[signed32(a) for a in args])
        return "ok", r & 0xFFFFFFFF
    except wasmtime.Trap as e:
        return "trap", e.trap_code.name if e.trap_code is not None else str(e)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_program(seed: int) -> None:
    text = wasm_fuzz.module(seed)
    data = wat2wasm(text)
    ours = new_instance(compile_wasm(data))
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    theirs = wasmtime.Instance(store, wasmtime.Module(engine, data), [])
    their_mem = theirs.exports(store)["mem"]
    for name in ("f0", "f1", "f2"):
        for args in ARGS:
            got = _ours(ours, name, args)
            want = _theirs(store, theirs, name, args)
            assert got == want, f"seed {seed} {name}{args}: ours {got}, wasmtime {want}\n{text}"
            ours_mem = hashlib.sha256(bytes(ours.memories[0].view)).hexdigest()
            their_bytes = bytes(their_mem.read(store, 0, their_mem.data_len(store)))
            assert ours_mem == hashlib.sha256(their_bytes).hexdigest(), f"seed {seed} memory"
            for g in ("g", "fuel"):
                ours_g = ours.exports[g].value
                their_g = theirs.exports(store)[g].value(store) & 0xFFFFFFFF
                assert ours_g == their_g, f"seed {seed} global {g}: {ours_g} vs {their_g}"
