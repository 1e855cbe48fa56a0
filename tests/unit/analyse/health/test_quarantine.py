from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from gatewatch.analyse.health.per_test import compute_test_health
from gatewatch.analyse.health.quarantine import (
    compute_unrepresentable_ids,
    render_exclude_list,
    render_quarantine_json,
    render_stestr_regex,
)
from gatewatch.domain.health import HealthStatus
from gatewatch.errors import HealthError
from support.health_sim import observation as obs

ODD_IDS = [
    "pkg.mod.TestX.test_plain",
    "tests/test_a.py::test_p[a b-c]",
    "tests/test_a.py::test_p[#hash]",
    "tests/test_a.py::test_p[\u00e9\u4e2d\U0001f600]",
    "tempest.api.compute.test_x(scenario)",
    "t[\\d+.*?^$|(){}]",
    " leading and trailing space ",
]


def _stestr_exclusions(text: str) -> list[re.Pattern[str]]:
    """stestr's exclusion_reader (stestr/selection.py): strip the line, split on '#',
    compile the part before it, skip empty ones."""
    patterns = []
    for line in text.splitlines():
        regex = line.strip().split("#")[0].strip()
        if regex:
            patterns.append(re.compile(regex))
    return patterns


def _pytest_deselected(tmp_path: Path, text: str) -> list[str]:
    """pytest (>= 8.2) reads '@file' through argparse's fromfile_prefix_chars."""
    args_file = tmp_path / "quarantine.txt"
    args_file.write_text(text, encoding="utf-8")
    parser = argparse.ArgumentParser(fromfile_prefix_chars="@")
    parser.add_argument("--deselect", action="append", default=[])
    deselected: list[str] = parser.parse_args([f"@{args_file}"]).deselect
    return deselected


@pytest.mark.parametrize("test_id", ODD_IDS)
def test_stestr_regex_matches_exactly_the_id_and_its_tags(test_id: str) -> None:
    (pattern,) = _stestr_exclusions(render_exclude_list([test_id], style="stestr"))
    assert pattern.search(test_id)
    assert pattern.search(test_id + "[id-1234,smoke]")
    assert not pattern.search(test_id + "_other")
    assert not pattern.search("x" + test_id)
    assert render_stestr_regex(test_id).isascii()


def test_stestr_list_is_one_regex_per_test_with_a_comment(tmp_path: Path) -> None:
    text = render_exclude_list(ODD_IDS, style="stestr")
    patterns = _stestr_exclusions(text)
    assert len(patterns) == len(ODD_IDS)
    for test_id in ODD_IDS:
        assert sum(bool(p.search(test_id)) for p in patterns) == 1


def test_pytest_list_deselects_every_id_verbatim(tmp_path: Path) -> None:
    ids = [*ODD_IDS, "bad\nid"]
    text = render_exclude_list(ids, style="pytest")
    assert sorted(_pytest_deselected(tmp_path, text)) == sorted(ODD_IDS)
    assert compute_unrepresentable_ids(ids, style="pytest") == ("bad\nid",)


def test_unknown_style_is_an_error() -> None:
    with pytest.raises(HealthError, match="unknown exclude-list style"):
        render_exclude_list(["x"], style="nose")


def _healths() -> list:
    history = [obs("stable", r, "pass") for r in range(5)]
    history += [obs("broken", r, "fail") for r in range(5)]
    history += [obs("flaky[#1]", r, "pass") for r in range(5)] + [obs("flaky[#1]", 2, "fail")]
    return list(compute_test_health(history))


def test_quarantine_json_lists_flaky_tests_with_evidence() -> None:
    doc = json.loads(render_quarantine_json(_healths(), generated_at=datetime(2026, 1, 5, tzinfo=UTC)))
    assert doc["schema"] == "gatewatch.quarantine/1"
    assert doc["generated_at"] == "2026-01-05T00:00:00+00:00"
    (entry,) = doc["tests"]
    assert entry["test_id"] == "flaky[#1]"
    assert entry["status"] == "flaky"
    assert entry["evidence"][0]["kind"] == "retry"
    assert entry["evidence"][0]["failed_runs"] == ["run-2"]
    lo, hi = entry["failure_interval"]
    assert lo <= entry["failure_probability"] <= hi


def test_broken_tests_are_quarantined_only_when_asked() -> None:
    doc = json.loads(
        render_quarantine_json(_healths(), generated_at=datetime(2026, 1, 5, tzinfo=UTC), include_broken=True)
    )
    assert [(t["test_id"], t["status"]) for t in doc["tests"]] == [
        ("broken", HealthStatus.BROKEN.value),
        ("flaky[#1]", HealthStatus.FLAKY.value),
    ]


def test_exclude_list_accepts_health_records() -> None:
    flaky = [h for h in _healths() if h.status == HealthStatus.FLAKY]
    text = render_exclude_list(flaky, style="stestr")
    assert "p_fail=" in text
    (pattern,) = _stestr_exclusions(text)
    assert pattern.search("flaky[#1]")


DATA = Path(__file__).resolve().parents[3] / "data" / "health" / "result-samples"
REAL_FILES = [
    "jest-junit/jest-junit.xml",
    "nette-tester/BootstrapFormRenderer-report.xml",
    "pytest/python-xunit-pytest.xml",
    "crafted-edge-cases/unsupported-unicode.xml",
    "crafted-edge-cases/with-xml-entities.xml",
]


def _real_ids(name: str) -> list[str]:
    """classname::name of every testcase of a real producer's JUnit file (see NOTICE.md)."""
    tree = etree.parse(str(DATA / name))
    return [f"{case.get('classname', '')}::{case.get('name', '')}" for case in tree.iter("testcase")]


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_producer_ids_round_trip_through_both_exclude_lists(tmp_path: Path, name: str) -> None:
    ids = _real_ids(name)
    assert ids
    assert sorted(_pytest_deselected(tmp_path, render_exclude_list(ids, style="pytest"))) == sorted(set(ids))
    patterns = _stestr_exclusions(render_exclude_list(ids, style="stestr"))
    for test_id in ids:
        assert [bool(p.search(test_id)) for p in patterns].count(True) == 1
