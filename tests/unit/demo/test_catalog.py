"""The catalog: test ids, planted tests, and race-bug lines that carry their real query's phrases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gatewatch.demo.catalog import (
    BUGS,
    UNIT_TEST_COUNTS,
    compute_flaky,
    compute_planted_ids,
    compute_scenario_ids,
    compute_tempest_ids,
    compute_unit_ids,
)
from gatewatch.demo.failures import render_bug_line
from gatewatch.demo.results import _is_skipped

QUERIES = Path("/work/shared/data/elastic-recheck-queries")
for parent in Path(__file__).resolve().parents:
    if (parent / "shared" / "data" / "elastic-recheck-queries").is_dir():
        QUERIES = parent / "shared" / "data" / "elastic-recheck-queries"
        break


def _norm(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def test_tempest_catalog_has_1300_distinct_tempest_ids() -> None:
    ids = compute_tempest_ids()
    assert len(ids) == len(set(ids)) == 1300
    assert all(re.fullmatch(r"tempest\.api\.[\w.]+\.test_\w+\[id-[0-9a-f-]{36}(,\w+)*\]", i) for i in ids)


@pytest.mark.parametrize("project", sorted(UNIT_TEST_COUNTS))
def test_unit_catalog_has_the_project_size(project: str) -> None:
    ids = compute_unit_ids(project)
    assert len(ids) == len(set(ids)) == UNIT_TEST_COUNTS[project]
    assert all(i.startswith(project.replace("-", "_") + ".tests.unit.") for i in ids)


def test_planted_tests_are_in_catalogs_and_never_skipped() -> None:
    everything = set(compute_tempest_ids()) | set(compute_scenario_ids())
    everything |= {i for p in UNIT_TEST_COUNTS for i in compute_unit_ids(p)}
    for test_id in compute_planted_ids():
        assert test_id in everything
        assert not _is_skipped(test_id)


def test_flaky_tests_span_the_planted_rates() -> None:
    specs = compute_flaky()
    assert {s.rate for s in specs} == {0.005, 0.02, 0.05, 0.10, 0.20}
    assert any(s.retried for s in specs)
    assert not all(s.retried for s in specs)
    assert len({s.test_id for s in specs}) == len(specs)


def _message_phrases(query: str) -> list[str]:
    return re.findall(r'message:\s*"((?:[^"\\]|\\.)*)"', query)


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.bug)
def test_bug_line_carries_every_message_phrase_of_its_query(bug: object) -> None:
    import random

    from gatewatch.demo.catalog import BugSpec

    assert isinstance(bug, BugSpec)
    query = yaml.safe_load((QUERIES / bug.query_file).read_text())["query"]
    assert " OR " not in query
    assert " NOT " not in query
    lines = render_bug_line(random.Random(1), bug).splitlines()
    phrases = _message_phrases(query)
    assert phrases
    assert any(all(_norm(p) in _norm(line) for p in phrases) for line in lines)
    tag = "console" if bug.log_name == "job-output.txt" else bug.log_name
    assert f'"{tag}"' in query
