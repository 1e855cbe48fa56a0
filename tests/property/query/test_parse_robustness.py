"""Any text either parses and compiles, or fails with a QueryError that has a position."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.errors import QueryError
from gatewatch.query.compile import compile_query

PIECES = [
    "message:",
    "tags:",
    '"',
    "\\",
    "(",
    ")",
    " AND ",
    " OR ",
    "NOT ",
    "+",
    "-",
    "*",
    "?",
    "~",
    "^",
    "[",
    "]",
    "{",
    "}",
    "/",
    ":",
    "word",
    "é",
    " ",
    "x y",
    "TO",
]


def _outcome(text: str) -> str | QueryError:
    try:
        return compile_query(text).level
    except QueryError as exc:
        return exc


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join) | st.text(max_size=40))
def test_malformed_queries_raise_query_error_with_position(text: str) -> None:
    result = _outcome(text)
    if isinstance(result, QueryError):
        assert result.position is None or 0 <= result.position <= len(text)
        assert result.message
    else:
        assert result in ("line", "file", "build")
