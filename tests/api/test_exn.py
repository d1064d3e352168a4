"""Wasm exceptions seen from the host, on every tier: uncaught exceptions with their
tag and payload, host functions throwing into Wasm code and exceptions passing
through them, exnref values crossing calls, globals and tables, and state restored
after every way out of a try region (the store keeps working)."""

from __future__ import annotations

import math
import struct

import pytest

import nanoproc as w

TIERS = ("interp", "llvm", "llvm-O2", "tiered")


@pytest.fixture(params=TIERS)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> w.Engine:
    strategy, _, opt = request.param.partition("-O")
    if strategy in ("llvm", "tiered"):
        pytest.importorskip("llvmlite", reason="llvmlite is not installed")
    monkeypatch.setenv("NANOPROC_LLVM_OPT", opt or "0")
    monkeypatch.setenv("NANOPROC_TIER_DELAY", "0")  # tiered: native code as soon as it is ready
    cfg = w.Config()
    cfg.strategy = strategy
    return w.Engine(cfg)


def _instance(engine: w.Engine, wat: str, imports: list | None = None,
              store: w.Store | None = None) -> tuple[w.Store, dict]:  # fmt: skip
    store = store or w.Store(engine)
    inst = w.Instance(store, w.Module(engine, wat), imports or [])
    return store, {name: inst.exports(store)[name] for name in _names(inst, store)}


def _names(inst: w.Instance, store: w.Store) -> list[str]:
    return [name for name, _ in inst.exports(store).items()]


BASIC = """
(module
  (tag $e (export "e") (param i32))
  (tag $pair (export "pair") (param i64 f64))
  (func (export "throw") (param i32) (throw $e (local.get 0)))
  (func (export "throw-pair") (param i64 f64) (throw $pair (local.get 0) (local.get 1)))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (throw $e (local.get 0)))
      (i32.const -1)))
  (func (export "ref") (param i32) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw $e (local.get 0)))
      (ref.null exn)))
  (func (export "rethrow") (param exnref) (throw_ref (local.get 0)))
  (func (export "payload") (param exnref) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (throw_ref (local.get 0)))
      (i32.const -1)))
)
"""


def test_uncaught_exception_has_tag_and_payload(engine: w.Engine) -> None:
    store, ex = _instance(engine, BASIC)
    for v in (7, 0xFFFF_FFFF):
        with pytest.raises(w.ThrownException) as info:
            ex["throw"](store, v)
        exn = info.value.exn(store)
        assert exn.tag(store).eq(store, ex["e"])
        assert exn.fields(store) == [struct.unpack("<i", struct.pack("<I", v))[0]]
        assert "thrown Wasm exception" in str(info.value)  # wasmtime-py: backtrace first
    with pytest.raises(w.ThrownException) as info:
        ex["throw-pair"](store, -5, 2.5)
    assert info.value.exn(store).fields(store) == [-5, 2.5]
    assert ex["catch"](store, 11) == 11


def test_exnref_round_trip(engine: w.Engine) -> None:
    store, ex = _instance(engine, BASIC)
    exn = ex["ref"](store, 99)
    assert isinstance(exn, w.ExnRef)
    assert exn.fields(store) == [99]
    assert ex["payload"](store, exn) == 99
    with pytest.raises(w.ThrownException) as info:
        ex["rethrow"](store, exn)
    assert info.value.exn(store).fields(store) == [99]
    with pytest.raises(w.Trap, match="null exception reference"):
        ex["rethrow"](store, None)
    made = w.ExnRef(store, ex["e"], [5])
    assert ex["payload"](store, made) == 5


HOST = """
(module
  (import "host" "f" (func $f (param i32) (result i32)))
  (import "host" "tag" (tag $t (param i32)))
  (tag $own (param i32))
  (func (export "call") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $t $h) (return (call $f (local.get 0))))
      (i32.const -1))
    (i32.const 1000) (i32.add))
  (func (export "call-all") (param i32) (result i32)
    (block $h
      (try_table (catch_all $h) (return (call $f (local.get 0)))))
    (i32.const -2))
  (func (export "inner") (param i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $t (i32.const 77))))
    (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $own (i32.const 78))))
    (if (i32.eq (local.get 0) (i32.const 3)) (then unreachable))
    (local.get 0))
)
"""


def _host_setup(engine: w.Engine, behaviour):  # type: ignore[no-untyped-def]
    store = w.Store(engine)
    tag = w.Tag(store, w.TagType(w.FuncType([w.ValType.i32()], [])))
    box: dict = {}

    def f(x: int) -> int:
        return behaviour(box, store, tag, x)

    fn = w.Func(store, w.FuncType([w.ValType.i32()], [w.ValType.i32()]), f)
    inst = w.Instance(store, w.Module(engine, HOST), [fn, tag])
    ex = inst.exports(store)
    box["inner"] = ex["inner"]
    return store, ex, tag


def test_host_function_throws_into_wasm(engine: w.Engine) -> None:
    def behaviour(box, store, tag, x):  # type: ignore[no-untyped-def]
        if x >= 0:
            raise w.ThrownException(w.ExnRef(store, tag, [x * 2]))
        return x

    store, ex, tag = _host_setup(engine, behaviour)
    for _ in range(3):
        assert ex["call"](store, 21) == 1042  # caught in Wasm: the payload, +1000
        assert ex["call"](store, -3) == -3  # returned as it is
        assert ex["call-all"](store, 5) == -2


def test_exception_passes_through_host_function(engine: w.Engine) -> None:
    def behaviour(box, store, tag, x):  # type: ignore[no-untyped-def]
        return box["inner"](store, x)  # a Wasm exception propagates out of the host

    store, ex, tag = _host_setup(engine, behaviour)
    for _ in range(3):
        assert ex["call"](store, 1) == 1077  # thrown inside, caught outside
        with pytest.raises(w.ThrownException):
            ex["call"](store, 2)  # another tag: passes both
        assert ex["call-all"](store, 2) == -2
        with pytest.raises(w.Trap) as info:
            ex["call"](store, 3)  # a trap is not an exception: no handler sees it
        assert not isinstance(info.value, w.ThrownException)
        assert ex["call"](store, 9) == 9


def test_host_function_catches_wasm_exception(engine: w.Engine) -> None:
    def behaviour(box, store, tag, x):  # type: ignore[no-untyped-def]
        try:
            return box["inner"](store, x)
        except w.ThrownException as e:
            return 500 + e.exn(store).fields(store)[0]

    store, ex, tag = _host_setup(engine, behaviour)
    for _ in range(3):
        assert ex["call"](store, 1) == 577  # the host's result, returned as it is
        assert ex["call"](store, 2) == 578


REFS = """
(module
  (type $ft (func (param exnref) (result exnref)))
  (import "host" "id" (func $id (type $ft)))
  (tag $e (export "e") (param i32 i64 f32 f64 funcref externref exnref))
  (tag $s (export "s") (param i32))
  (global $g (export "g") (mut exnref) (ref.null exn))
  (table $t (export "t") 4 exnref)
  (func $k (export "k") (result i32) (i32.const 5))
  (elem declare func $k)
  (func (export "make") (param i32 externref) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h)
        (throw $e (local.get 0) (i64.const -1) (f32.const nan:0x123) (f64.const -0.5)
                  (ref.func $k) (local.get 1)
                  (block $i (result exnref)
                    (try_table (catch_all_ref $i) (throw $s (i32.const 3)))
                    (unreachable))))
      (ref.null exn)))
  (func (export "store") (param exnref)
    (global.set $g (local.get 0))
    (table.set $t (i32.const 1) (local.get 0)))
  (func (export "unpack") (param exnref) (result i32 i64 f32 f64 funcref externref exnref)
    (block $h (result i32 i64 f32 f64 funcref externref exnref)
      (try_table (catch $e $h) (throw_ref (local.get 0)))
      (unreachable)))
  (func (export "from-global") (result i32)
    (block $h (result i32 i64 f32 f64 funcref externref exnref)
      (try_table (catch $e $h) (throw_ref (global.get $g)))
      (unreachable))
    (drop) (drop) (drop) (drop) (drop) (drop))
  (func (export "from-table") (param i32) (result i32)
    (block $h (result i32 i64 f32 f64 funcref externref exnref)
      (try_table (catch $e $h) (throw_ref (table.get $t (local.get 0))))
      (unreachable))
    (drop) (drop) (drop) (drop) (drop) (drop))
  (func (export "through-host") (param exnref) (result exnref)
    (call $id (local.get 0)))
)
"""


def test_exnref_values_everywhere(engine: w.Engine) -> None:
    store = w.Store(engine)
    seen = []

    def ident(x):  # type: ignore[no-untyped-def]
        seen.append(x)
        return x

    ft = w.FuncType([w.ValType.exnref()], [w.ValType.exnref()])
    inst = w.Instance(store, w.Module(engine, REFS), [w.Func(store, ft, ident)])
    ex = inst.exports(store)
    marker = object()
    exn = ex["make"](store, 41, marker)
    fields = exn.fields(store)
    assert fields[0] == 41 and fields[1] == -1
    assert math.isnan(fields[2]) and fields[3] == -0.5
    assert fields[4](store) == 5
    assert fields[5] is marker
    assert fields[6].fields(store) == [3]
    vals = ex["unpack"](store, exn)
    assert vals[0] == 41 and vals[5] is marker and vals[6].fields(store) == [3]
    ex["store"](store, exn)
    assert ex["g"].value(store).fields(store)[0] == 41
    assert ex["t"].get(store, 1).fields(store)[0] == 41
    assert ex["from-global"](store) == 41
    assert ex["from-table"](store, 1) == 41
    ex["g"].set_value(store, w.Val.exnref(w.ExnRef(store, ex["e"], [8, 1, 0.0, 0.0, None, None, None])))
    assert ex["from-global"](store) == 8
    ex["t"].set(store, 2, w.ExnRef(store, ex["e"], [9, 1, 0.0, 0.0, None, None, None]))
    assert ex["from-table"](store, 2) == 9
    back = ex["through-host"](store, exn)
    assert back.fields(store)[0] == 41 and len(seen) == 1
    with pytest.raises(w.Trap, match="null exception reference"):
        ex["from-table"](store, 0)


RESTORE = """
(module
  (tag $e (param i32))
  (func $thrower (param i32) (result i32)
    (if (local.get 0) (then (throw $e (local.get 0))))
    (i32.const 0))
  (func $rec (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get 0) (i32.const 1)))))))
  ;; every way out of a try region: the handler must not outlive it
  (func (export "trap-inside") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (if (local.get 0) (then unreachable))
        (drop (call $rec (i32.const 100000000))))
      (i32.const -1)))
  (func (export "branch-out") (param i32) (result i32)
    (block $out
      (block $h (result i32)
        (try_table (catch $e $h)
          (br_if $out (local.get 0))
          (br_table $out $out (i32.const 0)))
        (i32.const -1))
      (return))
    (call $thrower (i32.const 5)))
  (func (export "return-out") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (return (i32.const 3)))
      (i32.const -1)))
  (func $tail (result i32) (return_call $thrower (i32.const 6)))
  (func (export "tail-out") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (return_call $tail))
      (i32.const -1)))
  (func (export "throw") (result i32) (call $thrower (i32.const 9)))
)
"""


def test_every_way_out_of_a_try_region_restores_the_handlers(engine: w.Engine) -> None:
    store, ex = _instance(engine, RESTORE)
    for _ in range(3):
        with pytest.raises(w.Trap) as info:
            ex["trap-inside"](store, 1)
        assert info.value.trap_code == w.TrapCode.UNREACHABLE
        with pytest.raises(w.Trap) as info:
            ex["trap-inside"](store, 0)  # call stack exhausted inside the region
        assert info.value.trap_code == w.TrapCode.STACK_OVERFLOW
        for flag in (0, 1):
            with pytest.raises(w.ThrownException):
                ex["branch-out"](store, flag)  # the handler was left: not caught
        assert ex["return-out"](store) == 3
        with pytest.raises(w.ThrownException):
            ex["tail-out"](store)  # a tail call leaves the region with its frame
        with pytest.raises(w.ThrownException):
            ex["throw"](store)


FUEL = """
(module
  (tag $e (param i32))
  (func $t (param i32) (throw $e (local.get 0)))
  (func (export "run") (param i32) (result i32) (local $s i32)
    (loop $l
      (block $h (result i32)
        (try_table (catch $e $h) (call $t (local.get 0)) (nop))
        (i32.const 0))
      (local.set $s (i32.add (local.get $s)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get $s))
  (func (export "legacy") (param i32) (result i32)
    (try (result i32)
      (do (call $t (local.get 0)) (i32.const 1))
      (catch $e (i32.const 2) (i32.add))
      (catch_all (i32.const 3))))
)
"""


@pytest.mark.parametrize("tier", ["interp", "llvm"])
def test_fuel_of_throwing_code_is_the_same_in_every_tier(tier: str) -> None:
    if tier == "llvm":
        pytest.importorskip("llvmlite", reason="llvmlite is not installed")
    used = {}
    for t in ("interp", tier):
        cfg = w.Config()
        cfg.strategy = t
        cfg.consume_fuel = True
        engine = w.Engine(cfg)
        store = w.Store(engine)
        store.set_fuel(1_000_000)
        ex = w.Instance(store, w.Module(engine, FUEL), []).exports(store)
        assert ex["run"](store, 10) == 55
        assert ex["legacy"](store, 4) == 6
        used[t] = 1_000_000 - store.get_fuel()
    assert used[tier] == used["interp"]


V128 = """
(module
  (tag $v (export "v") (param v128 i32))
  (func (export "catch") (param i32) (result v128 i32)
    (block $h (result v128 i32)
      (try_table (catch $v $h) (throw $v (v128.const i32x4 1 2 3 4) (local.get 0)))
      (unreachable)))
  (func (export "uncaught") (throw $v (v128.const i64x2 -1 7) (i32.const 9))))
"""


def test_v128_payloads(engine: w.Engine) -> None:
    """Tags with v128 parameters (the llvm tier refuses SIMD modules by name until it
    runs SIMD; the tiered strategy then stays on the interp tier)."""
    try:
        store, ex = _instance(engine, V128)
    except w.WasmtimeError as e:  # the llvm tier without SIMD
        assert "simd" in str(e)
        return
    assert ex["catch"](store, 5) == [1 | 2 << 32 | 3 << 64 | 4 << 96, 5]
    with pytest.raises(w.ThrownException) as info:
        ex["uncaught"](store)
    assert info.value.exn(store).fields(store) == [(7 << 64) | (2**64 - 1), 9]


def test_serialized_module_throws_and_catches(engine: w.Engine) -> None:
    """An AOT artifact (Module.serialize) of a module with exceptions runs them."""
    data = w.Module(engine, BASIC).serialize()
    module = w.Module.deserialize(engine, data)
    store = w.Store(engine)
    ex = w.Instance(store, module, []).exports(store)
    assert ex["catch"](store, 41) == 41
    with pytest.raises(w.ThrownException) as info:
        ex["throw"](store, 3)
    assert info.value.exn(store).fields(store) == [3]


GC_PAYLOAD = """
(module
  (type $s (struct (field (mut i32)) (field (ref null $s))))
  (tag $t (param (ref null $s) i32))
  (global $keep (mut exnref) (ref.null exn))
  (func $churn (param i32)
    (loop $l
      (drop (struct.new $s (local.get 0) (ref.null $s)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "stash") (param i32)
    (global.set $keep
      (block $h (result exnref)
        (try_table (catch_all_ref $h)
          (throw $t (struct.new $s (local.get 0) (struct.new $s (i32.const 77) (ref.null $s)))
                    (i32.const 5)))
        (ref.null exn))))
  (func (export "check") (param i32) (result i32) (local $r (ref null $s))
    (call $churn (local.get 0))
    (block $h (result (ref null $s) i32)
      (try_table (catch $t $h) (throw_ref (global.get $keep)))
      (unreachable))
    (drop)
    (local.set $r)
    (i32.add (struct.get $s 0 (local.get $r))
             (struct.get $s 0 (struct.get $s 1 (local.get $r))))))
"""


def test_gc_references_in_payloads_survive_collections(engine: w.Engine) -> None:
    """A struct (and the struct it points to) reachable only through a kept
    exception's payload lives through allocation churn and Store.gc()."""
    store, ex = _instance(engine, GC_PAYLOAD)
    ex["stash"](store, 1000)
    for _ in range(3):
        assert ex["check"](store, 20_000) == 1077
        store.gc()
