"""``nanoproc run`` (``python -m nanoproc.cli_run``) as a user meets it: exit
statuses, traps, --invoke, --dir/--env/--argv0, -W limits, sockets, and one clear
``error:`` line (never a traceback) for every kind of bad input."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wasi_harness import HAVE_WASMTIME, cli_env, wasm_path

TIMEOUT = 300


def nanoproc_run(*args: str, stdin: bytes = b"", timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nanoproc.cli_run", *args], input=stdin.decode(),
                          capture_output=True, text=True, timeout=timeout, env=cli_env())  # fmt: skip


def one_error_line(p: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert fragment in lines[0]
    assert "Traceback" not in p.stderr


TRAP = str(wasm_path("trap"))


def test_exit_status_is_proc_exit_code() -> None:
    p = nanoproc_run(TRAP, "exit", "3")
    assert (p.returncode, p.stdout) == (3, "started\n")
    assert nanoproc_run(TRAP).returncode == 0


def test_trap_prints_message_and_backtrace_and_exits_134() -> None:
    p = nanoproc_run(TRAP, "trap")
    assert p.returncode == 134
    assert p.stdout == "started\n"
    err = p.stderr.splitlines()
    assert err[0] == f"error: failed to run `{TRAP}`"
    assert err[1] == "wasm trap: unreachable"
    assert err[2] == "wasm backtrace:"
    assert len(err) > 3 and all(" - " in line for line in err[3:])


@pytest.mark.skipif(not HAVE_WASMTIME, reason="wasmtime-py is not installed")
def test_trap_matches_wasmtime() -> None:
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = ["trap", "trap"]
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    inst = linker.instantiate(store, wasmtime.Module.from_file(engine, TRAP))
    with pytest.raises(wasmtime.Trap) as info:
        inst.exports(store)["_start"](store)
    assert info.value.trap_code == wasmtime.TrapCode.UNREACHABLE
    assert nanoproc_run(TRAP, "trap").returncode == 134


def test_exit_status_out_of_range_is_a_trap() -> None:
    p = nanoproc_run(TRAP, "exit", "200")
    assert p.returncode == 134
    assert "wasm trap: exit with invalid exit status outside of [0..126)" in p.stderr


def test_arguments_after_the_file_belong_to_the_program() -> None:
    p = nanoproc_run("--argv0", "prog", str(wasm_path("basics")), "--dir", "x", "-W", "y")
    assert p.returncode == 0, p.stderr
    args = [ln for ln in p.stdout.splitlines() if ln.startswith("arg: ")]
    assert args == ["arg: --dir", "arg: x", "arg: -W", "arg: y"]


def test_env_and_inherited_env() -> None:
    import os

    os.environ["NANOPROC_TEST_GREETING"] = "from the host"
    try:
        p = nanoproc_run("--env", "GREETING=hello", "--env", "EMPTY=", "--env", "MISSING_HOST_VAR_XYZ",
                         str(wasm_path("basics")))  # fmt: skip
    finally:
        del os.environ["NANOPROC_TEST_GREETING"]
    assert 'env GREETING: "hello"' in p.stdout
    assert 'env EMPTY: ""' in p.stdout
    assert "environ_count: 2" in p.stdout


def test_readonly_dir(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    p = nanoproc_run("--dir", f"{tmp_path}::/work::readonly", str(wasm_path("files")))
    assert "open_creat: 63" in p.stdout
    assert sorted(f.name for f in tmp_path.iterdir()) == ["file.txt"]


def test_dir_without_guest_name(tmp_path: Path) -> None:
    p = nanoproc_run("--dir", str(tmp_path), str(wasm_path("dirs")))
    assert f"prestat_name: {tmp_path}" in p.stdout


def test_stdin_is_the_programs() -> None:
    p = nanoproc_run(str(wasm_path("basics")), stdin=b"12345")
    assert "stdin_bytes: 5" in p.stdout
    assert p.stderr == "note on stderr\n"


# ---------------------------------------------------------------- --invoke
WAT = """(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "wide") (param i64) (result i64) local.get 0 i64.const 1 i64.add)
  (func (export "floats") (param f32 f64) (result f32 f64 f64 f64)
    local.get 0 local.get 1 f64.const 1e20 f64.const nan)
  (func (export "nothing"))
  (func (export "vec") (param v128) (result v128)
    (i32x4.add (local.get 0) (v128.const i32x4 1 0 0 0x80000000)))
  (func (export "boom") unreachable)
  (global (export "g") i32 (i32.const 1)))"""


@pytest.fixture
def wat_file(tmp_path: Path) -> str:
    path = tmp_path / "m.wat"
    path.write_text(WAT)
    return str(path)


def test_invoke_prints_results(wat_file: str) -> None:
    assert nanoproc_run("--invoke", "add", wat_file, "2", "-5").stdout == "-3\n"
    assert nanoproc_run("--invoke", "add", wat_file, "0x7fffffff", "1").stdout == "-2147483648\n"
    assert nanoproc_run("--invoke", "wide", wat_file, "9223372036854775806").stdout == "9223372036854775807\n"
    assert nanoproc_run("--invoke", "floats", wat_file, "0.1", "2.5").stdout == "0.1\n2.5\n100000000000000000000\nNaN\n"
    p = nanoproc_run("--invoke", "nothing", wat_file)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    # v128 as wasmtime reads and prints it: an unsigned 128-bit decimal
    lanes = (0xFFFFFFFF << 32) | (0xFFFFFFFF << 64) | (0x7FFFFFFF << 96)
    assert nanoproc_run("--invoke", "vec", wat_file, str((1 << 128) - 1)).stdout == f"{lanes}\n"


def test_invoke_trap(wat_file: str) -> None:
    p = nanoproc_run("--invoke", "boom", wat_file)
    assert p.returncode == 134
    assert "wasm trap: unreachable" in p.stderr


@pytest.mark.parametrize(("args", "fragment"), [
    (["--invoke", "nope"], "no exported function named `nope`"),
    (["--invoke", "g"], "no exported function named `g`"),
    (["--invoke", "add", "1"], "takes 2 argument(s), 1 given"),
    (["--invoke", "add", "1", "x", "3"], "invalid i32 argument: 'x'"),
    (["--invoke", "add", "1", "x"], "invalid i32 argument: 'x'"),
    (["--invoke", "add", "1", "99999999999"], "invalid i32 argument"),
    (["--invoke", "vec", "-1"], "invalid v128 argument"),
    (["--invoke", "vec", str(1 << 128)], "invalid v128 argument"),
])  # fmt: skip
def test_invoke_errors(wat_file: str, args: list[str], fragment: str) -> None:
    invoke, rest = args[:2], args[2:]
    one_error_line(nanoproc_run(*invoke, wat_file, *rest), fragment)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(("make", "args", "fragment"), [
    (None, ["/nonexistent/prog.wasm"], "No such file or directory"),
    ("dir", [], "is a directory"),
    ("garbage", [], ""),
    ("invalid", [], ""),
    ("needs_import", [], "unknown import"),
    ("start_with_params", [], "takes parameters"),
    (None, ["--dir", "/nonexistent::/x", TRAP], "is not a directory"),
    (None, ["--dir", "/tmp::/x::writable", TRAP], "unknown option"),
    (None, ["-W", "bogus=1", TRAP], "unknown -W option"),
    (None, ["-W", "fuel=lots", TRAP], "not a number"),
    (None, ["-W", "fuel", TRAP], "expected fuel=N"),
    (None, ["-W", "timeout=soon", TRAP], "expected a duration"),
    (None, ["-W", "max-memory-size=-1", TRAP], "must not be negative"),
    (None, ["-W", "max-memory-size=1000", TRAP], "memory"),
    (None, ["--env", "=x", TRAP], "expected NAME[=VALUE]"),
    (None, ["--tcplisten", "nonsense", TRAP], "expected HOST:PORT"),
])  # fmt: skip
def test_bad_input_is_one_error_line(make: str | None, args: list[str], fragment: str, tmp_path: Path) -> None:
    if make == "dir":
        args = [str(tmp_path)]
    elif make is not None:
        path = tmp_path / "m.wasm"
        content = {
            "garbage": b"\x7fELF this is not a module",
            "invalid": b"\0asm\x01\0\0\0\x03\x02\x01\x05",  # a function of an unknown type
            "needs_import": b'(module (import "env" "f" (func)))',
            "start_with_params": b'(module (func (export "_start") (param i32)))',
        }[make]
        path.write_bytes(content)
        args = [str(path)]
    one_error_line(nanoproc_run(*args), fragment)


def test_max_memory_size_limits_growth() -> None:
    p = nanoproc_run("-W", "max-memory-size=200000", TRAP, "grow", "10")
    assert (p.returncode, p.stdout) == (0, "started\ngrow failed\n")
    p = nanoproc_run("-W", "max-memory-size=100000000", TRAP, "grow", "10")
    assert (p.returncode, p.stdout) == (0, "started\ngrew\n")


def test_time_limit() -> None:
    """-W timeout stops a spinning program (a trap), or says the tier cannot yet."""
    start = time.monotonic()
    p = nanoproc_run("-W", "timeout=500ms", TRAP, "loop", timeout=120)
    if p.returncode == 134:
        assert "wasm trap: interrupt" in p.stderr
        assert time.monotonic() - start < 60
    else:
        one_error_line(p, "not supported yet: epoch interruption")


def test_fuel() -> None:
    p = nanoproc_run("-W", "fuel=1000", TRAP, "loop", timeout=120)
    if p.returncode == 134:
        assert "all fuel consumed" in p.stderr
    else:
        one_error_line(p, "not supported yet: fuel")


def test_help_runs_standalone() -> None:
    p = nanoproc_run("--help")
    assert p.returncode == 0
    assert "--dir HOST[::GUEST[::readonly]]" in p.stdout


def test_tcplisten_echo_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "nanoproc.cli_run", "--tcplisten", f"127.0.0.1:{port}",
                             str(wasm_path("echo_server"))], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env())  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with client:
            client.sendall(b"hello, socket")
            client.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := client.recv(100):
                reply += chunk
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert reply == b"HELLO, SOCKET"
    assert out.decode().splitlines() == ["accept: 0", "received: 13", "sent: 13", "shutdown: 0", "close: 0"]
    assert proc.returncode == 0, err


def test_engine_choice() -> None:
    p = nanoproc_run("--engine", "interp", TRAP, "exit", "5")
    assert (p.returncode, p.stdout) == (5, "started\n")
    p = nanoproc_run("--engine", "llvm", TRAP)
    if p.returncode != 0:  # the llvm tier is optional: when it cannot run, one clear line
        one_error_line(p, "llvm")
    p = nanoproc_run("--engine", "jit", TRAP)
    assert p.returncode == 2 and "invalid choice" in p.stderr


# ---------------------------------------------------------------- reactors (CPython-for-WASI's shape)
REACTOR = """(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "host" "call" (func $door (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 100)))
  (func (export "run") (result i32)
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (i32.add (global.get $ready) (i32.load (i32.const 0))))
  (func (export "door") (result i32)
    (call $door (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))
"""


@pytest.fixture
def reactor_file(tmp_path: Path) -> str:
    path = tmp_path / "reactor.wat"
    path.write_text(REACTOR)
    return str(path)


def test_reactor_with_unknown_imports_and_argv(reactor_file: str) -> None:
    """As ``wasmtime run -W unknown-imports-trap=y --invoke run python.wasm -c CODE``:
    ``_initialize`` runs first, arguments beyond the export's parameters stay the
    program's argv, and an import no host defines traps only if called."""
    p = nanoproc_run("-W", "unknown-imports-trap=y", "--invoke", "run", reactor_file,
                     "-c", "print(1)")  # fmt: skip
    assert (p.returncode, p.stdout, p.stderr) == (0, "103\n", "")  # 100 + argc 3
    # Called, it fails as in wasmtime (an error, not a Wasm trap: exit status 1)
    one_error_line(nanoproc_run("-W", "unknown-imports-trap", "--invoke", "door", reactor_file),
                   "unknown import: `host::call` has not been defined")  # fmt: skip
    p = nanoproc_run("-W", "unknown-imports-default=y", "--invoke", "door", reactor_file)
    assert (p.returncode, p.stdout) == (0, "0\n")
    one_error_line(nanoproc_run("--invoke", "run", reactor_file), "unknown import")
    one_error_line(nanoproc_run("-W", "unknown-imports-trap=n", "--invoke", "run", reactor_file),
                   "unknown import")  # fmt: skip
    one_error_line(nanoproc_run("-W", "unknown-imports-trap=maybe", reactor_file), "expected y")
