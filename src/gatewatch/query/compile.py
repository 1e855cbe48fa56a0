"""Compile a parsed query into line atoms and a boolean formula over them.

Evaluation model (elastic-recheck's): every log line is a document made of the
line (``message``), its file's ``tags``/``filename`` and its build's fields; a
build matches when any of its line documents matches. So ``message:"a" AND
message:"b"`` needs both phrases on the *same* line, and ``NOT message:"x"``
means "this line does not contain x".

Fields fall in three levels:

* line: ``message`` (and ``module``/``loglevel``/``syslog_program``, which
  Logstash extracted from the line; we test them as message phrases),
* file: ``tags`` (the file's names and aliases) and ``filename``,
* build: ``build_name``, ``build_status``, ``voting``... (``BUILD_FIELDS``).

Old Logstash names (``@message``, ``@tags``, ``@fields.build_status``) are read
as the current ones.

A field gatewatch does not know matches nothing (as in Elasticsearch, where the
field would be missing), with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from gatewatch.domain.triage import BUILD_FIELDS, BuildFacts
from gatewatch.errors import QueryError
from gatewatch.query import analysis
from gatewatch.query.parse import And, Clause, MatchAll, Node, Not, Or, parse_query

MESSAGE_FIELDS = frozenset({"message", "module", "loglevel", "syslog_program"})
FILE_FIELDS = frozenset({"tags", "filename"})
MAX_PHRASE_TOKENS = 256
MAX_PATTERN_BYTES = 8_192
MAX_WILDCARDS = 16

Level = Literal["line", "file", "build"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageAtom:
    """A message test: a token sequence (phrase/term) or one wildcard token."""

    tokens: tuple[str, ...] = ()
    glob: str = ""
    regex: bytes = b""

    def test(self, line_tokens: list[str]) -> bool:
        if self.glob:
            return analysis.contains_glob_token(line_tokens, self.glob)
        return analysis.contains_phrase(line_tokens, self.tokens)


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldTest:
    """A file- or build-level test: exact value, or a wildcard when ``glob``."""

    field: str
    value: str
    glob: bool = False

    def accepts(self, candidates: tuple[str, ...]) -> bool:
        if self.glob:
            return any(analysis.glob_match(self.value, c) for c in candidates if c)
        return self.value in candidates and self.value != ""

    def accepts_build(self, facts: BuildFacts) -> bool:
        """The test on a build field (False for a field that is not one)."""
        value = facts.value(self.field)
        return value is not None and self.accepts((value,))


@dataclass(frozen=True, slots=True)
class Atom:
    index: int


@dataclass(frozen=True, slots=True)
class Test:
    test: FieldTest


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class FAnd:
    children: tuple[Formula, ...]


@dataclass(frozen=True, slots=True)
class FOr:
    children: tuple[Formula, ...]


@dataclass(frozen=True, slots=True)
class FNot:
    child: Formula


Formula = Atom | Test | Const | FAnd | FOr | FNot


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledQuery:
    """A query ready for the matcher.

    ``triggers``: atom indexes such that any line the formula accepts (while it
    rejects a line with no atom true) contains one of them; None when the
    structure gives no such set (then every atom is a trigger).
    """

    text: str
    formula: Formula
    atoms: tuple[MessageAtom, ...]
    level: Level
    triggers: tuple[int, ...] | None
    warnings: tuple[str, ...] = field(default=())


def compile_query(text: str) -> CompiledQuery:
    """Parse and compile ``text``; raise ``QueryError`` with a position on failure."""
    builder = _Builder(text)
    formula = builder.build(parse_query(text))
    has_file = _any_test(formula, lambda t: t.field in FILE_FIELDS)
    level: Level = "line" if builder.atoms else ("file" if has_file else "build")
    atoms = builder.atoms
    found = compute_triggers(formula, lambda i: 1.0 / max(1, len(atoms[i].glob or " ".join(atoms[i].tokens))))
    return CompiledQuery(
        text=text,
        formula=formula,
        atoms=tuple(builder.atoms),
        level=level,
        triggers=None if found is None else tuple(sorted(found)),
        warnings=tuple(builder.warnings),
    )


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.atoms: list[MessageAtom] = []
        self.index: dict[MessageAtom, int] = {}
        self.warnings: list[str] = []

    def build(self, node: Node) -> Formula:
        if isinstance(node, And):
            return FAnd(tuple(self.build(c) for c in node.children))
        if isinstance(node, Or):
            return FOr(tuple(self.build(c) for c in node.children))
        if isinstance(node, Not):
            return FNot(self.build(node.child))
        if isinstance(node, MatchAll):
            return Const(True)
        return self.clause(node)

    def clause(self, clause: Clause) -> Formula:
        name = canonical_field(clause.field)
        clause = Clause(field=name, kind=clause.kind, text=clause.text, position=clause.position)
        if name in MESSAGE_FIELDS:
            return Atom(self.add(self.message_atom(clause)))
        if name in FILE_FIELDS or name in BUILD_FIELDS:
            return Test(FieldTest(field=name, value=clause.text, glob=clause.kind == "wildcard"))
        self.warnings.append(
            f"field {name!r} at position {clause.position} is not known to gatewatch: it matches nothing"
        )
        return Const(False)

    def add(self, atom: MessageAtom) -> int:
        if atom not in self.index:
            self.index[atom] = len(self.atoms)
            self.atoms.append(atom)
        return self.index[atom]

    def message_atom(self, clause: Clause) -> MessageAtom:
        if clause.kind == "wildcard":
            glob = analysis.fold(clause.text)
            if sum(glob.count(c) for c in "*?") > MAX_WILDCARDS:
                raise self.fail(clause, f"more than {MAX_WILDCARDS} wildcards in one term")
            if analysis.wildcard_literal_length(glob) < analysis.MIN_WILDCARD_LITERAL:
                raise self.fail(clause, "a message wildcard needs at least 2 literal characters")
            return MessageAtom(glob=glob, regex=self.checked(clause, analysis.glob_regex(glob)))
        tokens = tuple(analysis.tokenize(clause.text))
        if not tokens:
            raise self.fail(clause, f"{clause.text!r} has no words to match", "Lucene would ignore it")
        if len(tokens) > MAX_PHRASE_TOKENS:
            raise self.fail(clause, f"phrase has {len(tokens)} words, more than {MAX_PHRASE_TOKENS}")
        return MessageAtom(tokens=tokens, regex=self.checked(clause, analysis.phrase_regex(tokens)))

    def checked(self, clause: Clause, regex: bytes) -> bytes:
        if len(regex) > MAX_PATTERN_BYTES:
            raise self.fail(clause, f"pattern is {len(regex)} bytes, more than {MAX_PATTERN_BYTES}")
        return regex

    def fail(self, clause: Clause, message: str, hint: str = "") -> QueryError:
        return QueryError(message, query=self.text, position=clause.position, hint=hint)


def canonical_field(name: str) -> str:
    """Field names of 2013-era Logstash indexes (``@message``, ``@fields.build_name``) as today's."""
    if name.startswith("@fields."):
        return name.removeprefix("@fields.")
    return name.removeprefix("@")


def _any_test(formula: Formula, pred: Callable[[FieldTest], bool]) -> bool:
    if isinstance(formula, Test):
        return pred(formula.test)
    if isinstance(formula, FAnd | FOr):
        return any(_any_test(c, pred) for c in formula.children)
    if isinstance(formula, FNot):
        return _any_test(formula.child, pred)
    return False


def evaluate(formula: Formula, *, atom: Callable[[int], bool], test: Callable[[FieldTest], bool]) -> bool:
    """The formula's truth, given how to decide an atom and a field test (short-circuit)."""
    if isinstance(formula, Atom):
        return atom(formula.index)
    if isinstance(formula, Test):
        return test(formula.test)
    if isinstance(formula, Const):
        return formula.value
    if isinstance(formula, FAnd):
        return all(evaluate(c, atom=atom, test=test) for c in formula.children)
    if isinstance(formula, FOr):
        return any(evaluate(c, atom=atom, test=test) for c in formula.children)
    return not evaluate(formula.child, atom=atom, test=test)


def specialise(formula: Formula, test: Callable[[FieldTest], bool]) -> Formula:
    """Replace every field test by its value and fold constants away."""
    if isinstance(formula, Test):
        return Const(test(formula.test))
    if isinstance(formula, Atom | Const):
        return formula
    if isinstance(formula, FNot):
        child = specialise(formula.child, test)
        return Const(not child.value) if isinstance(child, Const) else FNot(child)
    is_and = isinstance(formula, FAnd)
    kept: list[Formula] = []
    for c in formula.children:
        s = specialise(c, test)
        if isinstance(s, Const):
            if s.value != is_and:
                return Const(not is_and)
            continue
        kept.append(s)
    if not kept:
        return Const(is_and)
    if len(kept) == 1:
        return kept[0]
    return FAnd(tuple(kept)) if is_and else FOr(tuple(kept))


def compute_triggers(
    formula: Formula, weight: Callable[[int], float] = lambda _: 1.0
) -> frozenset[int] | None:
    """Atoms one of which is true on every line where ``formula`` is true, or None.

    AND needs one child with a trigger set (the lightest by ``weight`` is
    chosen: rare, long phrases beat short common words), OR needs all of them;
    NOT and field tests have none.
    """
    if isinstance(formula, Atom):
        return frozenset({formula.index})
    if isinstance(formula, Const):
        return None if formula.value else frozenset()
    if isinstance(formula, FAnd):
        options = [t for t in (compute_triggers(c, weight) for c in formula.children) if t is not None]
        return min(options, key=lambda t: sum(weight(i) for i in t)) if options else None
    if isinstance(formula, FOr):
        union: frozenset[int] = frozenset()
        for c in formula.children:
            found = compute_triggers(c, weight)
            if found is None:
                return None
            union |= found
        return union
    return None
