"""Compile worker processes: they never re-run the user's ``__main__`` (a script without
a guard, ``python -c``, stdin), leave no process behind, and where none can be
started the same object code is compiled in the process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: the llvm tier cannot run")

SRC = str(Path(__file__).resolve().parents[2] / "src")

# A module big enough to be split into partitions compiled by several workers.
BIG_WAT = "(module\n" + "".join(
    f"  (func (export \"f{i}\") (param i32) (result i32)"
    + " (i32.add (local.get 0) (i32.const 1))" * 1
    + "".join(" (drop (i32.mul (local.get 0) (i32.const 3)))" for _ in range(60))
    + ")\n"
    for i in range(120)
) + ")\n"


def _script(tmp_path: Path, strategy: str, extra: str = "") -> str:
    wat = tmp_path / "big.wat"
    wat.write_text(BIG_WAT)
    return textwrap.dedent(f"""
        import os, sys
        import nanoproc
        print("main ran", os.getpid(), flush=True)
        config = nanoproc.Config()
        config.strategy = {strategy!r}
        engine = nanoproc.Engine(config)
        module = nanoproc.Module.from_file(engine, {str(wat)!r})
        store = nanoproc.Store(engine)
        inst = nanoproc.Instance(store, module, [])
        print("result", inst.exports(store)["f7"](store, 41), flush=True)
        {extra}
    """)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC
    env["NANOPROC_CACHE_DIR"] = str(tmp_path / "cache")
    env["NANOPROC_LLVM_OPT"] = "0"
    env.update(extra)
    return env


def _no_workers_left(marker: str) -> None:
    """No process whose command line mentions ``marker`` (the test's cache dir) or a
    worker of this tree is left after its parent exited."""
    deadline = time.monotonic() + 10
    while True:
        out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        left = [line for line in out.splitlines()
                if "nanoproc.internal.workers" in line and marker in line]  # fmt: skip
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left, left


@pytest.mark.parametrize("how", ["file", "dash-c", "stdin"])
def test_workers_never_rerun_main(tmp_path: Path, how: str) -> None:
    """An unguarded script, ``python -c`` and a program read from stdin compile a big
    module with workers: the main code runs once, the result is right."""
    code = _script(tmp_path, "llvm")
    env = _env(tmp_path)
    if how == "file":
        path = tmp_path / "unguarded.py"
        path.write_text(code)
        proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                              env=env, timeout=600)  # fmt: skip
    elif how == "dash-c":
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, timeout=600)  # fmt: skip
    else:
        proc = subprocess.run([sys.executable, "-"], input=code, capture_output=True,
                              text=True, env=env, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("main ran") == 1, proc.stdout
    assert "result 42" in proc.stdout


def test_workers_were_used_and_are_gone_after_exit(tmp_path: Path) -> None:
    extra = ("from nanoproc.internal import workers; "
             "print('workers', len(workers.worker_pids()), flush=True)")
    path = tmp_path / "prog.py"
    path.write_text(_script(tmp_path, "llvm", extra))
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          env=_env(tmp_path), timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    count = int(proc.stdout.split("workers")[1].split()[0])
    assert count >= 1  # the big module was compiled by worker processes
    _no_workers_left(SRC)


def test_ctrl_c_during_a_background_compile_leaves_no_process(tmp_path: Path) -> None:
    """SIGINT while the tiered engine's workers compile: the program stops with
    KeyboardInterrupt and its workers exit too."""
    extra = "import time; print('running', flush=True); time.sleep(60)"
    path = tmp_path / "prog.py"
    path.write_text(_script(tmp_path, "tiered", extra))
    proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(tmp_path))  # fmt: skip
    assert proc.stdout is not None
    line = ""
    deadline = time.monotonic() + 300
    while "running" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert "KeyboardInterrupt" in err
    _no_workers_left(SRC)


def test_in_process_compile_gives_the_same_code(tmp_path: Path) -> None:
    """NANOPROC_COMPILE_WORKERS=0 (as where processes cannot start): compiled here,
    the same object code as the workers'."""
    script = _script(tmp_path, "llvm", textwrap.dedent("""
        from nanoproc.internal import workers
        art = module._compiled.artifacts[[k for k in module._compiled.artifacts if k.startswith("llvm:")][0]]
        import hashlib
        print("digest", hashlib.sha256(b"".join(art.objects)).hexdigest(), len(art.objects))
        print("workers", len(workers.worker_pids()))
    """).replace("\n", "\n        "))
    path = tmp_path / "prog.py"
    path.write_text(script)
    outs = []
    for flag in ("1", "0"):
        env = _env(tmp_path, NANOPROC_COMPILE_WORKERS=flag, NANOPROC_LLVM_CACHE="0")
        proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                              env=env, timeout=600)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "result 42" in proc.stdout
        outs.append(proc.stdout)
    digest = [o.split("digest")[1].split("\n")[0] for o in outs]
    assert digest[0] == digest[1]
    assert "workers 0" in outs[1]


def test_partitions_are_cached_as_they_arrive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A compile cut short (the program exited) leaves the partitions it finished in
    the cache; the next compile of the module does only the others."""
    from llvm_helpers import compile_wat

    from nanoproc.internal.llvm import cache, compiler, parallel
    from nanoproc.internal.llvm.compiler import CodeOptions

    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", {})
    monkeypatch.setenv("NANOPROC_COMPILE_WORKERS", "0")  # compiled here: countable
    cm = compile_wat(BIG_WAT)
    options = CodeOptions(opt_level=0)
    parts = compiler.partitions(cm, 4)
    assert len(parts) >= 3
    compiled: list[int] = []
    real = compiler.compile_partition

    def counting(cm_: object, part: object, opts: object) -> bytes:
        compiled.append(part.index)  # type: ignore[attr-defined]
        if len(compiled) == 2:
            raise KeyboardInterrupt  # the program stops mid-compile
        return real(cm_, part, opts)  # type: ignore[arg-type]

    monkeypatch.setattr(compiler, "compile_partition", counting)
    with pytest.raises(KeyboardInterrupt):
        parallel.compile_parallel(cm, parts, options, 1, None)
    compiled.clear()
    monkeypatch.setattr(compiler, "compile_partition", real)
    monkeypatch.setattr(cache, "_memory", {})  # a new process: only the disk cache
    again: list[int] = []

    def counting2(cm_: object, part: object, opts: object) -> bytes:
        again.append(part.index)  # type: ignore[attr-defined]
        return real(cm_, part, opts)  # type: ignore[arg-type]

    monkeypatch.setattr(compiler, "compile_partition", counting2)
    objects = parallel.compile_parallel(cm, parts, options, 1, None)
    assert len(objects) == len(parts)
    assert parts[0].index not in again and len(again) == len(parts) - 1


def test_big_module_partitions_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """However few the jobs, no partition grows past MAX_PARTITION instructions (unless
    one function alone is bigger): LLVM's memory follows the partition's size, and
    CPython-for-WASI's 32 M instructions in 4 partitions took > 4.8 GB per worker."""
    from llvm_helpers import compile_wat

    from nanoproc.internal.llvm import compiler

    cm = compile_wat(BIG_WAT)
    nimp = cm.num_imported_funcs
    sizes = {nimp + i: len(f.instrs) + 1 for i, f in enumerate(cm.module.funcs)}
    cap = max(sizes.values()) * 2
    monkeypatch.setattr(compiler, "MAX_PARTITION", cap)
    monkeypatch.setattr(compiler, "PARALLEL_THRESHOLD", 1)
    for jobs in (2, 4):
        parts = compiler.partitions(cm, jobs)
        assert sorted(f for p in parts for f in p.funcs) == sorted(sizes)
        assert len(parts) >= sum(sizes.values()) // cap
        for p in parts:
            assert sum(sizes[f] for f in p.funcs) <= cap + max(sizes.values())


def test_background_workers_run_at_the_lowest_priority() -> None:
    """A background compile must not slow the program it runs beside (see
    workers.BACKGROUND_NICE); foreground workers keep the caller's priority."""
    from nanoproc.internal import workers

    if not workers.workers_available():
        pytest.skip("worker processes cannot be started here")
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    for background, want in ((True, 19), (False, mine)):
        w = workers.Worker(workers.BACKGROUND_NICE if background else 0)
        try:
            assert os.getpriority(os.PRIO_PROCESS, w.proc.pid) == max(want, mine)
        finally:
            w.kill()
