"""Instantiation allocates a module's own entities with code generated per module
(exec/instance.py ``_allocator``): a line per function for small modules, a loop over
a table for big ones (compiling a line per function cost ~17 ms for Graphviz's 1,205
functions, more than the instantiations of such a module save). Both shapes give
every function its index, type and instance, in order."""

from __future__ import annotations

import pytest

import nanoproc
from nanoproc.internal.exec import instance as exec_instance


def _module_text(n: int) -> str:
    funcs = "\n".join(
        f'(func $f{i} (export "f{i}") (param i32) (result i32) '
        f"(i32.add (local.get 0) (i32.const {i})))" if i % 2 == 0 else
        f'(func $f{i} (export "f{i}") (result i64) (i64.const {i}))'
        for i in range(n)
    )
    table = " ".join(f"$f{i}" for i in range(0, n, 2))
    return f"""(module
      (import "host" "h" (func $h (param i32) (result i32)))
      (type $t (func (param i32) (result i32)))
      (table {len(range(0, n, 2))} funcref) (elem (i32.const 0) {table})
      {funcs}
      (func (export "via_table") (param i32 i32) (result i32)
        (call_indirect (type $t) (local.get 1) (local.get 0)))
      (func (export "via_host") (param i32) (result i32) (call $h (local.get 0))))"""


@pytest.mark.parametrize("strategy", ["interp", "llvm"])
@pytest.mark.parametrize("n", [3, exec_instance.STRAIGHT_FUNCS - 2, exec_instance.STRAIGHT_FUNCS - 1, 130])
def test_every_function_is_allocated_in_order(strategy: str, n: int) -> None:
    """(n + 2 functions: n - 2 = STRAIGHT_FUNCS is the last of the straight shape.)"""
    config = nanoproc.Config()
    config.strategy = strategy
    engine = nanoproc.Engine(config)
    module = nanoproc.Module(engine, _module_text(n))
    for _ in range(2):  # the plan (and its allocator) is made once, used again
        store = nanoproc.Store(engine)
        host = nanoproc.Func(store, nanoproc.FuncType([nanoproc.ValType.i32()],
                                                      [nanoproc.ValType.i32()]),
                             lambda x: x * 3)  # fmt: skip
        inst = nanoproc.Instance(store, module, [host])
        ex = inst.exports(store)
        for i in range(n):
            f = ex[f"f{i}"]
            if i % 2 == 0:
                assert f(store, 10) == 10 + i
                assert str(f.type(store).results[0]) == "i32"
            else:
                assert f(store) == i
        for slot in range(len(range(0, n, 2))):
            assert ex["via_table"](store, slot, 1) == 1 + 2 * slot
        assert ex["via_host"](store, 7) == 21
