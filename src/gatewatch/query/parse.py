"""Parse the Lucene query-string subset elastic-recheck uses into a small boolean AST.

luqum (a kept Lucene query-string parser) does the parsing; this module maps
its tree onto ``Clause``/``And``/``Or``/``Not`` and turns every luqum error, or
a construct we do not support (ranges, fuzzy, proximity, regex), into a
``QueryError`` with the 0-based position in the query text.

Boolean structure: ``AND`` binds tighter than ``OR`` (luqum's precedence);
``+x`` is required, ``-x``/``NOT x`` excluded; a run of clauses without an
operator follows Lucene's BooleanQuery rule (required and excluded clauses
apply; the others are optional when a required one exists, else at least one of
them must match). A purely negative query matches every document the excluded
clauses do not (as Elasticsearch does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from luqum import tree
from luqum.exceptions import ParseError
from luqum.parser import parser

from gatewatch.errors import QueryError

DEFAULT_FIELD = "message"
MAX_QUERY_CHARS = 20_000
MAX_CLAUSES = 1_000
_POSITION = re.compile(r"position (\d+)")

ClauseKind = Literal["phrase", "term", "wildcard"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Clause:
    """``field:"text"`` (phrase), ``field:text`` (term) or ``field:te*t`` (wildcard)."""

    field: str
    kind: ClauseKind
    text: str
    position: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchAll:
    """Every document (the implicit base of a purely negative query)."""


Node = Clause | And | Or | Not | MatchAll


def parse_query(text: str) -> Node:
    """Parse ``text``; raise ``QueryError`` (with position) when it is malformed."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"query is {len(text)} characters long, more than {MAX_QUERY_CHARS}",
            query=text[:200],
            hint="split it into several fingerprints",
        )
    if not text.strip():
        raise QueryError("query is empty", query=text, position=0)
    try:
        luqum_tree = parser.parse(text)
    except (ParseError, ValueError, TypeError) as exc:
        raise _parse_error(text, exc) from None
    converter = _Converter(text)
    node = converter.convert(luqum_tree, field=None)
    return node


def _parse_error(text: str, exc: Exception) -> QueryError:
    message = str(exc)
    found = _POSITION.search(message)
    position = int(found.group(1)) if found else len(text)
    if "unexpected end" in message.lower() or found is None:
        position = len(text)
    detail = message.split(" at position", maxsplit=1)[0].rstrip("!").strip()
    return QueryError(
        f"cannot parse query: {detail}",
        query=text,
        position=min(position, len(text)),
        hint="check quotes and parentheses; escape special characters with \\",
    )


class _Converter:
    def __init__(self, text: str) -> None:
        self.text = text
        self.clauses = 0

    def fail(self, item: tree.Item, message: str, hint: str = "") -> QueryError:
        pos = item.pos if item.pos is not None else 0
        return QueryError(message, query=self.text, position=pos, hint=hint)

    def convert(self, item: tree.Item, *, field: str | None) -> Node:
        if isinstance(item, tree.SearchField):
            if field is not None:
                raise self.fail(item, f"field {item.name!r} inside field {field!r}")
            return self.convert(item.expr, field=item.name)
        if isinstance(item, tree.Group | tree.FieldGroup):
            return self.convert(item.expr, field=field)
        if isinstance(item, tree.AndOperation):
            return And(children=tuple(self.convert(c, field=field) for c in item.children))
        if isinstance(item, tree.OrOperation):
            return Or(children=tuple(self.convert(c, field=field) for c in item.children))
        if isinstance(item, tree.UnknownOperation):
            return self.implicit(item, field=field)
        if isinstance(item, tree.Not | tree.Prohibit):
            return Not(child=self.convert(item.a, field=field))
        if isinstance(item, tree.Plus):
            return self.convert(item.a, field=field)
        if isinstance(item, tree.Boost):
            return self.convert(item.expr, field=field)  # boosts change scores, not matches
        if isinstance(item, tree.Phrase | tree.Word):
            return self.term(item, field=field or DEFAULT_FIELD)
        raise self.unsupported(item)

    def unsupported(self, item: tree.Item) -> QueryError:
        names = {
            tree.Range: "ranges",
            tree.From: "ranges",
            tree.To: "ranges",
            tree.Fuzzy: "fuzzy terms (~)",
            tree.Proximity: "proximity phrases (~)",
            tree.Regex: "regular expressions (/.../)",
        }
        what = next((v for k, v in names.items() if isinstance(item, k)), type(item).__name__)
        return self.fail(item, f"{what} are not supported", hint="use phrases, terms and * or ? wildcards")

    def implicit(self, item: tree.UnknownOperation, *, field: str | None) -> Node:
        required: list[Node] = []
        excluded: list[Node] = []
        optional: list[Node] = []
        for child in item.children:
            if isinstance(child, tree.Plus):
                required.append(self.convert(child.a, field=field))
            elif isinstance(child, tree.Prohibit | tree.Not):
                excluded.append(self.convert(child.a, field=field))
            else:
                optional.append(self.convert(child, field=field))
        parts = list(required)
        if not required and optional:
            parts.append(optional[0] if len(optional) == 1 else Or(children=tuple(optional)))
        if not parts:
            parts.append(MatchAll())
        parts.extend(Not(child=e) for e in excluded)
        return parts[0] if len(parts) == 1 else And(children=tuple(parts))

    def term(self, item: tree.Phrase | tree.Word, *, field: str) -> Clause:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise self.fail(item, f"query has more than {MAX_CLAUSES} terms")
        pos = item.pos if item.pos is not None else 0
        if isinstance(item, tree.Phrase):
            return Clause(field=field, kind="phrase", text=unescape(item.value[1:-1]), position=pos)
        raw = item.value
        if _has_wildcard(raw):
            return Clause(field=field, kind="wildcard", text=unescape(raw), position=pos)
        return Clause(field=field, kind="term", text=unescape(raw), position=pos)


def _has_wildcard(raw: str) -> bool:
    escaped = False
    for char in raw:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?":
            return True
    return False


def unescape(raw: str) -> str:
    """Lucene escaping: a backslash makes the next character literal (``\\n`` is ``n``)."""
    out: list[str] = []
    escaped = False
    for char in raw:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)
