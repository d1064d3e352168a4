"""v128 values across the API, on both tiers (beyond wasmtime-py, which cannot pass them):
parameters and results (alone and among others), host functions taking and returning
them, globals, tables of functions with v128 signatures, calls across instances, and
the failure paths (bad values, a host function raising, a trap), each followed by a
call that must still work."""

from __future__ import annotations

from typing import Any

import pytest

import nanoproc as np

M128 = (1 << 128) - 1
BIG = 0x8000_0000_0000_0001_FFFF_FFFF_0000_0002
TIERS = ["interp", "llvm"]


def _store(tier: str) -> Any:
    if tier == "llvm":
        pytest.importorskip("llvmlite")
    cfg = np.Config()
    cfg.strategy = tier
    return np.Store(np.Engine(cfg))


V = np.ValType.v128()
I32 = np.ValType.i32()
F32 = np.ValType.f32()

MODULE = """
(module
  (import "host" "twist" (func $twist (param v128 i32) (result v128 i32 v128)))
  (type $vv (func (param v128) (result v128)))
  (table (export "table") 2 funcref)
  (elem (i32.const 0) func $dup $neg)
  (global $g (export "g") (mut v128) (v128.const i64x2 1 2))
  (func $dup (type $vv) (i8x16.shuffle 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 (local.get 0) (local.get 0)))
  (func $neg (type $vv) (i32x4.neg (local.get 0)))
  (func (export "id") (param v128) (result v128) (local.get 0))
  (func (export "add") (param v128 v128) (result v128) (i64x2.add (local.get 0) (local.get 1)))
  (func (export "mixed") (param i32 v128 f32 v128) (result f32 v128 i32 v128)
    (local.get 2) (local.get 3) (local.get 0) (local.get 1))
  (func (export "twist") (param v128 i32) (result v128 i32 v128)
    (call $twist (local.get 0) (local.get 1)))
  (func (export "indirect") (param v128 i32) (result v128)
    (call_indirect (type $vv) (local.get 0) (local.get 1)))
  (func (export "get_g") (result v128) (global.get $g))
  (func (export "set_g") (param v128) (global.set $g (local.get 0)))
  (func (export "lane") (param v128) (result i64) (i64x2.extract_lane 1 (local.get 0)))
)
"""


def _instance(tier: str, twist: Any = None) -> tuple[Any, Any]:
    store = _store(tier)
    ft = np.FuncType([V, I32], [V, I32, V])
    host = np.Func(store, ft, twist or (lambda v, n: (v ^ M128, n + 1, (v << 8) & M128)))
    inst = np.Instance(store, np.Module(store.engine, MODULE), [host])
    return store, inst.exports(store)


@pytest.mark.parametrize("tier", TIERS)
def test_params_and_results(tier: str) -> None:
    store, ex = _instance(tier)
    assert ex["id"](store, BIG) == BIG
    assert ex["id"](store, -1) == M128  # wrapped to 128 bits
    assert ex["id"](store, np.Val.v128(BIG)) == BIG
    assert ex["id"](store, BIG.to_bytes(16, "little")) == BIG  # 16 bytes in memory order
    assert ex["add"](store, M128, 1) == M128 ^ ((1 << 64) - 1)  # lane 0 wraps, alone
    assert ex["lane"](store, BIG) == -0x7FFF_FFFF_FFFF_FFFF  # signed i64, as wasmtime-py
    assert ex["mixed"](store, 7, BIG, 1.5, 3) == [1.5, 3, 7, BIG]


@pytest.mark.parametrize("tier", TIERS)
def test_host_functions(tier: str) -> None:
    seen = []

    def twist(v: int, n: int) -> tuple[int, int, int]:
        seen.append((v, n))
        return v ^ M128, n + 1, np.Val.v128(b"\x01" * 16)

    store, ex = _instance(tier, twist)
    r = ex["twist"](store, BIG, 41)
    assert seen == [(BIG, 41)]
    assert r == [BIG ^ M128, 42, int.from_bytes(b"\x01" * 16, "little")]


@pytest.mark.parametrize("tier", TIERS)
def test_globals(tier: str) -> None:
    store, ex = _instance(tier)
    g = ex["g"]
    assert g.type(store).content == V
    assert g.value(store) == 1 | (2 << 64)
    g.set_value(store, BIG)
    assert ex["get_g"](store) == BIG
    ex["set_g"](store, 5)
    assert g.value(store) == 5
    own = np.Global(store, np.GlobalType(V, False), np.Val.v128(b"\xff" * 16))
    assert own.value(store) == M128


@pytest.mark.parametrize("tier", TIERS)
def test_tables_and_imported_functions(tier: str) -> None:
    store, ex = _instance(tier)
    lo = 0x0706050403020100
    assert ex["indirect"](store, lo, 0) == lo | (lo << 64)
    assert ex["indirect"](store, 1, 1) == (1 << 32) - 1
    neg = ex["table"].get(store, 1)
    assert neg(store, 1) == (1 << 32) - 1
    # another instance imports a function with a v128 signature
    other = np.Module(store.engine, """(module
      (import "m" "id" (func $id (param v128) (result v128)))
      (func (export "twice") (param v128) (result v128) (call $id (call $id (local.get 0)))))""")
    inst = np.Instance(store, other, [ex["id"]])
    assert inst.exports(store)["twice"](store, BIG) == BIG


@pytest.mark.parametrize("tier", TIERS)
def test_failures_leave_the_store_usable(tier: str) -> None:
    calls = {"n": 0}

    def twist(v: int, n: int) -> Any:
        calls["n"] += 1
        if n == 0:
            raise ValueError("host refuses")
        if n == 1:
            return (v, n, "not a vector")
        return (v, n, v)

    store, ex = _instance(tier, twist)
    with pytest.raises(ValueError, match="host refuses"):
        ex["twist"](store, BIG, 0)
    with pytest.raises(TypeError):
        ex["twist"](store, BIG, 1)
    with pytest.raises(ValueError, match="16 bytes"):
        ex["id"](store, b"short")
    with pytest.raises(TypeError):
        ex["id"](store, 1.5)
    with pytest.raises(TypeError):
        ex["id"](store, np.Val.i32(1))
    with pytest.raises(np.Trap):
        ex["indirect"](store, BIG, 7)  # out of the table
    assert ex["twist"](store, BIG, 2) == [BIG, 2, BIG]
    assert ex["id"](store, BIG) == BIG
    assert calls["n"] == 3


def test_val() -> None:
    v = np.Val.v128(BIG)
    assert v.type == V and v.value == BIG
    assert np.Val.v128(BIG.to_bytes(16, "little")) == v
    assert np.Val.v128(-1).value == M128
    with pytest.raises(ValueError):
        np.Val.v128(bytes(15))
    with pytest.raises(TypeError):
        np.Val.v128(1.0)  # type: ignore[arg-type]


WIDE_TYPES = ["i32", "v128", "f64", "v128", "i64", "f32"] * 3  # 18 results, 6 v128


def _wide_value(i: int, t: str) -> str:
    """Result ``i`` of $own: made from its parameter, so that no two are alike."""
    if t == "v128":  # lanes: the parameter, then -i
        return (f"(i64x2.replace_lane 1 (i64x2.splat (i64.extend_i32_u (local.get 0)))"
                f" (i64.const -{i}))")
    if t == "i32":
        return f"(i32.add (local.get 0) (i32.const {i}))"
    if t == "i64":
        return f"(i64.add (i64.extend_i32_u (local.get 0)) (i64.const {i}))"
    return f"({t}.add ({t}.convert_i32_u (local.get 0)) ({t}.const {i}.5))"


WIDE = f"""(module
  (import "host" "many" (func $host (param i32) (result {' '.join(WIDE_TYPES)})))
  (type $t (func (param i32) (result {' '.join(WIDE_TYPES)})))
  (table 2 funcref)
  (elem (i32.const 0) func $own $host)
  (func $own (type $t) {' '.join(_wide_value(i, t) for i, t in enumerate(WIDE_TYPES))})
  (func (export "own") (type $t) (call $own (local.get 0)))
  (func (export "indirect") (type $t) (call_indirect (type $t) (local.get 0) (local.get 0)))
  (func (export "tail") (type $t) (return_call_indirect (type $t) (local.get 0) (local.get 0)))
  (func (export "last") (param i32) (result v128) (local $v v128)
    (call $own (local.get 0)) drop drop (local.set $v)  ;; result 15
    {' '.join('drop' for _ in range(15))} (local.get $v)))"""


def _wide_host(k: int) -> list[Any]:
    return [(i << 64) | k if t == "v128" else (k + i if t[0] == "i" else i + 0.5)
            for i, t in enumerate(WIDE_TYPES)]


@pytest.mark.parametrize("tier", TIERS)
def test_v128_among_many_results(tier: str) -> None:
    """More than 16 results go through 8-byte slots of memory in the llvm tier, a
    v128 in two of them: from Wasm to Python, Wasm to Wasm (direct, indirect, tail
    calls) and from a host function to Wasm, equal to the interp tier's."""
    results: dict[str, Any] = {}
    for t in ("interp", tier):
        store = _store(t)
        vt = {"i32": I32, "i64": np.ValType.i64(), "f32": F32, "f64": np.ValType.f64(),
              "v128": V}
        host = np.Func(store, np.FuncType([I32], [vt[x] for x in WIDE_TYPES]), _wide_host)
        ex = np.Instance(store, np.Module(store.engine, WIDE), [host]).exports(store)
        results[t] = [list(ex["own"](store, 3)), list(ex["own"](store, 4)),
                      list(ex["indirect"](store, 0)), list(ex["indirect"](store, 1)),
                      list(ex["tail"](store, 1)), list(ex["tail"](store, 0)),
                      ex["last"](store, 5)]
    got = results[tier]
    assert got == results["interp"]
    m64 = (1 << 64) - 1
    assert got[0][:4] == [3, ((-1 & m64) << 64) | 3, 5.5, ((-3 & m64) << 64) | 3]
    assert got[3] == _wide_host(1)  # the host function's, through call_indirect
    assert got[6] == ((-15 & m64) << 64) | 5
