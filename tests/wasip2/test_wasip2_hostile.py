"""preview1's hostile battery (tests/wasi/src/hostile.c) rebuilt as a WASI 0.2
component with the command adapter: every escape attempt now goes through
``wasi:filesystem``. expected/hostile.out is wasmtime-py 51's output; both
runtimes stop at ``path_invalid_utf8`` (the adapter passes the non-UTF-8 path as
a ``string``, which traps in the canonical ABI). Directory entries come in the
host's order, as wasmtime's (the battery counts what fits in a 512-byte buffer). Nothing outside the preopens
may change, and no secret may show.

hostile_tail.wasm is the same battery built without those two cases
(``-DSKIP_INVALID_UTF8``), so the cases after them run too (expected/hostile_tail.out,
wasmtime-py 51's output: 92 lines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wasip2_harness import HERE, RUN_EXPORT, WASM


@pytest.mark.parametrize("engine", ["interp", "llvm"])
@pytest.mark.parametrize("name", ["hostile", "hostile_tail"])
def test_hostile_component(name: str, engine: str, tmp_path: Path) -> None:
    expected = (HERE / "expected" / f"{name}.out").read_text().splitlines()
    import sys

    sys.path.insert(0, str(HERE.parent / "wasi"))
    from test_hostile import SECRETS, build_world
    from wasi_harness import snapshot

    import nanoproc
    from nanoproc.component import Component, Linker

    root = tmp_path / "world"
    root.mkdir()
    build_world(root)
    before = snapshot(root, skip=("sandbox",))
    config = nanoproc.Config()
    config.strategy = engine
    eng = nanoproc.Engine(config)
    out = bytearray()
    w = nanoproc.WasiConfig()
    w.argv = ["hostile", str(root / "secret.txt")]
    w.stdout_custom = lambda b: out.extend(b)
    w.preopen_dir(str(root / "sandbox"), "/sandbox")
    w.preopen_dir(str(root / "ro"), "/ro", nanoproc.DirPerms.READ_ONLY, nanoproc.FilePerms.READ_ONLY)
    store = nanoproc.Store(eng)
    store.set_wasi(w)
    linker = Linker(eng)
    linker.add_wasip2()
    inst = linker.instantiate(store, Component.from_file(eng, str(WASM / f"{name}.wasm")))
    run = inst.get_func(store, inst.get_export_index(store, "run", inst.get_export_index(store, RUN_EXPORT)))
    if name == "hostile":
        with pytest.raises(nanoproc.Trap, match="invalid utf-8"):
            run(store)
    else:
        result = run(store)  # result<_, _>: both cases empty, so a Variant
        assert getattr(result, "tag", None) == "ok", result
    lines = out.decode().splitlines()
    assert len(lines) == len(expected)
    for got, want in zip(lines, expected, strict=True):
        case = want.partition(": ")[0]
        assert got == want, case
        assert not any(s in got for s in SECRETS)
    assert snapshot(root, skip=("sandbox",)) == before
    assert not Path("/tmp/pwned_dir").exists()
