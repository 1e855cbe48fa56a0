"""Result encoders: JUnit parses with lxml, subunit with python-subunit, Rally has its 1.2 shape."""

from __future__ import annotations

import dataclasses
import io
import json
import random
from datetime import UTC, datetime
from typing import Any

import subunit
import testtools
from lxml import etree

from gatewatch.demo.catalog import PERF_STEP_SCENARIO, RALLY, RALLY_SCENARIOS, compute_check_jobs
from gatewatch.demo.formats import render_junit, render_rally, render_subunit
from gatewatch.demo.plan import BuildPlan, PerfPlan
from gatewatch.demo.results import Attempt

START = datetime(2026, 10, 2, 8, tzinfo=UTC)
ATTEMPTS = [
    Attempt(test_id="pkg.tests.unit.test_a.ATestCase.test_ok", status="success", duration_s=0.25, worker=0),
    Attempt(test_id="pkg.tests.unit.test_a.ATestCase.test_flaky", status="fail", duration_s=1.5, worker=1,
            message="AssertionError: 1 < 2 & <tag>", traceback='Traceback\n  "x" < y & z'),
    Attempt(test_id="pkg.tests.unit.test_a.ATestCase.test_flaky", status="success", duration_s=1.1, worker=1),
    Attempt(test_id="pkg.tests.unit.test_a.ATestCase.test_skip", status="skip", duration_s=0.0, worker=2,
            message="not configured"),
]  # fmt: skip


def _plan(**changes: Any) -> BuildPlan:
    base = BuildPlan(uuid="ab" * 16, job=compute_check_jobs("nimbus-compute")[0], project="nimbus-compute",
                     pipeline="check", change=1, patchset=1, ref="refs/changes/01/1/1", newrev="c" * 40,
                     buildset_uuid="b" * 32, event_id="e" * 32, start=START, end=START.replace(hour=9),
                     attempt=1, result="SUCCESS", seed=99)  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_junit_lists_every_attempt_in_run_order_with_escaping() -> None:
    root = etree.fromstring(render_junit(_plan(), ATTEMPTS, START))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "1")
    cases = suite.findall("testcase")
    assert [(c.get("name"), c.find("failure") is not None) for c in cases] == [
        ("test_ok", False), ("test_flaky", True), ("test_flaky", False), ("test_skip", False)]  # fmt: skip
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "AssertionError: 1 < 2 & <tag>"
    assert failure.text == 'Traceback\n  "x" < y & z'
    assert cases[3].find("skipped") is not None


def test_subunit_round_trips_through_python_subunit() -> None:
    found: list[dict[str, Any]] = []
    result = testtools.StreamToDict(found.append)
    result.startTestRun()
    subunit.ByteStreamToStreamResult(io.BytesIO(render_subunit(ATTEMPTS, START))).run(result)
    result.stopTestRun()
    assert [(t["id"], t["status"]) for t in found] == [(a.test_id, a.status) for a in ATTEMPTS]
    assert [t["tags"] for t in found] == [{f"worker-{a.worker}"} for a in ATTEMPTS]
    assert found[1]["details"]["traceback"].as_text() == ATTEMPTS[1].traceback
    assert found[0]["timestamps"][0] == START


def _means(report: dict[str, Any]) -> dict[str, float]:
    workloads = report["tasks"][0]["subtasks"][0]["workloads"]
    return {
        next(iter(w["scenario"])): sum(d["duration"] for d in w["data"]) / len(w["data"]) for w in workloads
    }


def test_rally_report_has_the_1_2_shape_and_the_step_moves_one_scenario() -> None:
    plain = _plan(job=RALLY, perf=PerfPlan(commit_index=0, step_factor=1.0, outlier_factor=1.0))
    stepped = dataclasses.replace(plain, perf=PerfPlan(commit_index=1, step_factor=1.08, outlier_factor=1.0))
    report = json.loads(render_rally(plain, random.Random(1)))
    assert report["info"]["format_version"] == "1.2"
    workloads = report["tasks"][0]["subtasks"][0]["workloads"]
    assert [next(iter(w["scenario"])) for w in workloads] == [s for s, _, _ in RALLY_SCENARIOS]
    for workload, (_, atomics, count) in zip(workloads, RALLY_SCENARIOS, strict=True):
        assert len(workload["data"]) == workload["total_iteration_count"] == count
        assert [a["name"] for a in workload["data"][0]["atomic_actions"]] == [n for n, _ in atomics]
        assert workload["statistics"]["durations"]["total"]["data"]["iteration_count"] == count
    before = _means(report)
    after = _means(json.loads(render_rally(stepped, random.Random(1))))
    for scenario, mean in before.items():
        ratio = after[scenario] / mean
        assert abs(ratio - (1.08 if scenario == PERF_STEP_SCENARIO else 1.0)) < 1e-6, scenario
