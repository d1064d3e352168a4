"""Lexer: tokens, strings, comments, annotations, and where errors point."""

from __future__ import annotations

import pytest

from nanoproc.internal.errors import ParseError
from nanoproc.internal.text.lexer import ATOM, ID, RESERVED, STRING, Node, Source, Tok, read_sexprs


def lex(text: str) -> list[Tok | Node]:
    return read_sexprs(Source(text)).items


def flat(text: str) -> list[tuple[int, object]]:
    return [(t.kind, t.value) for t in lex(text)]  # type: ignore[union-attr]


def err(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        read_sexprs(Source(text, "f.wat"))
    return info.value


def test_token_kinds() -> None:
    assert flat('i32.add $x $"a b" "s" 0x1F nan:0x1') == [
        (ATOM, "i32.add"),
        (ID, "x"),
        (ID, "a b"),
        (STRING, b"s"),
        (ATOM, "0x1F"),
        (ATOM, "nan:0x1"),
    ]


def test_reserved_runs_are_one_token() -> None:
    # A run of idchars and strings is a single token: glued forms are not two tokens.
    assert [t.kind for t in lex('$l"a" "a""b" a,b {x} 0"x"')] == [RESERVED] * 5  # type: ignore[union-attr]
    # but `$` is an idchar, so this is one identifier
    assert flat("$l$l") == [(ID, "l$l")]


def test_parentheses_delimit_tokens() -> None:
    (node,) = lex("(func(nop)nop)")
    assert isinstance(node, Node)
    assert node.head() == "func"
    assert isinstance(node.items[1], Node) and node.items[1].head() == "nop"
    assert node.items[2].value == "nop"  # type: ignore[union-attr]


def test_string_escapes() -> None:
    text = r'"\t\n\r\"\'\\\41\u{48}\u{1F600}\u{00_e9}\ff"'
    (tok,) = lex(text)
    assert tok.value == b"\t\n\r\"'\\AH" + "\U0001f600é".encode() + b"\xff"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r'"\q"', "illegal escape"),
        (r'"\u{110000}"', "malformed UTF-8"),
        (r'"\u{d800}"', "malformed UTF-8"),
        ('"abc', "unclosed string"),
        ('"a\nb"', "unclosed string"),
        ('"a\tb"', "illegal character"),
        ("$", "empty identifier"),
        ('$""', "empty identifier"),
        (r'$"\ef"', "malformed UTF-8"),
        ("é", "illegal character"),
        ("(; never closed", "unclosed comment"),
        ("(@)", "empty annotation id"),
        ('(@"")', "empty annotation id"),
        ("(@x (y)", "unclosed annotation"),
        ("(a", "unexpected end"),
        (")", "unexpected token"),
        ("\x7f", "illegal character"),
    ],
)
def test_lexical_errors(text: str, message: str) -> None:
    assert message in err(text).reason


def test_error_position_is_line_and_column() -> None:
    e = err('(module\n  (func "x\n')
    assert (e.line, e.column, e.filename) == (2, 9, "f.wat")
    assert str(e).startswith("f.wat:2:9: ")


def test_comments_are_whitespace() -> None:
    assert flat("a;;c\nb(;x(;nested;)y;)c") == [(ATOM, "a"), (ATOM, "b"), (ATOM, "c")]
    # `;` alone is a token character (a reserved token), not a comment
    assert [t.kind for t in lex("a ;x")] == [ATOM, RESERVED]  # type: ignore[union-attr]


def test_line_comment_ends_at_a_lone_carriage_return() -> None:
    """Wasm 3.0: a line comment ends at a newline *or* a carriage return."""
    assert flat("a ;; comment\rb") == [(ATOM, "a"), (ATOM, "b")]
    assert flat("a ;; comment\r\nb") == [(ATOM, "a"), (ATOM, "b")]


def test_annotations_are_dropped_in_balanced_form() -> None:
    (node,) = lex('(module (@a (b "(" ) (@c)) (@"n" x) (func))')
    assert isinstance(node, Node)
    assert [i.head() if isinstance(i, Node) else i.value for i in node.items] == ["module", "func"]
    # inside an annotation anything goes, even `(@)`
    assert lex("(@a (@) (@ x) , ; [ ])") == []


def test_token_positions() -> None:
    toks = lex("  a\n $b")
    assert [t.pos for t in toks] == [2, 5]  # type: ignore[union-attr]
    assert Source("  a\n $b").line_col(5) == (2, 2)


def test_surrogates_from_quoted_bytes_are_malformed_utf8() -> None:
    text = b'(data "\x80")'.decode("utf-8", "surrogateescape")
    assert "malformed UTF-8" in err(text).reason
