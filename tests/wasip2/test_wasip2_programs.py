"""preview1's file and directory programs (tests/wasi/src/files.c, dirs.c) rebuilt
as WASI 0.2 components with the command adapter: every fd_* and path_* call now
goes through ``wasi:filesystem``; and src/p2edges.c, which calls wasi:io and
wasi:filesystem directly (poll, file streams, splice, append, descriptor.read at
the end, is-same-object, metadata-hash, refused paths). expected/*.out is
wasmtime-py 51's output (its component API with ``add_wasip2``); nanoproc gives the
same lines on interp and llvm, and files.c leaves the same files behind as the
preview1 runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from wasip2_harness import HAVE_WASMTIME, HERE, RUN_EXPORT, WASM, api_for


def run(runner: str, name: str, work: Path) -> str:
    api, comp, engine = api_for(runner)
    out = bytearray()
    w = api.WasiConfig()
    w.argv = [name]
    w.stdout_custom = lambda b: out.extend(b)
    if name != "p2edges":  # p2edges reads stdin at its end
        stdin = work.parent / f"{name}-stdin.txt"
        stdin.write_bytes(b"input line\n")
        w.stdin_file = str(stdin)
    w.preopen_dir(str(work), "/work")
    store = api.Store(engine)
    store.set_wasi(w)
    linker = comp.Linker(engine)
    linker.add_wasip2()
    inst = linker.instantiate(store, comp.Component.from_file(engine, str(WASM / f"{name}.wasm")))
    run_ = inst.get_func(store, inst.get_export_index(store, "run", inst.get_export_index(store, RUN_EXPORT)))
    result = run_(store)
    assert result is None or getattr(result, "tag", None) == "ok", result
    return out.decode()


@pytest.mark.parametrize("engine", ["interp", "llvm"])
@pytest.mark.parametrize("name", ["files", "dirs", "p2edges"])
def test_program_as_component(name: str, engine: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    got = run(engine, name, work).splitlines()
    want = (HERE / "expected" / f"{name}.out").read_text().splitlines()
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == w, w.partition(": ")[0]
    if name == "files":  # the same files as the preview1 runs leave (tests/wasi/test_programs.py)
        assert (work / "a.txt").read_bytes() == b"01AB4"
        assert (work / "log.txt").read_bytes() == b"ONE\ntwo\n"
        assert sorted(p.name for p in work.iterdir()) == ["a.txt", "alloc.bin", "dir", "log.txt"]


@pytest.mark.skipif(not HAVE_WASMTIME, reason="wasmtime-py is not installed")
@pytest.mark.parametrize("name", ["files", "dirs", "p2edges"])
def test_expected_is_wasmtimes(name: str, tmp_path: Path) -> None:
    """expected/NAME.out is still what wasmtime-py prints (in a child process:
    wasmtime-py's runtime may abort at interpreter exit)."""
    work = tmp_path / "work"
    work.mkdir()
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import test_wasip2_programs as t; "
            f"from pathlib import Path; sys.stdout.write(t.run('wasmtime', {name!r}, "
            f"Path({str(work)!r}))); sys.stdout.flush()")  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(HERE.parents[1] / "src"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300, env=env)
    assert r.stdout.decode() == (HERE / "expected" / f"{name}.out").read_text()
