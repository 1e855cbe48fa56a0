"""The tokenizer (a UAX#29 approximation), globs, and phrase -> prefilter regex."""

from __future__ import annotations

import pytest

from gatewatch.query import analysis


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("java.io.IOException: boom", ["java.io.ioexception", "boom"]),
        ("don't stop", ["don't", "stop"]),
        ("version 1.5.2, 1,000 items", ["version", "1.5.2", "1,000", "items"]),
        ("hw:pmem and fatal: [subnode-2]", ["hw:pmem", "and", "fatal", "subnode", "2"]),
        ("RESULT_TIMED_OUT", ["result_timed_out"]),
        ("a.1 v1.2 a,b", ["a", "1", "v1.2", "a", "b"]),
        ("http://mirror.dfw.rax.opendev.org/x", ["http", "mirror.dfw.rax.opendev.org", "x"]),
        ("ÉTÉ café", ["ÉtÉ", "café"]),
        ("\x00NUL\x00 sep→arated", ["nul", "sep", "arated"]),
        ("'quoted' end.", ["quoted", "end"]),
        ("", []),
    ],
)
def test_tokenize_splits_like_the_standard_tokenizer(text: str, tokens: list[str]) -> None:
    assert analysis.tokenize(text) == tokens


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("err*", "error", True),
        ("err*", "terror", False),
        ("*ail*", "failed", True),
        ("fa?led", "failed", True),
        ("fa?led", "faled", False),
        ("a*b*c", "a" * 50 + "c", False),
        ("*", "", True),
        ("", "", True),
        ("x", "", False),
    ],
)
def test_glob_match_is_whole_text(pattern: str, text: str, expected: bool) -> None:
    assert analysis.glob_match(pattern, text) is expected


def test_contains_phrase_needs_consecutive_tokens() -> None:
    line = analysis.tokenize("Timeout waiting for the server")
    assert analysis.contains_phrase(line, ("waiting", "for"))
    assert not analysis.contains_phrase(line, ("timeout", "for"))
    assert not analysis.contains_phrase(line, ())


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x1b[31mERROR\x1b[0m done", b"ERROR done"),
        (b"\x1b]0;title\x07text", b"text"),
        (b"no escapes\n", b"no escapes\n"),
        (b"\x1b]unterminated\nnext", b"\nnext"),
    ],
)
def test_strip_ansi_removes_escapes_but_not_newlines(data: bytes, expected: bytes) -> None:
    assert analysis.strip_ansi(data) == expected


def test_ansi_escapes_separate_tokens() -> None:
    assert analysis.blank_ansi(b"a\x1b[1mb\x1b[0m.c") == b"a b .c"
    assert analysis.line_tokens(b"\x1b[31mERROR\x1b[0mboom\r") == ["error", "boom"]
    assert analysis.ansi_aware(analysis.phrase_regex(("a", "b"))) == b"a" + analysis.ANSI_SEPARATOR + b"b"


def test_decode_line_replaces_invalid_utf8_and_drops_cr() -> None:
    assert analysis.decode_line(b"ab\xffc\r") == "ab\ufffdc"


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (("java.io", "x"), rb"java\x2eio" + analysis.SEPARATOR + rb"x"),
        (("a", "bb", "cccc", "d", "eeeee"), rb"bb" + analysis.SEPARATOR + rb"cccc"),
        (("é",), rb"\xc3\xa9"),
        (("a_b",), rb"a_b"),
        (("x", "openstackapiexception", "not"), rb"openstackapiexception"),
    ],
)
def test_phrase_regex_keeps_the_longest_adjacent_pair_escaped(
    tokens: tuple[str, ...], expected: bytes
) -> None:
    assert analysis.phrase_regex(tokens) == expected
