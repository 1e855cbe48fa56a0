"""Compiling queries: every real elastic-recheck query, levels, triggers, limits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gatewatch.domain.triage import BuildFacts
from gatewatch.errors import QueryError
from gatewatch.query.compile import (
    Atom,
    Const,
    FAnd,
    FNot,
    FOr,
    compile_query,
    compute_triggers,
    evaluate,
    specialise,
)

QUERIES = Path(__file__).resolve().parents[2] / "data" / "elastic-recheck-queries"
FILES = sorted(QUERIES.glob("*.yaml"))


def test_the_real_query_set_is_all_there() -> None:
    assert len(FILES) == 91
    assert (QUERIES / "NOTICE.md").is_file()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_elastic_recheck_query_compiles_to_line_atoms(path: Path) -> None:
    query = yaml.safe_load(path.read_text(encoding="utf-8"))["query"]
    compiled = compile_query(query)
    assert compiled.level == "line"
    assert compiled.atoms
    assert compiled.triggers  # every real query can be scanned by its phrases
    assert compiled.warnings == ()


@pytest.mark.parametrize(
    ("query", "level"),
    [
        ('message:"a"', "line"),
        ('tags:"console" AND build_status:FAILURE', "file"),
        ('build_status:"NODE_FAILURE"', "build"),
        ("filename:job-output.txt", "file"),
    ],
)
def test_level_follows_the_fields_used(query: str, level: str) -> None:
    assert compile_query(query).level == level


def test_trigger_prefers_the_long_phrase_in_a_conjunction() -> None:
    compiled = compile_query(
        'message:"backup" AND message:"failed to reach available status" AND tags:console'
    )
    assert compiled.triggers is not None
    assert [compiled.atoms[i].tokens[0] for i in compiled.triggers] == ["failed"]


@pytest.mark.parametrize(
    ("formula", "triggers"),
    [
        (Atom(0), {0}),
        (FOr((Atom(0), Atom(1))), {0, 1}),
        (FAnd((Atom(0), FNot(Atom(1)))), {0}),
        (FNot(Atom(0)), None),
        (FOr((Atom(0), FNot(Atom(1)))), None),
        (Const(False), set()),
    ],
)
def test_compute_triggers(formula: object, triggers: set[int] | None) -> None:
    found = compute_triggers(formula)  # type: ignore[arg-type]
    assert (None if found is None else set(found)) == triggers


def test_unknown_fields_match_nothing_with_a_warning() -> None:
    compiled = compile_query('message:"a" AND NOT build_foo:"x"')
    assert compiled.warnings
    assert "build_foo" in compiled.warnings[0]
    assert evaluate(compiled.formula, atom=lambda _: True, test=lambda _: True)


def test_specialise_folds_field_tests() -> None:
    compiled = compile_query('message:"a" AND (tags:console OR tags:x) AND NOT build_name:tempest-*')
    facts = BuildFacts(build_name="tempest-full")
    gone = specialise(
        compiled.formula, lambda t: t.accepts(("console",)) if t.field == "tags" else t.accepts_build(facts)
    )
    assert gone == Const(False)
    kept = specialise(compiled.formula, lambda t: t.field == "tags")
    assert kept == Atom(0)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ('message:"--- ..."', "no words"),
        ("message:*", "2 literal"),
        ("message:a*", "2 literal"),
        ('message:"' + " ".join(["w"] * 300) + '"', "more than 256"),
        ("message:" + "ab*" * 20, "more than 16 wildcards"),
    ],
)
def test_bad_message_clauses_are_refused_with_position(query: str, words: str) -> None:
    with pytest.raises(QueryError, match=words) as info:
        compile_query(query)
    assert info.value.position is not None


@pytest.mark.parametrize(
    ("query", "level"),
    [
        ('@message:"x" AND @fields.build_status:"FAILURE"', "line"),
        ('@tags:"console.html"', "file"),
        ("build_short_uuid:abc1234", "build"),
        ('loglevel:"CRITICAL" AND message:"Address already in use" AND tags:"screen-key.txt"', "line"),
        ('tags:"console.html" AND message:"download.py\\", line 495"', "line"),
    ],
)
def test_historical_query_forms_compile_without_warnings(query: str, level: str) -> None:
    compiled = compile_query(query)
    assert (compiled.level, compiled.warnings) == (level, ())


def test_short_uuid_is_the_uuid_prefix() -> None:
    compiled = compile_query("build_short_uuid:abc1234")
    facts = BuildFacts(build_uuid="abc1234ffff")
    assert evaluate(compiled.formula, atom=lambda _: False, test=lambda t: t.accepts_build(facts))


def test_field_tests_compare_exact_values_and_globs() -> None:
    compiled = compile_query("build_name:tempest-* AND voting:1")
    yes = BuildFacts(build_name="tempest-full", voting="1")
    no = BuildFacts(build_name="nova-tox", voting="1")
    assert evaluate(compiled.formula, atom=lambda _: False, test=lambda t: t.accepts_build(yes))
    assert not evaluate(compiled.formula, atom=lambda _: False, test=lambda t: t.accepts_build(no))
