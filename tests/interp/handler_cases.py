"""Functions whose exception handlers nest deeper than CPython's 20 static blocks,
around more nested loops than CPython allows (the shape of CPython-for-WASI's
setjmp/longjmp lowering), for tests/interp/test_interp_flat_handlers.py.

``f(a, b)``: ``a`` picks what the innermost code does, ``b`` a level:

* 0: nothing (the value falls out through every level);
* 1: a callee throws tag ``b`` (caught at level ``b``, or by a catch_all on the way);
* 2: the host function throws tag ``b`` (modules with ``host=True``);
* 3: a trap (integer division by zero) under every level;
* 4: a branch (br_table) out to level ``b``;
* 5: ``throw`` of tag ``b`` in the function itself;
* 6: a callee throws a tag no level names (kept by the catch_all of level ``b``, if
  it has one; else uncaught);
* 7: the host function calls back into Wasm, which throws tag ``b``.

Each level adds to a global on the way in, so side effects before an exception
show; each catch adds its level's constant to the payload.
"""

from __future__ import annotations

ACTIONS = range(8)


def _tags(n: int, host: bool) -> list[str]:
    if host:
        out = [f'(import "host" "t{k}" (tag $t{k} (param i32)))' for k in range(n + 1)]
        out.append('(import "host" "throw" (func $host (param i32 i32)))')
        return out
    return [f"(tag $t{k} (param i32))" for k in range(n + 1)]


def _thrower(n: int) -> str:
    """``$thrower(k, v)``: throws tag ``k`` (tag ``n`` for any other k) with ``v``."""
    cases = "".join(f"(block $k{k} " for k in range(n + 1))
    table = " ".join(f"$k{k}" for k in range(n)) + f" $k{n}"
    body = f"{cases}(br_table {table} (local.get 0))"
    for k in reversed(range(n + 1)):  # a branch to $k lands after its block
        body += f") (throw $t{k} (local.get 1))"
    return f"(func $thrower (export \"thrower\") (param i32 i32) {body})"


def _innermost(levels: int, loops: int, host: bool, labels: list[str]) -> str:
    """The innermost code: ``loops`` nested loops (the two innermost run twice) around
    the action; the value 7 + the global flows out."""
    actions = [
        "(if (i32.eq (local.get $a) (i32.const 1))"
        " (then (call $thrower (local.get $b) (global.get $g))))",
        "(if (i32.eq (local.get $a) (i32.const 3))"
        " (then (drop (i32.div_u (local.get $b) (i32.const 0)))))",
        "(if (i32.eq (local.get $a) (i32.const 4))"
        f" (then (br_table {' '.join(labels)} (i32.const 4000) (local.get $b))))",
        "(if (i32.eq (local.get $a) (i32.const 6))"
        f" (then (call $thrower (i32.const {levels}) (i32.const 66))))",
    ]
    for k in range(levels):
        actions.append(f"(if (i32.and (i32.eq (local.get $a) (i32.const 5))"
                       f" (i32.eq (local.get $b) (i32.const {k})))"
                       f" (then (throw $t{k} (i32.const {500 + k}))))")
    if host:
        actions.append("(if (i32.eq (local.get $a) (i32.const 2))"
                       " (then (call $host (local.get $b) (global.get $g))))")
        actions.append("(if (i32.eq (local.get $a) (i32.const 7))"
                       " (then (call $host (i32.add (local.get $b) (i32.const 1000))"
                       " (global.get $g))))")
    code = " ".join(actions)
    for j in range(loops):
        # loop j counts in local $i{j}; only the two innermost loops repeat
        reps = 2 if j < 2 else 1
        code = (f"(local.set $i{j} (i32.const 0)) (loop $L{j} {code}"
                f" (global.set $g (i32.add (global.get $g) (i32.const 1)))"
                f" (br_if $L{j} (i32.lt_u (local.tee $i{j} (i32.add (local.get $i{j})"
                f" (i32.const 1))) (i32.const {reps}))))")
    return f"{code} (i32.add (i32.const 7) (global.get $g))"


def try_table_module(levels: int = 24, loops: int = 26, host: bool = False) -> str:
    """``levels`` nested try_tables, each catching its own tag (every fifth also with
    a catch_all_ref, which keeps the exception when ``b`` names its level and throws
    it on otherwise; every seventh with catch_ref), around ``loops`` nested loops."""
    labels = [f"$r{k}" for k in range(levels)]
    inner = _innermost(levels, loops, host, labels)
    for k in reversed(range(levels)):
        step = f"(global.set $g (i32.add (global.get $g) (i32.const {k + 1})))"
        if k % 7 == 3:
            catch = f"(catch_ref $t{k} $c{k})"
            landing = (f"(block $c{k} (result i32 exnref) (try_table (result i32) {catch}"
                       f" {step} {inner}) (br $r{k})) (drop)")
        else:
            catch = f"(catch $t{k} $c{k})"
            if k % 5 == 2:
                catch += f" (catch_all_ref $x{k})"
            landing = (f"(block $c{k} (result i32) (try_table (result i32) {catch}"
                       f" {step} {inner}) (br $r{k}))")
        caught = f"(i32.add (i32.const {1000 * (k + 1)})) (br $r{k})"
        if k % 5 == 2:
            # catch_all_ref: handled here when b names this level, else thrown on
            inner = (f"(block $r{k} (result i32) (block $x{k} (result exnref) {landing}"
                     f" {caught}) (local.set $ex) (if (result i32) (i32.eq (local.get $b)"
                     f" (i32.const {k})) (then (i32.const {77000 + k}))"
                     f" (else (throw_ref (local.get $ex)))))")
        else:
            inner = f"(block $r{k} (result i32) {landing} {caught})"
    return "\n".join([
        "(module",
        *_tags(levels, host),
        '(global $g (export "g") (mut i32) (i32.const 0))',
        '(memory (export "m") 1)',
        _thrower(levels),
        "(func (export \"f\") (param $a i32) (param $b i32) (result i32)",
        " ".join(f"(local $i{j} i32)" for j in range(loops)),
        "(local $ex exnref)",
        inner,
        ")",
        ")",
    ])


def legacy_module(levels: int = 30, loops: int = 22, host: bool = False) -> str:
    """``levels`` nested legacy trys: by ``k % 6``: catch its tag (0, 3), catch its
    tag and rethrow it (1), catch its tag or any (2: catch_all keeps the exception
    when ``b`` names the level, rethrows it otherwise), ``delegate 1`` (4:
    the next level out is skipped), catch its tag and ``throw`` the next outer tag
    (5); around ``loops`` nested loops."""
    labels = [f"$T{k}" for k in range(levels)]
    inner = _innermost(levels, loops, host, labels)
    for k in reversed(range(levels)):
        step = f"(global.set $g (i32.add (global.get $g) (i32.const {k + 1})))"
        kind = k % 6
        body = f"(do {step} {inner})"
        if kind == 1:
            arms = f"(catch $t{k} (drop) (rethrow 0))"
        elif kind == 2:
            arms = (f"(catch $t{k} (i32.add (i32.const {1000 * (k + 1)}))) (catch_all"
                    f" (if (result i32) (i32.eq (local.get $b) (i32.const {k}))"
                    f" (then (i32.const {77000 + k})) (else (rethrow 1))))")
        elif kind == 4:
            inner = f"(try $T{k} (result i32) {body} (delegate 1))"
            continue
        elif kind == 5 and k > 0:
            arms = f"(catch $t{k} (throw $t{k - 1}))"
        else:
            arms = f"(catch $t{k} (i32.add (i32.const {1000 * (k + 1)})))"
        inner = f"(try $T{k} (result i32) {body} {arms})"
    return "\n".join([
        "(module",
        *_tags(levels, host),
        '(global $g (export "g") (mut i32) (i32.const 0))',
        _thrower(levels),
        "(func (export \"f\") (param $a i32) (param $b i32) (result i32)",
        " ".join(f"(local $i{j} i32)" for j in range(loops)),
        inner,
        ")",
        ")",
    ])


def calls(levels: int, host: bool) -> list[tuple[int, int]]:
    """Every action at every level (and one past the last)."""
    out = [(0, 0)]
    for a in ACTIONS:
        if a in (2, 7) and not host:
            continue
        if a in (0, 3):
            out.append((a, 0))
            continue
        out.extend((a, b) for b in range(levels + 1))
    return out
