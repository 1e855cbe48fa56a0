"""Both scanning backends find the same (pattern, line) pairs; bad patterns are QueryErrors."""

from __future__ import annotations

import pytest

from gatewatch.analyse.triage.backends import HyperscanBackend, Re2Backend, hyperscan_available, make_backend
from gatewatch.errors import QueryError

PATTERNS = [rb"foo[^a-z0-9_\n]+bar", rb"caf\xc3\xa9", rb"x[^\s]{1,4}z"]
DATA = b"FOO - bar\nnothing\nCAF\xc3\xa9 foo.bar xyz\n"
BACKENDS = [Re2Backend, *([HyperscanBackend] if hyperscan_available() else [])]


def _lines(found: list[tuple[int, int]]) -> set[tuple[int, int]]:
    return {(pattern, DATA.count(b"\n", 0, end - 1)) for pattern, end in found}


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_reports_pattern_and_line(backend: type[Re2Backend]) -> None:
    assert _lines(backend(PATTERNS).scan(DATA)) == {(0, 0), (1, 2), (0, 2), (2, 2)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_inputs(backend: type[Re2Backend]) -> None:
    assert backend([]).scan(DATA) == []
    assert backend(PATTERNS).scan(b"") == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_pattern_is_a_query_error(backend: type[Re2Backend]) -> None:
    with pytest.raises(QueryError):
        backend([rb"(unclosed"])


def test_auto_prefers_hyperscan() -> None:
    assert make_backend(PATTERNS).name == ("hyperscan" if hyperscan_available() else "re2")
    assert make_backend(PATTERNS, "re2").name == "re2"
