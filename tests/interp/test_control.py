"""Control-flow shapes the translator lowers specially, checked for results and, where
the lowering matters for speed, for the shape of the generated Python."""

from __future__ import annotations

import warnings

import pytest
from interp_helpers import call, compile_wat, new_instance

from nanoproc.internal.interp.debug import source_of


def _switch(n: int, fallthrough: bool) -> str:
    """C-style switch over n cases: case k adds k+1 (falls into the next case if asked)."""
    lines = ['(module (func (export "f") (param i32) (result i32) (local i32)']
    lines += ["block"] * (n + 1)
    lines += ["local.get 0", "br_table " + " ".join(str(i) for i in range(n)) + f" {n}"]
    for k in range(n, -1, -1):
        lines += ["end", "local.get 1", f"i32.const {k + 1}", "i32.add", "local.set 1"]
        if not fallthrough and k > 0:
            lines.append(f"br {k - 1}")
    lines.append("local.get 1))")
    return "\n".join(lines)


def _expected_switch(n: int, fallthrough: bool, x: int) -> int:
    d = min(x, n)  # br_table depth
    if not fallthrough:
        return (n + 1 - d) + (1 if d < n else 0) if d < n else 1
    return sum(k + 1 for k in range(n - d, -1, -1))


@pytest.mark.parametrize("n", [1, 3, 24, 40])
def test_clean_switch(n: int) -> None:
    cm = compile_wat(_switch(n, fallthrough=False))
    inst = new_instance(cm)
    for x in (0, 1, n // 2, n - 1, n, n + 1, 0xFFFFFFFF):
        assert call(inst, "f", x) == _expected_switch(n, False, x), x
    src = source_of(cm, 0)
    assert "brk" not in src and "while" not in src  # a binary search with the cases inline


@pytest.mark.parametrize("n", [3, 24, 40])
def test_switch_with_fallthrough(n: int) -> None:
    inst = new_instance(_switch(n, fallthrough=True))
    for x in (0, 1, n // 2, n - 1, n, n + 5):
        assert call(inst, "f", x) == _expected_switch(n, True, x), x


def test_deeply_nested_blocks_with_branches_from_loops() -> None:
    depth = 60
    text = ['(module (func (export "f") (param i32) (result i32) (local i32)']
    text += ["block"] * depth
    text += ["loop", "local.get 1", "i32.const 1", "i32.add", "local.tee 1",
             "local.get 0", "i32.lt_u", "br_if 0", "local.get 1", "i32.const 7", "i32.and",
             "br_table 1 2 3 4 5 6 7 50", "end"]
    for _ in range(depth):
        text += ["end", "local.get 1", "i32.const 100", "i32.add", "local.set 1"]
    text.append("local.get 1))")
    inst = new_instance("\n".join(text))
    for x in range(12):
        n = max(x, 1)
        d = [1, 2, 3, 4, 5, 6, 7, 50][n & 7] if (n & 7) < 7 else 50
        ends_run = depth - (d - 1)
        assert call(inst, "f", x) == n + 100 * ends_run, x


def test_deep_nesting_of_untargeted_constructs() -> None:
    depth = 80
    text = '(module (func (export "f") (param i32) (result i32) local.get 0 '
    text += "(block (param i32) (result i32) " * depth + "i32.const 1 i32.add" + ")" * depth
    text += "))"
    assert call(new_instance(text), "f", 1) == 2


def test_loop_and_if_with_params_and_results() -> None:
    inst = new_instance("""(module
      (func (export "sum") (param i32) (result i32)
        i32.const 0 local.get 0
        loop (param i32 i32) (result i32)
          local.tee 0 i32.add   ;; acc + n
          local.get 0 i32.const 1 i32.sub local.tee 0
          local.get 0 br_if 0   ;; acc n-1 (while n-1 != 0)
          drop
        end)
      (func (export "pick") (param i32 i32 i32) (result i32 i32)
        local.get 1 local.get 2 local.get 0
        if (param i32 i32) (result i32 i32) i32.add i32.const 1
        else i32.sub i32.const 0 end))""")
    assert call(inst, "sum", 10) == 55
    assert call(inst, "pick", 1, 7, 3) == (10, 1)
    assert call(inst, "pick", 0, 7, 3) == (4, 0)


def test_branches_carry_values_out_of_nested_loops() -> None:
    inst = new_instance("""(module
      (func (export "find") (param i32) (result i32 i32) (local i32 i32)
        block (result i32 i32)
          loop
            local.get 1 i32.const 1 i32.add local.set 1
            i32.const 0 local.set 2
            loop
              local.get 1 local.get 2 i32.mul local.get 0 i32.eq
              if local.get 1 local.get 2 br 3 end
              local.get 2 i32.const 1 i32.add local.tee 2
              i32.const 20 i32.lt_u br_if 0
            end
            local.get 1 i32.const 20 i32.lt_u br_if 0
          end
          i32.const -1 i32.const -1
        end))""")
    assert call(inst, "find", 12) == (1, 12)
    assert call(inst, "find", 361) == (19, 19)
    assert call(inst, "find", 1000) == (0xFFFFFFFF, 0xFFFFFFFF)


def test_compiled_for_loop_needs_no_flag() -> None:
    cm = compile_wat("""(module
      (func (export "count") (param i32) (result i32) (local i32)
        block
          local.get 0 i32.eqz br_if 0
          loop
            local.get 1 i32.const 1 i32.add local.set 1
            local.get 1 local.get 0 i32.ge_u br_if 1
            br 0
          end
        end
        local.get 1))""")
    assert call(new_instance(cm), "count", 10) == 10
    assert call(new_instance(cm), "count", 0) == 0
    assert "brk" not in source_of(cm, 0)


def test_br_table_with_values_and_big_tables() -> None:
    targets = " ".join(str(i % 3) for i in range(1000))
    inst = new_instance(f"""(module
      (func (export "f") (param i32) (result i32)
        block (result i32) block (result i32) block (result i32)
          i32.const 10 local.get 0 br_table {targets} 2
        end i32.const 1 i32.add end i32.const 100 i32.add end))""")
    for x in (0, 1, 2, 3, 998, 999, 1000, 0xFFFFFFFF):
        d = x % 3 if x < 1000 else 2
        assert call(inst, "f", x) == 10 + (1 if d == 0 else 0) + (100 if d <= 1 else 0)


def test_references_and_branch_on_null() -> None:
    inst = new_instance("""(module
      (type $f (func (result i32)))
      (func $seven (type $f) i32.const 7)
      (elem declare func $seven)
      (func (export "test") (param i32) (result i32)
        (block $null (result)
          (br_on_null $null (select (result (ref null $f)) (ref.func $seven) (ref.null $f)
                                    (local.get 0)))
          call_ref $f
          return)
        i32.const -1)
      (func (export "nonnull") (param externref) (result i32)
        (block $b (result externref)
          (br_on_non_null $b (local.get 0))
          (return (i32.const 0)))
        drop i32.const 1))""")
    assert call(inst, "test", 1) == 7
    assert call(inst, "test", 0) == 0xFFFFFFFF
    assert call(inst, "nonnull", None) == 0
    assert call(inst, "nonnull", object()) == 1


def test_unreachable_code_after_branches_is_skipped() -> None:
    inst = new_instance("""(module
      (func (export "f") (param i32) (result i32)
        block (result i32)
          local.get 0 br 0
          i32.add i64.const 0 unreachable drop f32.mul drop i32.add
        end))""")
    assert call(inst, "f", 3) == 3


def test_trapping_operand_is_evaluated_before_a_branch_skips_it() -> None:
    inst = new_instance("""(module (memory 1)
      (func (export "f") (param i32) (result i32)
        block (result i32)
          local.get 0 i32.load   ;; discarded by the branch, but must trap when out of bounds
          i32.const 1 i32.const 1 br_if 0
          drop
        end))""")
    assert call(inst, "f", 0) == 1
    with pytest.raises(Exception, match="out of bounds memory access"):
        call(inst, "f", 70000)


ARM_ALLOCATION = """(module
  (type $a (array (mut i32)))
  (global $g (mut i32) (i32.const 41))
  (func (export "f") (param i32) (result i32)
    (global.get $g)
    (if (local.get 0)
      (then (nop))
      (else (drop (array.new_default $a (i32.const 1)))
            (drop (array.new $a (i32.const 7) (i32.const 2)))))
    (i32.const 1)
    (i32.add)))"""


@pytest.mark.parametrize("arm", [0, 1])
def test_an_allocation_in_one_arm_leaves_pending_reads_alone(arm: int) -> None:
    """A global read pending below an ``if`` stays pending in both arms: an
    allocation in one arm does not write state, so it must not evaluate the read
    there only (the read was then unbound after the ``if`` when the other arm ran:
    fuzz findings gc:20261268786702, exc:20261268786481)."""
    inst = new_instance(compile_wat(ARM_ALLOCATION))
    assert call(inst, "f", arm) == 42
    assert call(inst, "f", 1 - arm) == 42


@pytest.mark.parametrize("dead", ["br 1", "br_table 1 1 1", "(br_if 1 (i32.const 1)) drop"])
@pytest.mark.parametrize("arg", [0, 1])
def test_a_branch_out_of_a_block_targeted_only_by_dead_code(dead: str, arg: int) -> None:
    """Fuzz case gen:20261272787251 (interp returned -2.5 instead of 0.0): the inner
    block is targeted only by a branch in dead code, so it gets a Python loop but no
    branch to it is emitted; the outer block delegates to that loop. The live ``br 2``
    leaves the loop, and the inner block's fall-through result must not be assigned
    after the loop, where the branch lands."""
    text = f"""(module (func (export "f") (param i32) (result f32)
      (block (result f32)
        (block (result f32)
          (if (local.get 0) (then (f32.const 0) (br 2) {dead}))
          (f32.sub (f32.const 0) (f32.const 2.5))))))"""
    assert call(new_instance(text), "f", arg) == (0.0 if arg else -2.5)


@pytest.mark.parametrize(("operand", "want"), [
    ("(i32.const 5)", 5),
    ("(i32.add (i32.const 1) (i32.const 2))", 3),
    ("(i32x4.extract_lane 3 (v128.const i32x4 1 2 3 0x5f800000))", 0xDF800000),
    ("(i32.extend16_s (i32x4.extract_lane 3 (v128.const i32x4 1 2 3 0x5f808000)))", 0xFFFF8000),
    # campaign 20261215 gc:20261275792297: a rotation of constants (``<<``)
    ("(i32.rotl (i32.const 7) (i32.const 6))", 448),
])
def test_null_tests_of_constant_i31s_compile_without_warnings(operand: str, want: int) -> None:
    """Campaign 20261213 (exc:20261273789545): ``ref.i31`` of an expression of literals
    gave ``(<literals> is None)``, which CPython folds and warns about ("is" with a
    literal; an error under -W error). The value is computed at translation instead."""
    text = f"""(module (func (export "f") (result i32)
      (i32.add (ref.is_null (ref.i31 {operand}))
               (i31.get_s (ref.i31 {operand})))))"""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SyntaxWarning)
        assert call(new_instance(text), "f") == want


def test_the_literal_expression_check_is_linear() -> None:
    """Its first form was a regular expression that backtracked exponentially over long
    digit runs followed by a name (campaign 20261214 gc:20261274784676 hung in
    translation): these return at once."""
    from nanoproc.internal.interp.ops_gc import _literal_expr

    digits = " + ".join(["1234567890123456789"] * 6)
    assert not _literal_expr(f"({digits} + l0)")
    assert not _literal_expr(f"({digits} + 0x12345678abcdefx)")
    assert _literal_expr(f"(({digits}) >> 3) & 0x7fffffff") and _literal_expr("(1 << 40)")
    assert not _literal_expr("2.5") and not _literal_expr("f12") and not _literal_expr("")
