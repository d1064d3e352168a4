"""Memory safety and input checks at the API (issue 19), both tiers; scenarios that
could crash the host process run in their own interpreter (tests/isolated.py)."""

from __future__ import annotations

import pytest

from isolated import run_isolated

TIERS = ["interp", "llvm"]

PRELUDE = """
import gc, json, sys
import nanoproc as w

def engine(tier, **settings):
    config = w.Config()
    config.strategy = tier
    for k, v in settings.items():
        setattr(config, k, v)
    return w.Engine(config)
"""

# ---------------------------------------------------------------- 19.1
REFS = PRELUDE + """
tier = sys.argv[1]
eng = engine(tier)
store = w.Store(eng)
mod = w.Module(eng, '''(module
  (import "h" "fresh" (func $fresh (result externref)))
  (import "h" "fresh2" (func $fresh2 (result externref externref)))
  (table $t 1 externref)
  (global $g (mut externref) (ref.null extern))
  (func (export "tswap") (param externref) (result externref)
    (table.get $t (i32.const 0)) (table.set $t (i32.const 0) (local.get 0)))
  (func (export "gswap") (param externref) (result externref)
    (global.get $g) (global.set $g (local.get 0)))
  (func (export "tswap2") (param externref) (result externref i32 externref)
    (table.get $t (i32.const 0)) (i32.const 7) (table.get $t (i32.const 0))
    (table.set $t (i32.const 0) (local.get 0)))
  (func (export "fresh") (result externref) (call $fresh))
  (func (export "fresh2") (result externref externref) (call $fresh2))
  (func (export "fresh_dropped") (result externref)
    (local externref) (local.set 0 (call $fresh)) (drop (call $fresh)) (local.get 0)))''')
count = [0]
def fresh():
    count[0] += 1
    return ["fresh", count[0]]
def fresh2():
    return [fresh(), fresh()]
ext = w.ValType.externref()
imports = [w.Func(store, w.FuncType([], [ext]), fresh),
           w.Func(store, w.FuncType([], [ext, ext]), fresh2)]
inst = w.Instance(store, mod, imports)
ex = inst.exports(store)
bad = []
for name in ("tswap", "gswap"):
    f = ex[name]
    f(store, ["first"])
    for i in range(3000):
        got = f(store, [name, i])
        want = ["first"] if i == 0 else [name, i - 1]
        if got != want:
            bad.append([name, i, repr(got)])
            break
f = ex["tswap2"]
f(store, [0])
for i in range(1, 3000):
    got = f(store, [i])
    if got != [[i - 1], 7, [i - 1]]:
        bad.append(["tswap2", i, repr(got)])
        break
for name in ("fresh", "fresh2", "fresh_dropped"):
    for i in range(3000):
        got = ex[name](store)
        ok = got[0] == "fresh" if name != "fresh2" else [g[0] for g in got] == ["fresh"] * 2
        if not ok:
            bad.append([name, i, repr(got)])
            break
gc.collect()
print(json.dumps(bad))
"""


@pytest.mark.parametrize("tier", TIERS)
def test_externref_results_are_owned_by_the_caller(tier: str) -> None:
    """An externref whose last owner goes away during the call (swapped out of a table
    slot or a global, made fresh by a host function; one result or several) is the
    object itself, never freed memory (llvm returned [<NULL>, 0] or crashed)."""
    assert run_isolated(REFS, tier) == []
