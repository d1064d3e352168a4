"""Deep nesting in text (issue 10): 100,000 nested blocks parse (folded and flat),
print (flat and folded) and read back, with labels by name at every depth; the
printed text grows linearly with the depth (indentation stops at 50 levels)."""

from __future__ import annotations

import sys

from core_helpers import wat2wasm
from nanoproc.internal.binary import decode_module, encode_module
from nanoproc.internal.text.print_fold import MAX_FOLD_DEPTH
from nanoproc.internal.text.print_instrs import MAX_INDENT_LEVELS
from nanoproc.internal.text.printer import print_module
from nanoproc.internal.text.wat import parse_wat

DEPTH = 100_000


def _folded(depth: int) -> str:
    """``depth`` nested value blocks; the innermost branches to the outermost."""
    return ('(module (func (export "f") (result i32) (block $out (result i32) '
            + "(block (result i32) " * (depth - 1) + "(br $out (i32.const 7))"
            + ")" * depth + "))")


def test_folded_and_flat_text_parse_to_the_same_binary() -> None:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # nothing recurses per level
    try:
        folded = bytes(encode_module(parse_wat(_folded(DEPTH))))
        flat = bytes(encode_module(parse_wat(
            '(module (func (export "f") (result i32) block $out (result i32) '
            + "block (result i32) " * (DEPTH - 1) + "i32.const 7 br $out "
            + "end " * DEPTH + "))")))
    finally:
        sys.setrecursionlimit(old)
    assert folded == flat
    module = decode_module(folded)
    body = module.funcs[0].instrs
    assert len(body) == 2 * DEPTH + 2
    assert body[DEPTH + 1][1] == DEPTH - 1  # br $out: to the outermost block


def test_printing_is_linear_and_reads_back() -> None:
    binary = wat2wasm(_folded(DEPTH))
    module = decode_module(binary)
    for fold in (False, True):
        text = print_module(module, fold=fold)
        lines = text.splitlines()
        indent = max(len(line) - len(line.lstrip(" ")) for line in lines)
        assert indent <= 2 * (MAX_INDENT_LEVELS + 2)
        assert len(text) < 150 * (2 * DEPTH + 10)  # linear: no line is longer
    # (folded printing falls back to flat for bodies this deep: one read-back does)
    assert bytes(encode_module(parse_wat(text))) == binary


def test_deep_folded_operands_print_as_a_sequence() -> None:
    """A long chain of dependent operations folds at most MAX_FOLD_DEPTH deep."""
    n = 10_000
    text = "(module (func (result i32) (i32.const 1) " + "(i32.const 3) (i32.mul) " * n + "))"
    binary = bytes(encode_module(parse_wat(text)))
    printed = print_module(decode_module(binary), fold=True)
    assert max(line.count("(") for line in printed.splitlines()) <= MAX_FOLD_DEPTH + 2
    assert bytes(encode_module(parse_wat(printed))) == binary


def test_wasm_tools_agrees() -> None:
    depth = 5000
    binary = bytes(encode_module(parse_wat(_folded(depth))))
    assert binary == wat2wasm(_folded(depth))
