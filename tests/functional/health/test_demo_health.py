"""Health on the small seeded demo, end to end (generate -> ingest -> rollups -> services/CLI).

What the small history can and cannot show: each planted flaky test runs only 4-23 times in
two days, so most planted tests with rates of 0.5-10 % never fail there; no method can call
them flaky. The checks are therefore: every planted flaky test that *did* fail (evidence
exists) is found (recall 1 on the detectable ones); every test called flaky was planted as
intermittent (a flaky test, a known race bug, or a test an uncategorized planted failure
broke; tests/support/health_truth.py): precision 1 -- no stable test and not the planted
regression is called flaky (here the regression hits two consecutive runs: too few for a
significant regression window, but a streak is no same-code evidence); the Wilson intervals of the planted tests
cover their planted per-attempt rates except at most one (8 tests at 95 % each: two misses or
more has probability < 6 %); the always-failing non-voting job is broken, not flaky; and the
rollups kept by ingest equal a rebuild from raw rows. The default-size demo check (recall and
precision >= 0.95 at rates >= 1 %) is run by bench/health.py --check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gatewatch.analyse.health import ObservationColumns, compute_test_health
from gatewatch.cli.main import cli
from gatewatch.demo import DemoOptions, DemoTruth, load_truth
from gatewatch.domain.health import HealthStatus
from gatewatch.domain.results import Outcome
from gatewatch.services.demo import run_demo
from gatewatch.services.health import (
    Selection,
    load_flaky_tests,
    load_job_health,
    load_jobs_health,
    load_jobs_overview,
    load_test_report,
    render_health_summary,
    resolve_query,
)
from gatewatch.store import Store, open_store
from gatewatch.store import schema as t
from gatewatch.store.health_queries import HealthQuery, midnight
from gatewatch.store.health_rows import ObsRow, compute_row_columns
from support.health_truth import planted_intermittent, score_flaky

Demo = tuple[Store, DemoTruth, Path]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("health-demo")
    store = open_store(f"sqlite:///{home / 'gatewatch.db'}", blob_dir=home / "blobs")
    report = run_demo(store, data_dir=home / "demo-data", options=DemoOptions(seed=42, small=True))
    yield store, load_truth(report.truth_path), home
    store.close()


def _unstable(store: Store, truth: DemoTruth) -> set[str]:
    """Tests planted to fail: intermittent ones and the regression."""
    return planted_intermittent(store, truth) | {truth.regression.test_id}


def test_planted_flaky_tests_that_failed_are_found_and_nothing_else_is(demo: Demo) -> None:
    store, truth, _ = demo
    reported = load_flaky_tests(store, resolve_query(store, Selection()))
    called_flaky = {h.test_id for h in reported if h.status == HealthStatus.FLAKY}
    detectable = {f.test_id for f in truth.flaky_tests if f.rate >= 0.01 and f.failed_attempts >= 1}
    assert detectable, "the seeded small demo plants at least one flaky test that fails"
    assert detectable <= called_flaky
    score = score_flaky(store, truth, reported)
    assert score.false_positives == ()
    assert score.precision == 1.0
    assert not score.regression_called_flaky
    for h in reported:
        assert h.job_name, "flaky verdicts are per job"
        if h.status == HealthStatus.FLAKY:
            assert h.evidence, f"{h.test_id} is called flaky without evidence"


def test_the_planted_regression_is_not_called_flaky(demo: Demo) -> None:
    store, truth, home = demo
    reg = truth.regression
    with store.unit_of_work(readonly=True) as uow:
        failed = sum(
            r.outcome in (Outcome.FAIL, Outcome.ERROR)
            for uuid in reg.builds
            for run in uow.runs.get_for_build(uuid)
            for r in run.results
            if r.test_id == reg.test_id
        )
    assert failed >= 2, "the small demo's regression breaks its test in at least two builds"
    report = load_test_report(store, reg.test_id, resolve_query(store, Selection(job=reg.job_name)))
    assert report.health.failures >= failed
    assert report.health.status == HealthStatus.FAILING
    assert report.health.evidence == ()
    flaky = CliRunner().invoke(cli, ["--home", str(home), "flaky", "--json"])
    assert flaky.exit_code == 0, flaky.output
    statuses = {t["status"] for t in json.loads(flaky.output)["tests"] if t["test_id"] == reg.test_id}
    assert "flaky" not in statuses


def test_intervals_cover_the_planted_rates(demo: Demo) -> None:
    store, truth, _ = demo
    misses = []
    for planted in truth.flaky_tests:
        query = resolve_query(store, Selection(job=planted.job_name))
        h = load_test_report(store, planted.test_id, query).health
        assert h.attempts >= planted.attempts > 0
        lo, hi = h.failure_interval
        if not lo <= planted.rate <= hi:
            misses.append((planted.test_id, planted.rate, h.failures, h.attempts))
    assert len(misses) <= 1, misses


def test_the_always_failing_nonvoting_job_is_broken_not_flaky(demo: Demo) -> None:
    store, truth, _ = demo
    query = resolve_query(store, Selection())
    for name, builds in truth.broken_jobs.items():
        job = load_job_health(store, name, query)
        assert not job.voting
        assert job.status == HealthStatus.BROKEN
        assert job.builds == len(builds)
        assert job.evidence == ()


ORDER_DEPENDENT = {"flips", "first_failed", "last_failed"}


def _rows(store: Store) -> list[list[tuple[Any, ...]]]:
    """Rollup rows without the fields that depend on ingest order within a day.

    The demo ingests a day's builds in directory order, not time order; ingest then counts
    each run as if it came last (docs/health.md), a rebuild orders runs by time.
    """
    with store.unit_of_work(readonly=True) as uow:
        conn = uow.health._conn
        out = []
        for tbl in (t.daily_test_rollup, t.daily_job_rollup):
            cols = [c for c in tbl.c if c.name not in ORDER_DEPENDENT]
            rows = conn.execute(select(*cols))
            out.append(sorted(tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows))
        return out


def test_ingest_rollups_equal_a_rebuild_and_the_summary_names_the_broken_job(demo: Demo) -> None:
    store, truth, home = demo
    before = _rows(store)
    result = CliRunner().invoke(cli, ["--home", str(home), "health", "rebuild", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["test_rollups"] == len(before[0])
    after = _rows(store)
    assert after == before
    summary = "\n".join(render_health_summary(store))
    for name in truth.broken_jobs:
        assert f"job {name} (non-voting): broken, never passed" in summary


@pytest.mark.parametrize(
    ("args", "exit_code", "needle"),
    [
        (["health", "--json", "--days", "2"], 0, '"jobs"'),
        (["health", "job", "nimbus-grenade-nv", "--json"], 0, '"broken"'),
        (["health", "job", "no-such-job"], 3, "no build of job"),
        (["health", "test", "no.such.test"], 3, "unknown test"),
        (["health", "--days", "0"], 2, "--days"),
        (["flaky", "--json", "--pipeline", "check"], 0, '"tests"'),
        (["flaky", "--quarantine-json"], 0, "gatewatch.quarantine/1"),
        (["flaky", "--exclude-list", "pytest"], 0, "--deselect="),
        (["flaky", "--exclude-list", "stestr", "--since", "2026-10-01"], 0, "(?:"),
    ],
)
def test_cli(demo: Demo, args: list[str], exit_code: int, needle: str) -> None:
    _, _, home = demo
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    assert result.exit_code == exit_code, result.output
    assert needle in result.output


def test_fast_jobs_overview_equals_the_raw_computation(demo: Demo) -> None:
    store, _, _ = demo
    for selection in (Selection(), Selection(days=1), Selection(pipeline="gate")):
        query = resolve_query(store, selection)
        raw = [replace(j, daily=(), evidence=()) for j in load_jobs_health(store, query)]
        assert list(load_jobs_overview(store, query)) == raw


def test_a_test_failing_only_in_the_broken_job_is_not_called_flaky(demo: Demo) -> None:
    store, truth, _ = demo
    query = resolve_query(store, Selection())
    failing: set[str] = set()
    with store.unit_of_work(readonly=True) as uow:
        for builds in truth.broken_jobs.values():
            for run in uow.runs.get_for_build(builds[0]):
                failing |= {r.test_id for r in run.results if r.outcome in (Outcome.FAIL, Outcome.ERROR)}
    assert failing
    for test_id in failing - _unstable(store, truth):
        report = load_test_report(store, test_id, query)
        assert report.health.status == HealthStatus.BROKEN
        assert {j.status for j in report.by_job} >= {HealthStatus.BROKEN}


def _reference_columns(store: Store, query: HealthQuery, pks: list[int]) -> ObservationColumns:
    """Raw attempts the plain way: one joined row per attempt, parsed by the ORM."""
    with store.unit_of_work(readonly=True) as uow:
        health = uow.health
        tr = t.test_result.c
        stmt = health.raw_query().where(tr.test_pk.in_(pks))
        if query.since is not None:
            stmt = stmt.where(tr.timestamp >= midnight(query.since))
        for column, value in ((t.build.c.job_name, query.job), (t.pipeline.c.name, query.pipeline)):
            if value is not None:
                stmt = stmt.where(column == value)
        rows = [ObsRow(*row) for row in health._conn.execute(stmt.order_by(tr.id))]
        cols = compute_row_columns(rows, health.verdict_kinds({r.build_uuid for r in rows}))
        ids = health.test_ids([int(pk) for pk in cols.test_ids])
    return replace(cols, test_ids=tuple(ids[int(pk)] for pk in cols.test_ids))


@pytest.mark.parametrize("selection", [Selection(), Selection(days=1), Selection(pipeline="gate")])
def test_the_narrow_raw_read_equals_the_joined_one(demo: Demo, selection: Selection) -> None:
    store, _, _ = demo
    query = resolve_query(store, selection)
    with store.unit_of_work(readonly=True) as uow:
        wanted = uow.health.failing_tests_by_job(query)
        fast = uow.health.candidate_columns(query, wanted)
        single = {job: uow.health.test_columns(replace(query, job=job), pks) for job, pks in wanted.items()}
    assert wanted
    for job, pks in wanted.items():
        reference = compute_test_health(_reference_columns(store, replace(query, job=job), pks))
        assert reference
        assert compute_test_health(fast[job]) == reference
        assert compute_test_health(single[job]) == reference


def _explain(home: Path, build: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["--home", str(home), "explain", build, "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_explain_tells_the_change_owner_what_each_failed_test_history_says(demo: Demo) -> None:
    """`explain` on planted failures: the regression's first build is told to look at its change,
    its second that the breakage began before it; a planted flaky test's failure that a recheck
    will likely pass; the always-failing non-voting job that it is broken for everyone."""
    _, truth, home = demo
    reg = truth.regression
    first, second = (_explain(home, uuid) for uuid in reg.builds[:2])
    for report in (first, second):
        assert [t["test_id"] for t in report["failed_tests"]] == [reg.test_id]
    assert first["failed_tests"][0]["kind"] == "started"
    assert "look at this change first" in first["comment"]
    assert second["failed_tests"][0]["kind"] == "repeated"
    flaky = next(f for f in truth.flaky_tests if f.failed_builds and f.rate >= 0.01)
    report = _explain(home, flaky.failed_builds[-1])
    kinds = {t["test_id"]: t["kind"] for t in report["failed_tests"]}
    assert kinds[flaky.test_id] == "flaky"
    if set(kinds.values()) == {"flaky"}:
        assert "a recheck will likely pass" in report["comment"]
    broken_job, builds = next(iter(truth.broken_jobs.items()))
    report = _explain(home, builds[-1])
    assert report["failed_tests_total"] >= 1
    assert {t["kind"] for t in report["failed_tests"]} == {"broken"}, broken_job
    assert "not caused by this change" in report["comment"]
    text = CliRunner().invoke(cli, ["--home", str(home), "explain", reg.builds[0]], catch_exceptions=False)
    assert "failed tests (1):" in text.output
    assert "[started]" in text.output


def test_uncategorized_says_which_failures_test_health_explains(demo: Demo) -> None:
    _, truth, home = demo
    result = CliRunner().invoke(
        cli, ["--home", str(home), "uncategorized", "--days", "30", "--limit", "500", "--json"]
    )
    assert result.exit_code == 0, result.output
    builds = {b["build_uuid"]: b for b in json.loads(result.output)["builds"]}
    broken = [builds[u] for u in next(iter(truth.broken_jobs.values())) if u in builds]
    assert broken, "the always-failing job's builds are uncategorized"
    for build in broken:
        assert build["failed_tests_say"].endswith("broken")
        assert build["explained_by_test_health"] is True
    first = builds[truth.regression.builds[0]]
    assert first["failed_tests_say"] == "1 started"
    assert first["explained_by_test_health"] is False


def test_health_test_accepts_a_unique_part_of_an_id_and_lists_an_ambiguous_one(demo: Demo) -> None:
    _, truth, home = demo
    test_id = truth.regression.test_id
    part = test_id.rsplit(".", 2)[-2] + "." + test_id.rsplit(".", 1)[-1]  # Class.test_method
    runner = CliRunner()
    whole = runner.invoke(cli, ["--home", str(home), "health", "test", test_id, "--json"])
    by_part = runner.invoke(cli, ["--home", str(home), "health", "test", part, "--json"])
    assert whole.exit_code == by_part.exit_code == 0, by_part.output
    assert json.loads(by_part.output) == json.loads(whole.output)
    ambiguous = runner.invoke(cli, ["--home", str(home), "health", "test", "test_"])
    assert ambiguous.exit_code == 3
    assert "is part of several test ids" in ambiguous.stderr
    assert runner.invoke(cli, ["--home", str(home), "health", "test", "no-such-test"]).exit_code == 3
