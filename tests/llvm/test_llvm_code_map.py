"""The process-wide map from code addresses to Wasm functions (llvm/code.py) under
garbage collection: unloading code while the map's lock is held must not deadlock.

A LoadedCode in a reference cycle is freed by the cyclic GC, which can run inside any
allocation, including one made while ``_register`` holds the map's lock (CI saw a spec
run hang there, finalizing the code of a module that defines no function). The check runs in a subprocess so that a deadlock is a timeout, not a
hung test run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: the llvm tier cannot run")

SCRIPT = textwrap.dedent("""
    import gc
    import nanoproc as w
    from nanoproc.internal.llvm import code

    config = w.Config()
    config.strategy = "llvm"
    engine = w.Engine(config)
    # no defined function: the map holds no range of this code, so nothing but the
    # module keeps it, and it dies with the module
    wat = '(module (import "m" "f" (func)) (global (export "g") i32 (i32.const {n})))'

    gc.disable()
    for n in range(3):
        store = w.Store(engine)
        linker = w.Linker(engine)
        linker.define_func("m", "f", w.FuncType([], []), lambda: None)
        inst = linker.instantiate(store, w.Module(engine, wat.format(n=n)))
        assert inst.exports(store)["g"].value(store) == n
        del inst, store, linker
        # what a GC inside _register does: finalize unloaded code with the lock held
        with code._map_lock:
            gc.collect()
    assert code.lookup(0) is None
    print("ok")
""")


def test_unloading_code_while_the_map_is_locked_does_not_deadlock() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


LEAK_SCRIPT = textwrap.dedent("""
    import gc
    import nanoproc as w
    from nanoproc.internal.llvm import code

    config = w.Config()
    config.strategy = "llvm"
    engine = w.Engine(config)
    wat = '(module (func (export "f") (param i32) (result i32) local.get 0 i32.const {n} i32.add))'
    for n in range(12):
        store = w.Store(engine)
        inst = w.Instance(store, w.Module(engine, wat.format(n=n)), [])
        assert inst.exports(store)["f"](store, 1) == n + 1
        del inst, store
    gc.collect()
    alive = sum(isinstance(c, code.LoadedCode) for c in gc.get_objects())
    with code._map_lock:
        code._purge()
        mapped = len(code._ranges)
    print(alive, mapped)
""")


def test_code_of_dropped_modules_is_freed() -> None:
    """Each module's machine code goes with its module and instances (the address
    map used to keep every LoadedCode alive for the life of the process). The host
    thunk cache may keep one module's code per function shape: at most one here."""
    proc = subprocess.run([sys.executable, "-c", LEAK_SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    alive, mapped = map(int, proc.stdout.split())
    assert alive <= 1 and mapped <= 1, proc.stdout
