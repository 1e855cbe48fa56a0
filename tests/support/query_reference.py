"""A slow, obviously correct evaluator of the query semantics, for tests only.

It walks the parsed AST for every line document (line + file + build fields)
and tokenises every line; no regex prefilter, no triggers, no specialisation.
The matcher must agree with it (tests/property/query/test_matcher_reference.py).
"""

from __future__ import annotations

from gatewatch.analyse.triage.tags import derive_file_tags, file_name_candidates
from gatewatch.domain.triage import BuildFacts
from gatewatch.query.analysis import blank_ansi, contains_glob_token, decode_line, fold, glob_match, tokenize
from gatewatch.query.compile import canonical_field
from gatewatch.query.parse import And, Clause, MatchAll, Node, Not, Or, parse_query

MESSAGE_FIELDS = {"message", "module", "loglevel", "syslog_program"}


def _value_matches(clause: Clause, values: tuple[str, ...]) -> bool:
    if clause.kind == "wildcard":
        return any(v and glob_match(clause.text, v) for v in values)
    return clause.text != "" and clause.text in values


def _holds(
    node: Node, tokens: list[str], tags: tuple[str, ...], names: tuple[str, ...], build: BuildFacts
) -> bool:
    if isinstance(node, MatchAll):
        return True
    if isinstance(node, And):
        return all(_holds(c, tokens, tags, names, build) for c in node.children)
    if isinstance(node, Or):
        return any(_holds(c, tokens, tags, names, build) for c in node.children)
    if isinstance(node, Not):
        return not _holds(node.child, tokens, tags, names, build)
    field = canonical_field(node.field)
    if field in MESSAGE_FIELDS:
        if node.kind == "wildcard":
            return contains_glob_token(tokens, fold(node.text))
        phrase = tokenize(node.text)
        n = len(phrase)
        return any(tokens[i : i + n] == phrase for i in range(len(tokens) - n + 1))
    if field == "tags":
        return _value_matches(node, tags)
    if field == "filename":
        return _value_matches(node, names)
    value = build.value(field)
    return value is not None and _value_matches(node, (value,))


def reference_lines(
    query: str, data: bytes, *, file_name: str, build: BuildFacts, file_tags: tuple[str, ...] = ()
) -> list[int]:
    """The 1-based numbers of the lines of ``data`` whose document matches ``query``."""
    node = parse_query(query)
    tags = derive_file_tags(file_name, file_tags)
    names = file_name_candidates(file_name)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    found = []
    for number, raw in enumerate(lines, start=1):
        tokens = tokenize(decode_line(blank_ansi(raw)))
        if _holds(node, tokens, tags, names, build):
            found.append(number)
    return found
