"""Build-level prefilters: which builds could match a query, as plain data for SQL.

``build_filter(query)`` keeps the top-level ``AND`` clauses that test one build
field (``build_name:"tempest-full"``, ``(build_queue:gate OR build_queue:check)``,
``build_name:tempest-*``). It is necessary, not sufficient: every build the
query matches passes the filter; the store turns it into bound-parameter SQL
(``job_name IN (:v1, :v2)`` / ``LIKE`` for wildcards) and the matcher decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatewatch.domain.triage import BUILD_FIELDS, BuildFacts
from gatewatch.query.compile import CompiledQuery, FAnd, FieldTest, FOr, Formula, Test, compile_query


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldConstraint:
    """The build's ``field`` equals one of ``values`` or matches one of ``globs`` (``*``, ``?``)."""

    field: str
    values: tuple[str, ...] = ()
    globs: tuple[str, ...] = ()

    def admits(self, facts: BuildFacts) -> bool:
        tests = [FieldTest(field=self.field, value=v) for v in self.values]
        tests += [FieldTest(field=self.field, value=g, glob=True) for g in self.globs]
        return any(t.accepts_build(facts) for t in tests)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildFilter:
    """All ``constraints`` must hold; no constraints admits every build."""

    constraints: tuple[FieldConstraint, ...] = ()

    def admits(self, facts: BuildFacts) -> bool:
        return all(c.admits(facts) for c in self.constraints)


def build_filter(query: str | CompiledQuery) -> BuildFilter:
    """The build-level prefilter of ``query`` (text or already compiled)."""
    compiled = compile_query(query) if isinstance(query, str) else query
    formula = compiled.formula
    conjuncts = formula.children if isinstance(formula, FAnd) else (formula,)
    found = [c for c in (_constraint(f) for f in conjuncts) if c is not None]
    return BuildFilter(constraints=tuple(found))


def _tests(formula: Formula) -> list[FieldTest] | None:
    if isinstance(formula, Test):
        return [formula.test]
    if isinstance(formula, FOr):
        out: list[FieldTest] = []
        for child in formula.children:
            found = _tests(child)
            if found is None:
                return None
            out.extend(found)
        return out
    return None


def _constraint(formula: Formula) -> FieldConstraint | None:
    tests = _tests(formula)
    if not tests:
        return None
    fields = {t.field for t in tests}
    if len(fields) != 1 or not fields <= BUILD_FIELDS:
        return None
    return FieldConstraint(
        field=tests[0].field,
        values=tuple(dict.fromkeys(t.value for t in tests if not t.glob)),
        globs=tuple(dict.fromkeys(t.value for t in tests if t.glob)),
    )
