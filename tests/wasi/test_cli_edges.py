"""WASI preview1 and ``nanoproc run`` at their edges (issue 18), on both engines.

Guests: src/edges.c (one mode per case) and the WAT programs in src/*.wat. Every
case runs ``python -m nanoproc`` as a user does; none may end in "internal error"
or a traceback. Where wasmtime-py can run the same guest (trailing slashes), the
outputs must be identical.
"""

from __future__ import annotations

import os
import resource
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wasi_harness import Dir, Program, cli_env, make_tree, run, snapshot, wasm_path

from nanoproc.api.artifact import nanoproc_version

ENGINES = ["interp", "llvm"]
EDGES = str(wasm_path("edges"))
TIMEOUT = 300


def nanoproc(*args: str | bytes, stdin: bytes | None = b"", timeout: float = TIMEOUT,
             **kw: object) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    kw.setdefault("env", cli_env())
    proc = subprocess.run([sys.executable, "-m", "nanoproc", *args], input=stdin,
                          capture_output=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    assert b"internal error" not in proc.stderr and b"Traceback" not in proc.stderr, proc.stderr
    return proc  # type: ignore[no-any-return]


def one_error(proc: subprocess.CompletedProcess[bytes], *parts: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.decode("utf-8", "replace").splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])


# ---------------------------------------------------------------- 1. long sleeps
SLEEPS = ["sleep-max", "sleep-i64", "sleep-abs", "nanosleep", "stdin-clock"]


@pytest.mark.parametrize("engine", ENGINES)
def test_long_sleeps_sleep(engine: str) -> None:
    """Clock timeouts up to u64 max (relative, absolute, beside stdin) sleep as
    wasmtime does: still asleep seconds later, nothing on stderr."""
    procs = {mode: subprocess.Popen([sys.executable, "-m", "nanoproc", "run", "--engine", engine, EDGES,
                                     mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=cli_env())  # fmt: skip
             for mode in SLEEPS}
    try:
        for mode, proc in procs.items():
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
            assert ready, f"{mode}: never started sleeping"
            assert proc.stdout.readline() == b"sleeping\n", mode
        time.sleep(2)
        for mode, proc in procs.items():
            assert proc.poll() is None, (mode, proc.returncode, proc.stderr.read())  # type: ignore[union-attr]
    finally:
        for proc in procs.values():
            proc.kill()
            _, err = proc.communicate()
            assert err == b"", err


@pytest.mark.parametrize("engine", ENGINES)
def test_long_sleep_obeys_the_timeout(engine: str) -> None:
    p = nanoproc("run", "--engine", engine, "-W", "timeout=2s", EDGES, "sleep-max")
    assert p.returncode == 134 and b"wasm trap: interrupt" in p.stderr, p.stderr
    assert p.stdout == b"sleeping\n"


# ---------------------------------------------------------------- 2. closed stdio
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("closed", [">&-", "2>&-", "<&- >&- 2>&-"])
def test_closed_standard_streams(engine: str, closed: str) -> None:
    """``nanoproc run app.wasm >&-`` runs the program and returns its status."""
    cmd = [sys.executable, "-m", "nanoproc", "run", "--engine", engine, EDGES, "status", "5"]
    p = subprocess.run(["sh", "-c", f'exec "$@" {closed}', "sh", *cmd], capture_output=True,
                       timeout=TIMEOUT, env=cli_env())  # fmt: skip
    closed_fds = {part.split(">")[0].split("<")[0] or ("0" if "<" in part else "1")
                  for part in closed.split()}  # fmt: skip
    assert p.returncode == 5, p.stderr
    assert p.stdout == (b"" if "1" in closed_fds else b"to stdout\n")
    assert p.stderr == (b"" if "2" in closed_fds else b"to stderr\n")


# ---------------------------------------------------------------- 3. non-UTF-8
@pytest.mark.parametrize("engine", ENGINES)
def test_non_utf8_arguments_environment_and_dirs(engine: str, tmp_path: Path) -> None:
    run_ = ["run", "--engine", engine]
    one_error(nanoproc(*run_, EDGES, "args", b"caf\xe9", b"ok"), "argument 2", "UTF-8")
    one_error(nanoproc(*run_, "--env", b"NAME=\xff", EDGES, "args"), "--env", "UTF-8")
    one_error(nanoproc(*run_, "--env", b"\xff=x", EDGES, "args"), "--env", "UTF-8")
    odd = os.fsencode(tmp_path) + b"/dir\xfe"
    os.mkdir(odd)
    one_error(nanoproc(*run_, "--dir", odd, EDGES, "args"), "--dir", "UTF-8")
    one_error(nanoproc(*run_, "--dir", odd + b"::/ok::/x", EDGES, "args"), "--dir")
    one_error(nanoproc(*run_, "--dir", f"{tmp_path}::".encode() + b"/g\xfe", EDGES, "args"), "UTF-8")
    # A host path need not be UTF-8 (the guest sees only its guest name).
    p = nanoproc(*run_, "--dir", odd + b"::/ok", EDGES, "args", "x")
    assert p.returncode == 0 and b"argv[1]: args\nargv[2]: x\n" in p.stdout, p.stderr
    # The module's own name becomes argv[0]: it must be UTF-8 too (unless --argv0).
    named = os.fsencode(tmp_path) + b"/prog\xff.wasm"
    Path(os.fsdecode(named)).write_bytes(Path(EDGES).read_bytes())
    one_error(nanoproc(*run_, named, "args"), "UTF-8")
    assert nanoproc(*run_, "--argv0", "prog", named, "args").stdout.startswith(b"argv[0]: prog\n")


def test_wasi_config_refuses_what_it_cannot_encode() -> None:
    import nanoproc as np

    config = np.WasiConfig()  # wasmtime-py raises UnicodeEncodeError in the setters too
    with pytest.raises(UnicodeEncodeError):
        config.argv = ["ok", "caf\udce9"]
    with pytest.raises(UnicodeEncodeError):
        config.env = [("NAME", "\udcff")]
    with pytest.raises(UnicodeEncodeError):
        config.preopen_dir(".", "/g\udcfe")


# ---------------------------------------------------------------- 4. huge -W values
@pytest.mark.parametrize("engine", ENGINES)
def test_huge_limits(engine: str) -> None:
    run_ = ["run", "--engine", engine]
    p = nanoproc(*run_, "-W", "timeout=99999999999s", EDGES, "status", "0")
    assert (p.returncode, p.stdout, p.stderr) == (0, b"to stdout\n", b"to stderr\n")
    p = nanoproc(*run_, "-W", "fuel=18446744073709551615", EDGES, "status", "0")
    assert (p.returncode, p.stdout) == (0, b"to stdout\n"), p.stderr
    one_error(nanoproc(*run_, "-W", "fuel=18446744073709551616", EDGES), "fuel", "at most")
    one_error(nanoproc(*run_, "-W", "timeout=18446744073709551616s", EDGES), "timeout", "at most")
    one_error(nanoproc(*run_, "-W", "timeout=" + "9" * 400 + "s", EDGES), "timeout", "at most")
    one_error(nanoproc(*run_, "-W", "timeout=nan", EDGES), "timeout")
    one_error(nanoproc(*run_, "-W", "max-memory-size=18446744073709551616", EDGES), "at most")


# ---------------------------------------------------------------- 5. trailing slashes
TREE = {"dir": {}, "full": {"x": "x"}, "file": "data", "link-dir": ("link", "dir"),
        "link-file": ("link", "file"), "dangling": ("link", "nowhere")}  # fmt: skip
EXPECTED_TRAILING = Path(__file__).parent / "expected" / "edges_trailing.out"


@pytest.mark.parametrize("runner", ["wasmtime", "nanoproc", "interp", "llvm"])
def test_trailing_slashes_in_every_path_operation(runner: str, tmp_path: Path) -> None:
    """mkdir/rmdir/unlink/open/stat/utimes/rename/link/symlink/readlink with trailing
    slashes on files, directories, links to both, dangling links and missing names:
    the errnos wasmtime gives (and Linux: rmdir("dir/") works, rmdir("link/") is
    ENOTDIR, open("new/", O_CREAT) is EISDIR); the tree is left as it was."""
    work = tmp_path / "w"
    make_tree(work, TREE)
    before = _shape(work)
    if runner in ("wasmtime", "nanoproc"):
        result = run(runner, Program("edges", ["trailing"], [Dir(work, ".")]))
        assert result.code == 0, result.stderr
        lines = result.lines
    else:
        p = nanoproc("run", "--engine", runner, "--dir", f"{work}::.", EDGES, "trailing")
        assert p.returncode == 0, p.stderr
        lines = p.stdout.decode().splitlines()
    assert lines == EXPECTED_TRAILING.read_text().splitlines()
    assert _shape(work) == before


def _shape(root: Path) -> dict[str, tuple[object, ...]]:
    """Names, types, modes, link targets and contents (directory times change)."""
    return {rel: (fmt, mode, extra) for rel, (fmt, mode, _size, _mtime, _nlink, _ino, extra)
            in snapshot(root).items()}  # fmt: skip


# ---------------------------------------------------------------- 6. descriptors
@pytest.mark.parametrize("engine", ENGINES)
def test_descriptor_limit_is_the_hosts(engine: str, tmp_path: Path) -> None:
    """No fixed cap: a guest opens as many files as the process may (wasmtime
    opened all 5,000 with ``ulimit -n 20000``), then gets EMFILE."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = 6000 if hard == resource.RLIM_INFINITY else min(hard, 6000)
    want = 5000 if limit >= 5200 else limit + 100

    def raise_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))

    p = nanoproc("run", "--engine", engine, "--dir", f"{tmp_path}::.", EDGES, "open", str(want),
                 preexec_fn=raise_limit)  # fmt: skip
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode().splitlines()
    if want == 5000:
        assert out == ["opened: 5000"]
    else:  # this machine allows fewer: the host's EMFILE, close to its limit
        assert out[0] == "errno: 33" and int(out[1].split()[1]) > limit - 64, out


# ---------------------------------------------------------------- 7. reactors
@pytest.mark.parametrize("engine", ENGINES)
def test_initialize_runs_before_the_entry_point(engine: str) -> None:
    p = nanoproc("run", "--engine", engine, str(wasm_path("reactor")))
    assert (p.returncode, p.stdout, p.stderr) == (0, b"initialized, then _start\n", b"")
    p = nanoproc("run", "--engine", engine, "--invoke", "get", str(wasm_path("reactor")))
    assert (p.returncode, p.stdout) == (0, b"42\n"), p.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_default_export_comes_before_start(engine: str) -> None:
    p = nanoproc("run", "--engine", engine, str(wasm_path("default_export")))
    assert (p.returncode, p.stdout) == (0, b"the default export\n"), p.stderr


# ---------------------------------------------------------------- 8. conventions
@pytest.mark.parametrize("engine", ENGINES)
def test_module_from_stdin(engine: str) -> None:
    data = Path(EDGES).read_bytes()
    p = nanoproc("run", "--engine", engine, "-", "args", "x", stdin=data)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(b"argv[0]: -\nargv[1]: args\nargv[2]: x\n")
    wat = b'(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'
    p = nanoproc("run", "--engine", engine, "--invoke", "add", "-", "40", "2", stdin=wat)
    assert (p.returncode, p.stdout) == (0, b"42\n"), p.stderr
    one_error(nanoproc("run", "--engine", engine, "-", stdin=b""), "-")


def test_version() -> None:
    for flag in ("--version", "-V"):
        p = nanoproc(flag)
        assert (p.returncode, p.stdout, p.stderr) == (0, f"nanoproc {nanoproc_version()}\n".encode(), b"")


@pytest.mark.parametrize("engine", ENGINES)
def test_run_is_the_default_command(engine: str) -> None:
    p = nanoproc(EDGES, "args", "x")
    assert p.returncode == 0 and p.stdout.startswith(b"argv[0]: edges.wasm\nargv[1]: args\n"), p.stderr
    p = nanoproc("--engine", engine, "--env", "A=b", EDGES, "args")
    assert p.returncode == 0 and b"env: A=b\n" in p.stdout, p.stderr
    one_error(nanoproc("no-such-file.wasm"), "no-such-file.wasm")


@pytest.mark.parametrize("engine", ENGINES)
def test_wasi_options_as_wasmtime_spells_them(engine: str) -> None:
    env = {**cli_env(), "NANOPROC_EDGE_VAR": "inherited"}
    run_ = ["run", "--engine", engine]
    p = nanoproc(*run_, "-S", "inherit-env", EDGES, "args", env=env)
    assert b"env: NANOPROC_EDGE_VAR=inherited\n" in p.stdout, p.stderr
    p = nanoproc(*run_, "-S", "inherit-env=y", "--env", "NANOPROC_EDGE_VAR=mine", EDGES, "args", env=env)
    assert b"env: NANOPROC_EDGE_VAR=mine\n" in p.stdout and b"=inherited" not in p.stdout
    p = nanoproc(*run_, "-S", "inherit-env=n,inherit-network", EDGES, "args", env=env)
    assert p.returncode == 0 and b"NANOPROC_EDGE_VAR" not in p.stdout, p.stderr
    p = nanoproc(*run_, "-S", "inherit-stdout=no", EDGES, "status", "3")
    assert (p.returncode, p.stdout, p.stderr) == (3, b"", b"to stderr\n")
    p = nanoproc(*run_, "-S", "inherit-stdin=n", EDGES, "stdin-clock", stdin=None)
    assert p.returncode == 0 and b"events: 1\nfirst: 7\n" in p.stdout, p.stderr  # at end of file at once
    p = nanoproc(*run_, "-S", "help")
    assert p.returncode == 0 and b"inherit-env" in p.stdout and b"inherit-network" in p.stdout
    one_error(nanoproc(*run_, "-S", "nn", EDGES), "-S nn", "not supported")
    one_error(nanoproc(*run_, "-S", "http=y", EDGES), "-S http", "not supported")
    one_error(nanoproc(*run_, "-S", "no-such-option", EDGES), "unknown -S option")
    one_error(nanoproc(*run_, "-S", "inherit-env=maybe", EDGES), "inherit-env")
    assert nanoproc(*run_, "-S", "threads=n", EDGES, "status", "0").returncode == 0
    assert nanoproc(*run_, "-W", "fuel=100000000,max-memory-size=100000000", EDGES, "status", "4").returncode == 4


def test_help_has_no_markup() -> None:
    for args in ([], ["run"], ["compile"], ["wast"]):
        p = nanoproc(*args, "--help")
        assert p.returncode == 0
        assert b"``" not in p.stdout and b":func:" not in p.stdout, p.stdout


# ---------------------------------------------------------------- 9. long backtraces
@pytest.mark.parametrize("engine", ENGINES)
def test_stack_overflow_backtrace_is_elided(engine: str) -> None:
    p = nanoproc("run", "--engine", engine, str(wasm_path("recurse")))
    assert p.returncode == 134
    lines = p.stderr.decode().splitlines()
    assert lines[1] == "wasm trap: call stack exhausted", lines[:3]
    assert len(lines) < 40, len(lines)
    elided = [ln for ln in lines if "frames elided" in ln]
    assert len(elided) == 1, lines
    last = lines[-1].split(":")[0].strip()
    assert last.isdigit() and int(last) > 1000, lines[-1]  # the outermost frames stay


@pytest.mark.parametrize("engine", ENGINES)
def test_trap_exit_status_survives_a_closed_stderr(engine: str) -> None:
    """stderr's reader gone before the trap is printed (EPIPE): still 134."""
    for prog in (str(wasm_path("recurse")), str(wasm_path("trap"))):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            p = subprocess.run([sys.executable, "-m", "nanoproc", "run", "--engine", engine, prog, "trap"],
                               stdout=subprocess.PIPE, stderr=write_end, timeout=TIMEOUT,
                               env=cli_env())  # fmt: skip
        finally:
            os.close(write_end)
        assert p.returncode == 134, prog


# ---------------------------------------------------------------- 10. argv[0]
@pytest.mark.parametrize("engine", ENGINES)
def test_argv0_is_the_base_name(engine: str, tmp_path: Path) -> None:
    p = nanoproc("run", "--engine", engine, EDGES, "args")
    assert p.stdout.startswith(b"argv[0]: edges.wasm\nargv[1]: args\n"), p.stdout
    p = nanoproc("run", "--engine", engine, "--argv0", "tool", EDGES, "args")
    assert p.stdout.startswith(b"argv[0]: tool\n")
    p = nanoproc("run", "--engine", engine, "edges.wasm", "args", cwd=str(Path(EDGES).parent))
    assert p.stdout.startswith(b"argv[0]: edges.wasm\n")


# ---------------------------------------------------------------- 11. components
COMPONENT = b"\0asm\x0d\x00\x01\x00"


@pytest.mark.parametrize("command", [["run"], ["compile"]])  # validate/print take components
def test_components_are_named_as_such(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "app.wasm"
    path.write_bytes(COMPONENT)
    # run takes WASI 0.2 command components (tests/wasip2); an empty one is not a command
    parts = (("not a WASI command",) if command == ["run"]
             else ("is a WebAssembly component", "not supported"))  # fmt: skip
    one_error(nanoproc(*command, str(path)), *parts)
    text = tmp_path / "app.wat"
    text.write_text("(component)")
    one_error(nanoproc(*command, str(text)), *parts)
