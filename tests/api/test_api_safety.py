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


# ---------------------------------------------------------------- 19.2
def _many(n: int) -> tuple[str, list[str]]:
    """A module passing ``n`` mixed results from a host import through an export."""
    kinds = ["i32", "i64", "f32", "f64", "externref", "funcref"]
    types = [kinds[i % len(kinds)] for i in range(n)]
    res = " ".join(types)
    wat = f'''(module
      (import "h" "many" (func $many (param i32) (result {res})))
      (func (export "through") (param i32) (result {res}) (call $many (local.get 0)))
      (func (export "consts") (result {res})
        {" ".join(_const(t, i) for i, t in enumerate(types))}))'''
    return wat, types


def _const(t: str, i: int) -> str:
    if t in ("externref", "funcref"):
        return f"(ref.null {t[:-3]})"
    return f"({t}.const {i})"


@pytest.mark.parametrize("tier", TIERS)
def test_a_thousand_results_cross_both_ways(tier: str) -> None:
    """1,000 results (wasmtime's limit), mixed types, from a host import through Wasm
    and from Wasm constants: right values (llvm raised IndexError past 128 and
    corrupted the heap around 4,300)."""
    wat, types = _many(1000)
    code = PRELUDE + f"""
tier = sys.argv[1]
eng = engine(tier)
store = w.Store(eng)
mod = w.Module(eng, {wat!r})
types = {types!r}
objs = [object() for _ in types]
def many(k):
    out = []
    for i, t in enumerate(types):
        if t in ("i32", "i64"):
            out.append(i * k)
        elif t in ("f32", "f64"):
            out.append(i + 0.5)
        elif t == "externref":
            out.append(objs[i])
        else:
            out.append(None)
    return out
vt = {{"i32": w.ValType.i32(), "i64": w.ValType.i64(), "f32": w.ValType.f32(),
      "f64": w.ValType.f64(), "externref": w.ValType.externref(), "funcref": w.ValType.funcref()}}
f = w.Func(store, w.FuncType([w.ValType.i32()], [vt[t] for t in types]), many)
inst = w.Instance(store, mod, [f])
ex = inst.exports(store)
got = ex["through"](store, 3)
bad = [i for i, (g, wnt) in enumerate(zip(got, many(3))) if not (g is wnt or g == wnt)]
consts = ex["consts"](store)
want = [None if t.endswith("ref") else i for i, t in enumerate(types)]
bad += [("c", i) for i, (g, wnt) in enumerate(zip(consts, want)) if g != wnt]
print(json.dumps([len(got), len(consts), bad[:5]]))
"""
    assert run_isolated(code, tier, timeout=600) == [1000, 1000, []]


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("where", ["params", "results"])
def test_more_than_a_thousand_params_or_results_are_refused(tier: str, where: str) -> None:
    """Validation refuses 1,001 params or results with wasmtime's message."""
    import nanoproc

    config = nanoproc.Config()
    config.strategy = tier
    eng = nanoproc.Engine(config)
    kind = "param" if where == "params" else "result"
    body = "" if where == "params" else "(unreachable)"
    for n, ok in ((1000, True), (1001, False)):
        wat = f'(module (func (export "f") ({kind} {" ".join(["i32"] * n)}) {body}))'
        if ok:
            nanoproc.Module(eng, wat)
            continue
        word = "params" if where == "params" else "returns"
        with pytest.raises(nanoproc.WasmtimeError, match=f"function {word} size is out of bounds"):
            nanoproc.Module(eng, wat)
        with pytest.raises(nanoproc.WasmtimeError, match=f"function {word} size is out of bounds"):
            nanoproc.Module(eng, nanoproc.wat2wasm(wat))


# ---------------------------------------------------------------- 19.3
BAD_LIMITS = [
    (-1, None, "WasmtimeError"), (0, -1, "WasmtimeError"), (-1, 5, "WasmtimeError"),
    (2, 1, "WasmtimeError"), (1.5, None, "TypeError"), ("a", None, "TypeError"),
    (None, None, "TypeError"), (0, 1.0, "TypeError"), (1 << 32, None, "WasmtimeError"),
    (0, 1 << 64, "WasmtimeError"),
]


@pytest.mark.parametrize(("lo", "hi", "error"), BAD_LIMITS)
@pytest.mark.parametrize("kind", ["memory", "table"])
def test_bad_limits_are_refused_where_the_type_is_made(kind: str, lo: object, hi: object,
                                                         error: str) -> None:
    """Negative, inverted, non-integer or too large limits never make a type (memory
    and table: wasmtime-py's messages where it has one), so nothing later breaks."""
    import nanoproc

    def make() -> object:
        limits = nanoproc.Limits(lo, hi)  # type: ignore[arg-type]
        if kind == "memory":
            return nanoproc.MemoryType(limits)
        return nanoproc.TableType(nanoproc.ValType.funcref(), limits)

    with pytest.raises(getattr(nanoproc, error, None) or TypeError):
        make()


def test_inverted_limits_use_wasmtimes_messages() -> None:
    import nanoproc

    with pytest.raises(nanoproc.WasmtimeError,
                       match="maximum page size cannot be smaller than the minimum page size"):
        nanoproc.MemoryType(nanoproc.Limits(2, 1))
    with pytest.raises(nanoproc.WasmtimeError, match="failed to allocate TableType"):
        nanoproc.TableType(nanoproc.ValType.funcref(), nanoproc.Limits(2, 1))


@pytest.mark.parametrize("tier", TIERS)
def test_bools_are_sizes_and_a_refused_type_poisons_nothing(tier: str) -> None:
    """``Limits(True)`` is a size of 1 (wasmtime-py's ctypes reads it so), and after
    refused types every later memory and table in any store is fine (a memory of
    size -1 used to poison the reservation pool)."""
    code = PRELUDE + """
tier = sys.argv[1]
eng = engine(tier)
out = []
for _ in range(3):
    store = w.Store(eng)
    for bad in ((-1, None), (1, -1), (True, False)):
        try:
            w.Memory(store, w.MemoryType(w.Limits(*bad)))
            out.append("accepted")
        except (w.WasmtimeError, TypeError):
            pass
    m = w.Memory(store, w.MemoryType(w.Limits(True, None)))
    t = w.Table(store, w.TableType(w.ValType.funcref(), w.Limits(True, 3)), None)
    m2 = w.Memory(store, w.MemoryType(w.Limits(1, None)))
    m2.write(store, b"xyz", 10)
    out.append([m.size(store), t.size(store), m2.read(store, 10, 13).decode(), m2.grow(store, 1)])
    del store, m, t, m2
    gc.collect()
print(json.dumps(out))
"""
    assert run_isolated(code, tier) == [[1, 1, "xyz", 1]] * 3


# ---------------------------------------------------------------- 19.4
@pytest.mark.parametrize("tier", TIERS)
def test_fuel_is_a_full_u64(tier: str) -> None:
    """set_fuel(2**64 - 1), one call: get_fuel is 2**64 - 1 minus what the call used,
    as in wasmtime (llvm cut it to 2**63 - 1)."""
    import nanoproc

    config = nanoproc.Config()
    config.strategy = tier
    config.consume_fuel = True
    eng = nanoproc.Engine(config)
    store = nanoproc.Store(eng)
    inst = nanoproc.Instance(store, nanoproc.Module(eng, '(module (func (export "f") nop))'), [])
    store.set_fuel(2**64 - 1)
    inst.exports(store)["f"](store)
    assert store.get_fuel() == 2**64 - 2
    store.set_fuel(2**63 + 5)
    assert store.get_fuel() == 2**63 + 5
    inst.exports(store)["f"](store)
    assert store.get_fuel() == 2**63 + 4


# ---------------------------------------------------------------- 19.5
@pytest.mark.parametrize("tier", TIERS)
def test_a_hosts_recursion_error_passes_through(tier: str) -> None:
    """A host function's own RecursionError reaches the caller as itself, as in
    wasmtime; Python's stack running out in nanoproc's own code is the
    call-stack-exhausted trap, with the RecursionError as its cause."""
    code = PRELUDE + """
tier = sys.argv[1]
eng = engine(tier)
store = w.Store(eng)
def deep(n):
    return deep(n + 1)
mod = w.Module(eng, '''(module (import "h" "f" (func $f (param i32) (result i32)))
  (func (export "call") (result i32) (call $f (i32.const 0)))
  (func $r (export "recurse") (result i32) (i32.add (call $r) (i32.const 1))))''')
f = w.Func(store, w.FuncType([w.ValType.i32()], [w.ValType.i32()]), deep)
inst = w.Instance(store, mod, [f])
out = []
try:
    inst.exports(store)["call"](store)
except RecursionError as e:
    out.append(["host", type(getattr(e, "wasm_trap", None)).__name__])
try:
    inst.exports(store)["recurse"](store)
except w.Trap as t:
    cause = t.__cause__
    out.append(["own", t.trap_code.name, type(cause).__name__ if cause else None])
print(json.dumps(out))
"""
    host, own = run_isolated(code, tier)
    assert host == ["host", "Trap"]
    assert own[:2] == ["own", "STACK_OVERFLOW"]
    # interp's Wasm recursion is Python recursion (its cause is the RecursionError);
    # llvm's is native and checked natively (no Python exception to name).
    assert own[2] == ("RecursionError" if tier == "interp" else None)


# ---------------------------------------------------------------- 19.6
@pytest.mark.parametrize("tier", [*TIERS, "tiered"])
def test_closing_a_store_from_its_own_host_function_is_refused(tier: str) -> None:
    """``store.close()`` inside one of the store's host functions (directly, or with
    another store's code in between) raises a clear error and the call completes
    right; afterwards the store closes (interp raised NameError, llvm crashed). The
    tiered strategy switches tiers in the middle (it let the store close: found by
    tests/api/api_machine.py)."""
    code = PRELUDE + """
tier = sys.argv[1]
eng = engine(tier)
if tier == "tiered":
    eng.backend.switch_after = lambda module: 2
store = w.Store(eng)
other = w.Store(eng)
seen = []
def close_it():
    try:
        store.close()
        seen.append("closed")
    except w.WasmtimeError as e:
        seen.append(str(e))
mod = w.Module(eng, '''(module (import "h" "cb" (func $cb))
  (memory (export "mem") 1)
  (func (export "run") (result i32) (call $cb) (i32.store (i32.const 0) (i32.const 7))
    (i32.load (i32.const 0))))''')
inst = w.Instance(store, mod, [w.Func(store, w.FuncType([], []), close_it)])
run = inst.exports(store)["run"]
omod = w.Module(eng, '(module (import "h" "cb" (func $cb)) (func (export "run") (call $cb)))')
oinst = w.Instance(other, omod, [w.Func(other, w.FuncType([], []), close_it)])
results = [run(store) for _ in range(3)]
def via_other():
    oinst.exports(other)["run"](other)
inst2 = w.Instance(store, mod, [w.Func(store, w.FuncType([], []), via_other)])
results.append(inst2.exports(store)["run"](store))
store.close()
try:
    run(store)
except ValueError as e:
    results.append(str(e))
print(json.dumps([results, seen]))
"""
    results, seen = run_isolated(code, tier)
    assert results == [7, 7, 7, 7, "already closed"]
    assert seen == ["cannot close a store while its code is running "
                    "(from one of its host functions)"] * 4


# ---------------------------------------------------------------- 19.7
MISMATCHES = [
    ('(func (param i32) (result i64))', "func", "types incompatible: expected type "
     "`(func (param i32) (result i64))`, found type `(func (param i64))`"),
    ("(memory 2 3)", "memory", "memory types incompatible: expected memory limits "
     "(min: 2, max: 3) doesn't match provided memory limits (min: 1, max: none)"),
    ("(memory i64 1)", "memory", "memory types incompatible: expected 64-bit memory, "
     "found 32-bit memory"),
    ("(table 2 funcref)", "table", "table types incompatible: expected table limits "
     "(min: 2, max: none) doesn't match provided table limits (min: 1, max: none)"),
    ("(table 1 externref)", "table", "table types incompatible: expected table of type "
     "`externref`, found table of type `funcref`"),
    ("(global i64)", "global", "global types incompatible: expected global of type `i64`, "
     "found global of type `i32`"),
    ("(global (mut i32))", "global", "global types incompatible: expected mutable global, "
     "found immutable global"),
    ("(global i32)", "memory", "expected global, but found memory"),
]


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize(("imp", "give", "detail"), MISMATCHES)
def test_import_mismatches_say_what_was_expected_and_found(tier: str, imp: str, give: str,
                                                          detail: str) -> None:
    """The message names the expected and the found signature, limits, element type
    or mutability, in wasmtime's words."""
    import nanoproc as w

    config = w.Config()
    config.strategy = tier
    eng = w.Engine(config)
    store = w.Store(eng)
    ext = {
        "func": lambda: w.Func(store, w.FuncType([w.ValType.i64()], []), lambda *a: None),
        "memory": lambda: w.Memory(store, w.MemoryType(w.Limits(1, None))),
        "table": lambda: w.Table(store, w.TableType(w.ValType.funcref(), w.Limits(1, None)),
                                 None),
        "global": lambda: w.Global(store, w.GlobalType(w.ValType.i32(), False), 0),
    }[give]()
    mod = w.Module(eng, f'(module (import "a" "b" {imp}))')
    with pytest.raises(w.WasmtimeError) as info:
        w.Instance(store, mod, [ext])
    assert str(info.value) == f"incompatible import type for `a::b`: {detail}"


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("kind", ["fuel", "epoch"])
@pytest.mark.parametrize(("body", "offset"), [("", 34), ("(nop)", 34), ("(local i32) (nop)", 35),
                                               ("(local i32) (local i64) (nop)", 37)])
def test_an_interrupt_at_entry_reports_the_functions_entry(tier: str, kind: str, body: str,
                                                           offset: int) -> None:
    """Out of fuel or past the deadline on entering a function (even an empty one):
    the frame's offset is the one wasmtime reports (the last local declaration, or
    the body's start), not 0 or the first instruction's."""
    import nanoproc as w

    config = w.Config()
    config.strategy = tier
    setattr(config, "consume_fuel" if kind == "fuel" else "epoch_interruption", True)
    eng = w.Engine(config)
    store = w.Store(eng)
    inst = w.Instance(store, w.Module(eng, f'(module (func $pad nop) (func (export "f") {body}))'),
                      [])  # fmt: skip
    if kind == "fuel":
        store.set_fuel(0)
    else:
        store.set_epoch_deadline(0)
    with pytest.raises(w.Trap) as info:
        inst.exports(store)["f"](store)
    frame = info.value.frames[0]
    assert (frame.func_index, frame.module_offset) == (1, offset)


WIDE = PRELUDE + """
n = int(sys.argv[1])
kinds = ["i32", "i64", "f32", "f64", "externref"]
res = " ".join(kinds[i % 5] for i in range(n))
consts = " ".join("(ref.null extern)" if kinds[i % 5] == "externref"
                  else "(%s.const %d)" % (kinds[i % 5], i + 1) for i in range(n))
wat = f'''(module
  (type $t (func (param i32) (result {res})))
  (import "h" "host" (func $host (type $t)))
  (table 3 funcref) (elem (i32.const 0) $a $b $host)
  (func $a (type $t) {consts})
  (func $b (type $t)
    (if (result {res}) (local.get 0) (then (return_call $a (i32.const 0)))
      (else (call $a (i32.const 0)))))
  (func (export "direct") (result {res}) (call $b (i32.const 1)))
  (func (export "indirect") (param i32) (result {res})
    (call_indirect (type $t) (local.get 0) (local.get 0)))
  (func (export "tail") (param i32) (result {res})
    (return_call_indirect (type $t) (local.get 0) (local.get 0))))'''
vt = {"i32": w.ValType.i32(), "i64": w.ValType.i64(), "f32": w.ValType.f32(),
      "f64": w.ValType.f64(), "externref": w.ValType.externref()}
types = [kinds[i % 5] for i in range(n)]
token = object()
def host(k):
    return [token if t == "externref" else (i + k if t[0] == "i" else i + 0.5)
            for i, t in enumerate(types)]
out = []
for tier in ("interp", "llvm"):
    eng = engine(tier)
    store = w.Store(eng)
    f = w.Func(store, w.FuncType([w.ValType.i32()], [vt[t] for t in types]), host)
    ex = w.Instance(store, w.Module(eng, wat), [f]).exports(store)
    got = [ex["direct"](store), ex["indirect"](store, 0), ex["indirect"](store, 1),
           ex["tail"](store, 1), ex["indirect"](store, 2), ex["tail"](store, 2)]
    out.append([["token" if v is token else v for v in r] for r in got])
print(json.dumps([out[0] == out[1], len(out[1][0]), out[1][4][:5]]))
"""


@pytest.mark.parametrize("n", [17, 257])
def test_wide_results_through_every_kind_of_call(n: int) -> None:
    """Past 16 results the llvm tier returns results through memory, past 256 it
    compiles without optimisation: direct, indirect, tail and host calls agree with
    the interp tier on both sides of each threshold."""
    same, count, host = run_isolated(WIDE, str(n), timeout=600)
    assert same and count == n
    assert host == [2, 3, 2.5, 3.5, "token"]
