"""Deeply nested control flow for both tiers' tests (issues 10 and 20): the shapes
that exceeded CPython's limits in the interp tier or the frame estimate in the llvm
tier, and a generator of random deep nesting with branches out of it, all run side
by side with wasmtime-py (results and fuel)."""

from __future__ import annotations

import random
from typing import Any


def value_blocks_br_if(n: int) -> str:
    """``n`` nested value blocks; the innermost ``br_if``s to the level named by the
    argument (or falls through with 999)."""
    opens = "".join(f"(block $b{i} (result i32) " for i in range(n))
    inner = "".join(f"(drop (br_if $b{i} (i32.const {i}) (i32.eq (local.get 0) (i32.const {i}))))"
                    for i in range(n))
    return f'(module (func (export "f") (param i32) (result i32) {opens} {inner} (i32.const 999) {")" * n}))'


def counted_loops(n: int) -> str:
    """``n`` nested counted loops; the three innermost run three times, the others once;
    the innermost counts its iterations."""
    locs = " ".join(["i32"] * (n + 1))
    s = f"(local.set {n} (i32.add (local.get {n}) (i32.const 1)))"
    for i in reversed(range(n)):
        times = 3 if i >= n - 3 else 1
        s = (f"(local.set {i} (i32.const 0)) (loop $l{i} {s} "
             f"(local.set {i} (i32.add (local.get {i}) (i32.const 1))) "
             f"(br_if $l{i} (i32.lt_u (local.get {i}) (i32.const {times}))))")
    return f'(module (func (export "f") (result i32) (local {locs}) {s} (local.get {n})))'


def nested_ifs_out(n: int) -> str:
    """``n`` nested ifs (entered while the second argument allows); the innermost
    br_table leaves to the level named by the first argument."""
    s = "(br_table " + " ".join(f"$i{k}" for k in range(n)) + " (local.get 0))"
    for k in reversed(range(n)):
        s = (f"(if $i{k} (i32.ge_u (local.get 1) (i32.const {k})) (then {s} "
             f"(local.set 2 (i32.add (local.get 2) (i32.const {k + 1})))))")
    return f'(module (func (export "f") (param i32 i32) (result i32) (local i32) {s} (local.get 2)))'


def many_nested_ifs(n: int) -> str:
    """``n`` nested ifs; the innermost sets 42 unless the argument stops it."""
    s = "(local.set 1 (i32.const 42))"
    for k in range(n):
        s = f"(if (i32.ne (local.get 0) (i32.const {k + 1})) (then {s}))"
    return f'(module (func (export "f") (param i32) (result i32) (local i32) {s} (local.get 1)))'


def store_then_deep(n: int) -> str:
    """An export that stores to memory, then calls a function of ``n`` nested ifs
    (a tier that refused the callee would do so after the store)."""
    s = "(local.set 1 (i32.const 42))"
    for k in range(n):
        s = f"(if (i32.ne (local.get 0) (i32.const {k + 1})) (then {s}))"
    return ('(module (memory (export "m") 1) '
            f'(func $deep (param i32) (result i32) (local i32) {s} (local.get 1)) '
            '(func (export "f") (param i32) (result i32) '
            '(i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1))) '
            '(call $deep (local.get 0))))')


def nested_blocks(n: int) -> str:
    """``n`` nested value blocks; the innermost branches to the outermost."""
    return ('(module (func (export "f") (result i32) (block $out (result i32) '
            + "(block (result i32) " * (n - 1) + "(br $out (i32.const 7))" + ")" * n + "))")


def switch(n: int) -> str:
    """``n`` nested blocks and a br_table (a C switch as clang lowers it); case i
    returns i, anything past the last case n - 1."""
    cases = " ".join(str(i) for i in range(n))
    s = f"(local.get 0) (br_table {cases} {n - 1})"
    for i in range(n):
        s = f"(block {s}) (i32.const {i}) (return)"
    return f'(module (func (export "f") (param i32) (result i32) {s} (i32.const -1)))'


# ---------------------------------------------------------------- random deep nesting
class _Gen:
    """A random function ``(param i32 i32) (result i32)`` nested ``depth`` deep: value
    blocks, counted loops and ifs, with br, br_if and br_table out of them carrying
    values; ``acc`` (local 2) mixes in everything that runs."""

    def __init__(self, rng: random.Random, depth: int) -> None:
        self.rng = rng
        self.depth = depth
        self.loops = 0
        self.labels: list[str] = []
        """Kinds of the enclosing labels, innermost last ("b": carries an i32)."""

    def mix(self, k: int) -> str:
        return (f"(local.set 2 (i32.add (i32.mul (local.get 2) (i32.const 31)) "
                f"(i32.const {k})))")

    def exit_branch(self) -> str:
        """A conditional branch out to a value-carrying label, or nothing."""
        rng = self.rng
        targets = [d for d, kind in enumerate(reversed(self.labels)) if kind == "b"]
        if not targets or rng.random() < 0.8:
            return ""
        bit = rng.randrange(16)
        cond = f"(i32.and (i32.shr_u (i32.xor (local.get 2) (local.get 0)) (i32.const {bit})) (i32.const 1))"
        # (inside the ``if`` of the first two forms, depths count one more label)
        if rng.random() < 0.3 and len(targets) > 1:
            picks = [rng.choice(targets) + 1 for _ in range(rng.randrange(1, 6))]
            table = " ".join(str(d) for d in picks)
            return (f"(if {cond} (then (br_table {table} {rng.choice(targets) + 1} "
                    f"(local.get 2) (i32.and (local.get 1) (i32.const 7)))))")
        d = rng.choice(targets)
        if rng.random() < 0.5:
            return f"(if {cond} (then (br {d + 1} (local.get 2))))"
        return f"(drop (br_if {d} (local.get 2) {cond}))"

    def construct(self, level: int) -> str:
        """Code leaving one i32 on the stack."""
        rng = self.rng
        k = rng.randrange(1000)
        if level >= self.depth:
            return f"{self.mix(k)} {self.exit_branch()} (local.get 2)"
        kind = rng.choice("bbli")
        pre = self.mix(k) if rng.random() < 0.7 else ""
        if kind == "b":
            self.labels.append("b")
            first = self.exit_branch()
            inner = self.construct(level + 1)
            self.labels.pop()
            return f"{pre} (block (result i32) {first} {inner})"
        if kind == "l":
            counter = f"$c{self.loops}"
            self.loops += 1
            self.labels.append("l")
            inner = self.construct(level + 1)
            self.labels.pop()
            times = rng.randrange(1, 3)
            return (f"{pre} (local.set {counter} (i32.const 0)) (loop (result i32) "
                    f"(local.set {counter} (i32.add (local.get {counter}) (i32.const 1))) "
                    f"{inner} (drop) (br_if 0 (i32.lt_u (local.get {counter}) (i32.const {times}))) "
                    f"(local.get 2))")
        self.labels.append("b")
        then = self.construct(level + 1)
        # the other arm stays shallow: the function grows linearly with the depth
        other = self.construct(self.depth - 1) if rng.random() < 0.5 else "(local.get 2)"
        self.labels.pop()
        bit = rng.randrange(12)
        return (f"{pre} (if (result i32) (i32.and (i32.shr_u (local.get 2) (i32.const {bit})) "
                f"(i32.const 1)) (then {then}) (else {other}))")

    def module(self) -> str:
        body = self.construct(0)
        counters = "".join(f" (local $c{i} i32)" for i in range(self.loops))
        return (f'(module (func (export "f") (param i32 i32) (result i32) (local i32){counters} '
                f"(local.set 2 (local.get 0)) {body} (i32.add (local.get 2))))")


def random_deep(seed: int, depth: int) -> str:
    return _Gen(random.Random(seed), depth).module()


# ---------------------------------------------------------------- the oracle
FUEL = 10**8
"""Fuel given to every deep-case run (ample: the cases end on their own)."""


def shapes() -> list[tuple[str, str, list[tuple[int, ...]]]]:
    """The deep shapes both tiers run against wasmtime-py: (name, WAT, calls)."""
    return [
        ("value blocks", value_blocks_br_if(25), [(0,), (12,), (24,), (30,)]),
        ("counted loops", counted_loops(25), [()]),
        ("ifs branching out", nested_ifs_out(25),
         [(0, 30), (10, 30), (24, 30), (3, 2), (99, 99)]),  # fmt: skip
        ("3,000 nested ifs", many_nested_ifs(3000), [(0,), (1,), (1500,), (3000,)]),
        ("switch", switch(2000), [(0,), (1,), (1999,), (5000,)]),
    ]


def wasmtime_run(wasm: bytes, calls: list[tuple[Any, ...]], fuel: int | None = None,
                 export: str = "f") -> list[Any]:
    """Results (or "trap") of calling ``export`` with each argument tuple in wasmtime-py,
    and, with ``fuel``, the fuel left after each call."""
    import wasmtime

    cfg = wasmtime.Config()
    if fuel is not None:
        cfg.consume_fuel = True
    eng = wasmtime.Engine(cfg)
    store = wasmtime.Store(eng)
    if fuel is not None:
        store.set_fuel(fuel)
    inst = wasmtime.Instance(store, wasmtime.Module(eng, wasm), [])
    func = inst.exports(store)[export]
    out: list[Any] = []
    for args in calls:
        try:
            r: Any = func(store, *args)
        except wasmtime.Trap:
            r = "trap"
        out.append((r, store.get_fuel()) if fuel is not None else r)
    return out


def nanoproc_run(wasm: bytes, calls: list[tuple[Any, ...]], strategy: str,
                 fuel: int | None = None, export: str = "f") -> list[Any]:
    """The same through nanoproc's API on ``strategy``."""
    import nanoproc

    cfg = nanoproc.Config()
    cfg.strategy = strategy
    if fuel is not None:
        cfg.consume_fuel = True
    eng = nanoproc.Engine(cfg)
    store = nanoproc.Store(eng)
    if fuel is not None:
        store.set_fuel(fuel)
    inst = nanoproc.Instance(store, nanoproc.Module(eng, wasm), [])
    func = inst.exports(store)[export]
    out: list[Any] = []
    for args in calls:
        try:
            r: Any = func(store, *args)
        except nanoproc.Trap:
            r = "trap"
        out.append((r, store.get_fuel()) if fuel is not None else r)
    return out
