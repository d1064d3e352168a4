"""What the fuzz comparator (fuzz/runners.difference) accepts as explained, and that it
accepts nothing else: the array.copy trap order (docs/api-differences.md)."""

from __future__ import annotations

import pytest
from sandbox_helpers import tier_fixture  # noqa: F401

from nanoproc.fuzz.cases import Engine, engines
from nanoproc.fuzz.runners import ARRAY_COPY_BOUNDS, Outcome, difference, run

wasmtime = pytest.importorskip("wasmtime")

COPY = """(module (type $a (array (mut i32)))
  (func (export "f") (param $d i32) (param $null_src i32) (result i32)
    (array.copy $a $a (array.new_default $a (i32.const 2)) (local.get $d)
      (if (result (ref null $a)) (local.get $null_src)
        (then (ref.null $a)) (else (array.new_default $a (i32.const 2))))
      (i32.const 0) (i32.const 1))
    i32.const 7)
  (func (export "g") (result i32) (array.get $a (array.new_default $a (i32.const 1))
    (i32.const 3))))"""


def _runs(tier: str) -> list[Engine]:
    runs, _ = engines([tier])
    assert [r.name for r in runs] == ["wasmtime", tier]
    return runs


def test_the_array_copy_trap_order_is_explained(tier: str) -> None:
    wasm = wasmtime.wat2wasm(COPY)
    plan = [("f", [5, 1]), ("f", [5, 0]), ("f", [1, 1]), ("f", [0, 0]), ("g", []),
            ("f", [5, 1])]  # fmt: skip
    ref, ours = _runs(tier)
    a = run(ref.api, ref.engine, ref.name, wasm, plan)
    b = run(ours.api, ours.engine, ours.name, wasm, plan)
    calls = [x for w, x in a.steps if w.startswith(("f", "g"))]
    # wasmtime: out of bounds at the array.copy (destination index 5 of 2, null source)
    assert calls[0][0] == ("trap", ARRAY_COPY_BOUNDS)
    assert calls[1][0] == ("trap", ARRAY_COPY_BOUNDS)  # both non-null: out of bounds
    assert calls[2][0] == ("trap", "NULL_REFERENCE")  # in bounds, null source
    assert calls[3][0] == ("ok", 7)
    assert calls[4][0] == ("trap", "ARRAY_OUT_OF_BOUNDS")  # array.get: not told apart
    ours_calls = [x for w, x in b.steps if w.startswith(("f", "g"))]
    assert ours_calls[0][0] == ("trap", "NULL_REFERENCE")  # the spec's order
    assert difference(a, b) is None


def _outcome(result: tuple[str, object], fuel: int = 10) -> Outcome:
    return Outcome("x", steps=[("instantiate", 0), ("f()", (result, fuel)), ("state", [])])


@pytest.mark.parametrize(("a", "b", "same"), [
    (("trap", ARRAY_COPY_BOUNDS), ("trap", "NULL_REFERENCE"), True),
    (("trap", ARRAY_COPY_BOUNDS), ("trap", "ARRAY_OUT_OF_BOUNDS"), True),
    (("trap", "ARRAY_OUT_OF_BOUNDS"), ("trap", "NULL_REFERENCE"), False),  # not at a copy
    (("trap", ARRAY_COPY_BOUNDS), ("trap", "UNREACHABLE"), False),
    (("trap", ARRAY_COPY_BOUNDS), ("ok", 7), False),
    (("trap", "NULL_REFERENCE"), ("ok", None), False),
    (("trap", ARRAY_COPY_BOUNDS), ("ok", [1, 2.5]), False),  # multi-value results
    (("ok", [1, 2.5]), ("ok", [1, 2.5]), True),
])  # fmt: skip
def test_only_that_pair_is_explained(a: tuple[str, object], b: tuple[str, object],
                                     same: bool) -> None:
    assert (difference(_outcome(a), _outcome(b)) is None) is same
    assert (difference(_outcome(b), _outcome(a)) is None) is same
    # fuel still compared
    assert difference(_outcome(a, 10), _outcome(b, 11)) is not None
