"""Running the WASI 0.2 test components: through nanoproc's component API (a
tier), through wasmtime-py's (the reference, where installed), or through
``nanoproc run``; each gives (stdout, stderr, exit status)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WASM = HERE / "wasm"
HAVE_WASMTIME = importlib.util.find_spec("wasmtime") is not None
RUN_EXPORT = "wasi:cli/run@0.2.12"


def make_world(root: Path) -> None:
    """sb/ (read-write, with a link out of it), ro/ (read-only), a secret outside."""
    (root / "sb" / "sub").mkdir(parents=True)
    (root / "ro").mkdir()
    (root / "secret.txt").write_text("TOP SECRET\n")
    (root / "ro" / "ro.txt").write_text("read only\n")
    os.symlink("..", root / "sb" / "out")


def _configure(api: Any, root: Path, args: list[str], env: list[tuple[str, str]],
               stdin: Path | None, out: bytearray, err: bytearray) -> Any:  # fmt: skip
    w = api.WasiConfig()
    w.argv = ["p2command", *args]
    w.env = env
    w.stdout_custom = lambda b: out.extend(b)
    w.stderr_custom = lambda b: err.extend(b)
    if stdin is not None:
        w.stdin_file = str(stdin)
    w.preopen_dir(str(root / "sb"), "/sb")
    if api.__name__ == "wasmtime":
        w.preopen_dir(str(root / "ro"), "/ro", False)  # wasmtime-py 51: fs_mutable
    else:
        w.preopen_dir(str(root / "ro"), "/ro", api.DirPerms.READ_ONLY, api.FilePerms.READ_ONLY)
    return w


def api_for(runner: str) -> tuple[Any, Any, Any]:
    """(module, its component module, an Engine) for ``runner``: "wasmtime", or a
    nanoproc strategy ("interp", "llvm", "tiered")."""
    if runner == "wasmtime":
        import wasmtime as api
        import wasmtime.component as comp

        return api, comp, api.Engine()
    import nanoproc as api
    import nanoproc.component as comp

    config = api.Config()
    config.strategy = runner
    return api, comp, api.Engine(config)


def run_api(runner: str, name: str, root: Path, args: list[str] = (),  # type: ignore[assignment]
            env: list[tuple[str, str]] = (), stdin: Path | None = None) -> tuple[str, str, int]:  # type: ignore[assignment]
    """``runner``: "wasmtime", or a nanoproc strategy ("interp", "llvm", "tiered")."""
    api, comp, engine = api_for(runner)
    out, err = bytearray(), bytearray()
    component = comp.Component.from_file(engine, str(WASM / f"{name}.wasm"))
    linker = comp.Linker(engine)
    linker.add_wasip2()
    store = api.Store(engine)
    store.set_wasi(_configure(api, root, list(args), list(env), stdin, out, err))
    status = 0
    try:
        inst = linker.instantiate(store, component)
        idx = inst.get_export_index(store, RUN_EXPORT)
        run = inst.get_func(store, inst.get_export_index(store, "run", idx))
        result = run(store)
        status = 0 if result is None or getattr(result, "tag", None) == "ok" else 1
    except api.ExitTrap as e:
        status = e.code
    except api.WasmtimeError as e:
        code = getattr(e, "code", None) if runner == "wasmtime" else None
        if runner == "wasmtime" and "exit status" in str(e):
            status = int(str(e).split("exit status")[1].split()[0].strip(":,"))
        elif code is not None:
            status = code
        else:
            raise
    return out.decode(), err.decode(), status


def run_cli(name: str, root: Path, args: list[str], env: list[str], stdin: Path | None,
            *extra: str) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    cmd = [sys.executable, "-m", "nanoproc", "run", *extra, "--dir", f"{root / 'sb'}::/sb",
           "--dir", f"{root / 'ro'}::/ro::readonly"]  # fmt: skip
    for e in env:
        cmd += ["--env", e]
    cmd += [str(WASM / f"{name}.wasm"), *args]
    src = Path(__file__).resolve().parents[2] / "src"
    penv = dict(os.environ, PYTHONPATH=str(src))
    with open(stdin or os.devnull, "rb") as fin:
        return subprocess.run(cmd, stdin=fin, capture_output=True, timeout=300, env=penv)
