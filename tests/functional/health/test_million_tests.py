"""Health over a million distinct tests, end to end through the CLI (ingest -> rollups -> reports).

Issue #4's bad input "a million distinct tests": one build runs 1,000,000 distinct test ids
(a JUnit file, some ids with odd characters); a recheck of the same change runs two of them
again. Exactly one test is flaky (it failed in the first build and passed in the recheck of the
same code), exactly one is broken (it failed in both), and none of the other 999,998 tests,
each seen once, is called anything but stable. The rollups kept by ingest hold one row per
test, and the per-test report of an arbitrary test reads it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gatewatch.cli.main import cli

TESTS = 1_000_000
FLAKY = "pkg.mod_7.TestFlaky.test_sometimes"
BROKEN = "pkg.mod_9.TestBroken.test_always"
ODD = 'pkg.mod_3.TestOdd.test_param[a b-"q"-<x>&é-🙂]'


def _case(i: int) -> tuple[str, str, bool]:
    return f"pkg.mod_{i % 1000}.TestCase{i % 7}", f"test_{i}", False


def _junit(cases: list[tuple[str, str, bool]]) -> bytes:
    """A JUnit file; ``cases`` are (classname, name, failed)."""
    failure = '<failure message="assert 1 == 2">AssertionError</failure>'
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="unit">']
    parts.extend(
        f'<testcase classname="{classname}" name="{name}" time="0.01">{failure if failed else ""}</testcase>'
        for classname, name, failed in cases
    )
    parts.append("</testsuite>\n")
    return "".join(parts).encode()


def _escaped(test_id: str) -> tuple[str, str]:
    classname, _, name = test_id.partition(".Test")
    head, _, tail = name.partition(".")
    name = tail.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return f"{classname}.Test{head}", name


def _build(root: Path, uuid: str, start: str, junit: bytes) -> None:
    build = root / uuid
    build.mkdir(parents=True)
    record = {
        "uuid": uuid,
        "job_name": "unit-py311",
        "result": "FAILURE",
        "voting": True,
        "project": "acme/app",
        "branch": "main",
        "change": 4242,
        "patchset": 1,
        "ref": "refs/changes/42/4242/1",
        "pipeline": "check",
        "start_time": start,
        "end_time": start.replace("T10:", "T11:"),
        "log_url": f"https://logs.example/{uuid}/",
    }
    (build / "build.json").write_text(json.dumps(record))
    (build / "results.xml").write_bytes(junit)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("million")
    builds = root / "builds"
    cases = [_case(i) for i in range(TESTS - 3)]
    cases += [(*_escaped(FLAKY), True), (*_escaped(BROKEN), True), (*_escaped(ODD), False)]
    _build(builds, "first", "2026-10-01T10:00:00", _junit(cases))
    recheck = [(*_escaped(FLAKY), False), (*_escaped(BROKEN), True)]
    _build(builds, "recheck", "2026-10-01T14:00:00", _junit(recheck))
    home = root / "home"
    code, summary = _cli(home, "ingest", str(builds))
    assert code == 0, summary
    assert summary["builds"] == 2
    assert summary["test_results"] == TESTS + 2
    assert summary["rejected"] == []
    return home


def _cli(home: Path, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None


def test_only_the_recheck_proven_flaky_test_and_the_always_failing_one_are_flagged(home: Path) -> None:
    code, flaky = _cli(home, "flaky", "--days", "30")
    assert code == 0
    statuses = {t["test_id"]: t["status"] for t in flaky["tests"]}
    assert statuses == {FLAKY: "flaky", BROKEN: "broken"}
    (evidence,) = next(t for t in flaky["tests"] if t["test_id"] == FLAKY)["evidence"]
    assert evidence["code"] == "c:4242,1"
    assert sorted(evidence["build_uuids"]) == ["first", "recheck"]


def test_any_of_the_million_tests_has_its_own_history(home: Path) -> None:
    classname, name, _ = _case(654_321)
    for test_id in (f"{classname}.{name}", ODD):
        code, report = _cli(home, "health", "test", test_id, "--days", "30")
        assert code == 0, test_id
        health = report["health"]
        assert (health["test_id"], health["status"], health["runs"], health["passes"]) == (
            test_id,
            "stable",
            1,
            1,
        )


def test_the_job_counts_both_builds(home: Path) -> None:
    code, overview = _cli(home, "health", "--days", "30")
    assert code == 0
    (job,) = overview["jobs"]
    assert (job["job_name"], job["builds"], job["failures"]) == ("unit-py311", 2, 2)
