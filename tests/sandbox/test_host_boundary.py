"""The host boundary under stress (issue 16): Python failures inside host calls
(RecursionError, MemoryError, KeyboardInterrupt, bad results) never leave state
behind that makes a later call compute a wrong value, in either tier.

Each scenario runs in its own interpreter (tests/isolated.py): a crash is a failure,
and the Python recursion limit can be set freely.
"""

from __future__ import annotations

import pytest
from sandbox_helpers import tier_fixture  # noqa: F401

from isolated import run_isolated

PRELUDE = """
import json, sys
import nanoproc as w

def engine(tier, **settings):
    config = w.Config()
    config.strategy = tier
    for k, v in settings.items():
        setattr(config, k, v)
    return w.Engine(config)

def outcome(fn, *args):
    try:
        return ["ok", fn(*args)]
    except w.Trap as t:
        return ["trap", t.trap_code.name if t.trap_code else t.message]
    except BaseException as e:
        return ["raise", type(e).__name__]

DOWN = '''(module (import "h" "cb" (func $cb (param i32) (result i32)))
  (memory (export "mem") 1)
  (func (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $cb (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "grow") (result i32) (memory.grow (i32.const 0))))'''
"""

MUTUAL = PRELUDE + """
tier, limit = sys.argv[1], int(sys.argv[2])
eng = engine(tier)
store = w.Store(eng)
mod = w.Module(eng, DOWN)
box = {}
cb = w.Func(store, w.FuncType([w.ValType.i32()], [w.ValType.i32()]),
            lambda n: box["down"](store, n))
inst = w.Instance(store, mod, [cb])
box["down"] = inst.exports(store)["down"]
sys.setrecursionlimit(limit)
out = [[n, outcome(box["down"], store, n)] for n in (100, 1000, 1000, 300, 5, 3000, 20, 1000)]
print(json.dumps(out))
"""


@pytest.mark.parametrize("limit", [250, 1000, 4000])
def test_exhausted_python_stack_never_gives_a_wrong_value(tier: str, limit: int) -> None:
    """Mutual recursion Wasm -> host -> Wasm until Python's stack runs out: every call
    returns its argument, or stops with the call-stack-exhausted trap or the host's
    RecursionError; never another number (llvm returned 143, 242, 384, 526)."""
    out = run_isolated(MUTUAL, tier, str(limit))
    stopped = 0
    for n, (kind, value) in out:
        if kind == "ok":
            assert value == n, out
        else:
            stopped += 1
            assert [kind, value] in (["trap", "STACK_OVERFLOW"], ["raise", "RecursionError"]), out
    assert out[4] == [5, ["ok", 5]] and out[6] == [20, ["ok", 20]], out
    assert stopped, "the recursion never ran out: the test proves nothing"


FAILURES = PRELUDE + """
tier, kind, depth = sys.argv[1], sys.argv[2], int(sys.argv[3])
eng = engine(tier)
store = w.Store(eng)
mod = w.Module(eng, DOWN)
box = {}

def cb(n):
    if n == depth:
        if kind == "memory":
            raise MemoryError()
        if kind == "interrupt":
            raise KeyboardInterrupt()
        if kind == "recursion":
            raise RecursionError("the host's own")
        if kind == "bad-result":
            return "not a number"
        if kind == "trap":
            raise w.Trap("from the host")
        if kind == "exit":
            raise SystemExit(3)
    return box["down"](store, n)

f = w.Func(store, w.FuncType([w.ValType.i32()], [w.ValType.i32()]), cb)
inst = w.Instance(store, mod, [f])
box["down"] = inst.exports(store)["down"]
out = [outcome(box["down"], store, 40) for _ in range(3)]
out.append(outcome(box["down"], store, 10))
out.append(outcome(inst.exports(store)["grow"], store))
print(json.dumps(out))
"""

EXPECTED = {
    "memory": ["raise", "MemoryError"],
    "interrupt": ["raise", "KeyboardInterrupt"],
    "recursion": ["raise", "RecursionError"],
    "bad-result": ["raise", "TypeError"],
    "trap": ["trap", "from the host"],
    "exit": ["raise", "SystemExit"],
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_python_failures_at_depth_leave_the_store_right(tier: str, kind: str) -> None:
    """A failure 30 host calls deep reaches the caller as itself (a host's
    RecursionError too, as in wasmtime), every time, and the store computes right
    afterwards."""
    out = run_isolated(FAILURES, tier, kind, "10")
    assert out[:3] == [EXPECTED[kind]] * 3, out
    assert out[3:] == [["ok", 10], ["ok", 1]], out
