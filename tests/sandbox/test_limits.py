"""Resource limits: store limits, the limiter callback and the Wasm stack bound.

``memory.grow``/``table.grow`` past a limit return -1, instantiation over a limit
fails with a WasmtimeError naming it (compared with wasmtime-py where it has the
same API), and ``max_wasm_stack`` bounds recursion per engine, even when another
engine in the process allows more.
"""

from __future__ import annotations

import pytest
from sandbox_helpers import engine, instance, outcome, tier_fixture  # noqa: F401

import nanoproc

wasmtime = pytest.importorskip("wasmtime")

GROWER = '''(module
  (memory (export "m") 1 100) (table (export "t") 2 100 funcref)
  (func (export "mem") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "tab") (param i32) (result i32) ref.null func local.get 0 table.grow 0))'''


@pytest.mark.parametrize("api_name", ["wasmtime", "nanoproc"])
def test_growth_past_store_limits_returns_minus_one(tier: str, api_name: str) -> None:
    api = wasmtime if api_name == "wasmtime" else nanoproc
    eng = api.Engine() if api is wasmtime else engine(tier)
    store = api.Store(eng)
    store.set_limits(memory_size=3 * 65536, table_elements=5)
    ex = api.Instance(store, api.Module(eng, GROWER), []).exports(store)
    assert ex["mem"](store, 2) == 1
    assert ex["mem"](store, 1) == -1
    assert ex["m"].size(store) == 3
    assert ex["tab"](store, 3) == 2
    assert ex["tab"](store, 1) == -1
    assert ex["t"].size(store) == 5


@pytest.mark.parametrize(("limits", "wat", "message"), [
    ({"memory_size": 65536}, "(module (memory 2))", "memory minimum size of 2 pages exceeds memory limits"),
    ({"table_elements": 5}, "(module (table 6 funcref))", "table minimum size of 6 elements exceeds table limits"),
    ({"instances": 1}, "(module)", "instance count too high at 2"),
    ({"memories": 1}, "(module (memory 1))", "memory count too high at 2"),
    ({"tables": 1}, "(module (table 1 funcref))", "table count too high at 2"),
])  # fmt: skip
def test_instantiation_over_a_limit_fails_cleanly(tier: str, limits: dict[str, int], wat: str,
                                                  message: str) -> None:
    for api in (wasmtime, nanoproc):
        eng = api.Engine() if api is wasmtime else engine(tier)
        store = api.Store(eng)
        store.set_limits(**limits)
        module = api.Module(eng, wat)
        with pytest.raises(api.WasmtimeError, match=message):
            for _ in range(2):
                api.Instance(store, module, [])


def test_failed_instantiation_gives_its_share_back(tier: str) -> None:
    """nanoproc extra: a refused instantiation neither counts nor keeps its tables
    (wasmtime-py counts the failed instance)."""
    eng = engine(tier)
    store = nanoproc.Store(eng)
    store.set_limits(instances=1, memory_size=65536, tables=1)
    big = nanoproc.Module(eng, "(module (table 1 funcref) (memory 2))")
    for _ in range(3):
        with pytest.raises(nanoproc.WasmtimeError, match="memory minimum size"):
            nanoproc.Instance(store, big, [])
    nanoproc.Instance(store, nanoproc.Module(eng, "(module (table 1 funcref) (memory 1))"), [])


def test_limiter_decides_every_growth(tier: str) -> None:
    eng = engine(tier)
    store = nanoproc.Store(eng)
    calls: list[tuple[str, int, int, int | None]] = []

    def limiter(kind: str, current: int, desired: int, maximum: int | None) -> bool:
        calls.append((kind, current, desired, maximum))
        return desired <= (2 * 65536 if kind == "memory" else 4)

    store.set_limiter(limiter)
    ex = nanoproc.Instance(store, nanoproc.Module(eng, GROWER), []).exports(store)
    assert calls == [("table", 0, 2, 100), ("memory", 0, 65536, 100 * 65536)]
    assert ex["mem"](store, 1) == 1
    assert ex["mem"](store, 1) == -1
    assert ex["tab"](store, 2) == 2
    assert ex["tab"](store, 1) == -1
    assert calls[-1] == ("table", 4, 5, 100)
    store.set_limiter(None)
    assert ex["mem"](store, 1) == 2


def test_limiter_refusal_at_instantiation_and_errors(tier: str) -> None:
    eng = engine(tier)
    store = nanoproc.Store(eng)
    store.set_limiter(lambda kind, cur, want, most: kind != "table")
    with pytest.raises(nanoproc.WasmtimeError, match="table minimum size"):
        nanoproc.Instance(store, nanoproc.Module(eng, GROWER), [])

    def broken(kind: str, cur: int, want: int, most: int | None) -> bool:
        if cur:
            raise KeyError("policy")
        return True

    store.set_limiter(broken)
    ex = nanoproc.Instance(store, nanoproc.Module(eng, GROWER), []).exports(store)
    with pytest.raises(KeyError, match="policy"):
        ex["mem"](store, 1)
    with pytest.raises(TypeError):
        store.set_limiter(42)  # type: ignore[arg-type]


RECURSE = '''(module
  (type $t (func (param i32) (result i32)))
  (table funcref (elem $via_table))
  (func $down (export "down") (param i32) (result i32)
    local.get 0 i32.eqz if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $down i32.const 1 i32.add end)
  (func $via_table (export "via_table") (param i32) (result i32)
    local.get 0 i32.eqz if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub i32.const 0 call_indirect (type $t) i32.const 1 i32.add end))'''


@pytest.mark.parametrize("name", ["down", "via_table"])
def test_max_wasm_stack_is_per_engine(tier: str, name: str) -> None:
    """A small engine's bound holds although a larger engine exists in the process."""
    big = engine(tier, max_wasm_stack=512 * 1024)
    small = engine(tier, max_wasm_stack=32 * 1024)
    store_b, inst_b = instance(big, RECURSE)
    store_s, inst_s = instance(small, RECURSE)
    assert inst_b.exports(store_b)[name](store_b, 3000) == 3000
    assert outcome(nanoproc, store_s, inst_s.exports(store_s)[name], 3000) == (
        "trap", "STACK_OVERFLOW")
    assert inst_s.exports(store_s)[name](store_s, 200) == 200  # usable afterwards


DEFAULT_DEPTH = {"interp": 16_000, "llvm": 32_000}
"""Nested calls of ``down`` each tier makes at the default ``max_wasm_stack`` (issue
20): wasmtime-py 51 makes 32,761; interp stops at ~17,300 (backend.MAX_FRAMES: its
C-stack bound), llvm at ~32,750 (stack.FRAME_SCALE). Through the table (bigger
frames) wasmtime-py makes 16,380, llvm 16,375, interp ~17,300: 16,000 for each.
docs/api-differences.md."""


def test_recursion_depth_at_the_default_stack(tier: str) -> None:
    """As deep as wasmtime-py (llvm) or half as deep (interp), then a clean trap, then
    usable again: both directly and through a table."""
    wt = wasmtime.Engine()
    store_w, inst_w = instance(wt, RECURSE, api=wasmtime)
    store, inst = instance(engine(tier), RECURSE)
    for name in ("down", "via_table"):
        n = DEFAULT_DEPTH[tier] if name == "down" else 16_000
        f = inst.exports(store)[name]
        assert inst_w.exports(store_w)[name](store_w, n) == n  # the reference agrees
        assert f(store, n) == n
        assert outcome(nanoproc, store, f, 40_000) == ("trap", "STACK_OVERFLOW")
        assert outcome(wasmtime, store_w, inst_w.exports(store_w)[name], 40_000) == (
            "trap", "STACK_OVERFLOW")
        assert f(store, n) == n


def test_deep_recursion_never_crashes_the_process(tier: str) -> None:
    """Whatever max_wasm_stack asks for, running out is a trap, not a crash: also
    through host functions that call back into Wasm (C-level recursion)."""
    eng = engine(tier, max_wasm_stack=64 << 20)
    store = nanoproc.Store(eng)
    wat = '''(module (import "" "h" (func $h (param i32) (result i32)))
      (func (export "f") (param i32) (result i32)
        local.get 0 i32.eqz if (result i32) i32.const 0
        else local.get 0 i32.const 1 i32.sub call $h i32.const 1 i32.add end))'''
    holder: dict[str, object] = {}
    ft = nanoproc.FuncType([nanoproc.ValType.i32()], [nanoproc.ValType.i32()])
    host = nanoproc.Func(store, ft, lambda n: holder["f"](store, n))  # type: ignore[operator]
    f = nanoproc.Instance(store, nanoproc.Module(eng, wat), [host]).exports(store)["f"]
    holder["f"] = f
    assert f(store, 500) == 500
    # Running out of Python's stack in nanoproc's code is the trap; in the host's own
    # code (the lambda), its RecursionError passes through, as in wasmtime.
    try:
        got = outcome(nanoproc, store, f, 200_000)
    except RecursionError:
        got = ("host", "RecursionError")
    assert got in (("trap", "STACK_OVERFLOW"), ("host", "RecursionError"))
    assert f(store, 500) == 500
