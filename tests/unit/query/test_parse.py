"""Parsing the Lucene subset: structure, escapes, and errors with positions."""

from __future__ import annotations

import pytest

from gatewatch.errors import QueryError
from gatewatch.query.parse import And, Clause, MatchAll, Not, Or, parse_query, unescape


def _c(field: str, kind: str, text: str) -> tuple[str, str, str]:
    return (field, kind, text)


def _shape(node: object) -> object:
    if isinstance(node, Clause):
        return _c(node.field, node.kind, node.text)
    if isinstance(node, And):
        return ("AND", *(_shape(c) for c in node.children))
    if isinstance(node, Or):
        return ("OR", *(_shape(c) for c in node.children))
    if isinstance(node, Not):
        return ("NOT", _shape(node.child))
    assert isinstance(node, MatchAll)
    return "ALL"


@pytest.mark.parametrize(
    ("query", "shape"),
    [
        ('message:"a b"', _c("message", "phrase", "a b")),
        ("error", _c("message", "term", "error")),
        ("build_name:tempest-*", _c("build_name", "wildcard", "tempest-*")),
        ('message:"say \\"hi\\""', _c("message", "phrase", 'say "hi"')),
        ('message:"\\nNo match"', _c("message", "phrase", "nNo match")),
        ("a AND NOT b", ("AND", _c("message", "term", "a"), ("NOT", _c("message", "term", "b")))),
        (
            "a OR b AND c",
            (
                "OR",
                _c("message", "term", "a"),
                ("AND", _c("message", "term", "b"), _c("message", "term", "c")),
            ),
        ),
        ("tags:(console OR x)", ("OR", _c("tags", "term", "console"), _c("tags", "term", "x"))),
        ("+a -b c", ("AND", _c("message", "term", "a"), ("NOT", _c("message", "term", "b")))),
        ("a b", ("OR", _c("message", "term", "a"), _c("message", "term", "b"))),
        ("-b", ("NOT", _c("message", "term", "b"))),
        ("-a -b", ("AND", "ALL", ("NOT", _c("message", "term", "a")), ("NOT", _c("message", "term", "b")))),
        ("NOT b", ("NOT", _c("message", "term", "b"))),
        ("a^2", _c("message", "term", "a")),
        ('message: "spaced"', _c("message", "phrase", "spaced")),
    ],
)
def test_parse_builds_the_boolean_structure(query: str, shape: object) -> None:
    assert _shape(parse_query(query)) == shape


@pytest.mark.parametrize(
    ("query", "position", "words"),
    [
        ('message:"open', 8, "cannot parse"),
        ("a AND AND b", 6, "cannot parse"),
        ("(a OR b", 7, "cannot parse"),
        ("a AND b~2", 6, "fuzzy"),
        ("x:[1 TO 2]", 2, "ranges"),
        ("message:/re/", 8, "regular expressions"),
        ('"a b"~3', 0, "proximity"),
        ("   ", 0, "empty"),
    ],
)
def test_malformed_queries_raise_with_position(query: str, position: int, words: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.position == position
    assert words in info.value.message
    assert "^" in str(info.value)


def test_enormous_query_is_refused() -> None:
    with pytest.raises(QueryError, match="characters long"):
        parse_query("a OR " * 10_000 + "b")


def test_unescape_keeps_the_escaped_character() -> None:
    assert unescape(r"a\:b\\c\"") == 'a:b\\c"'
