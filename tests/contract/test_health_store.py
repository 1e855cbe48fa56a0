"""Health rollups in the store: incremental upkeep in the ingest transaction equals a rebuild
from raw rows (new runs, retries, runs without time or build, re-ingested runs and replaced
builds), and the window/branch/pipeline/job queries select the right rows. SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gatewatch.domain.builds import BuildResult
from gatewatch.domain.results import Outcome, TestResult
from gatewatch.store import Store
from gatewatch.store import runs as runs_module
from gatewatch.store import schema as t
from gatewatch.store.health_queries import HealthQuery
from support.stores import T0, make_build, make_run


def _snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row, with floats rounded (sums may add in another order)."""
    out = {}
    with store.unit_of_work(readonly=True) as uow:
        conn = uow.health._conn
        for table in (t.daily_test_rollup, t.daily_job_rollup):
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(
                tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows
            )
    return out


def _rebuilt(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.unit_of_work() as uow:
        uow.health.rebuild_all()
    return _snapshot(store)


def _results(outcomes: str, *, shift_s: int = 0) -> tuple[TestResult, ...]:
    """One result per letter: p pass, f fail, s skip; upper case adds a passing retry."""
    results = []
    for i, letter in enumerate(outcomes):
        outcome = {"p": Outcome.PASS, "f": Outcome.FAIL, "s": Outcome.SKIP}[letter.lower()]
        at = T0 + timedelta(seconds=shift_s + i)
        results.append(TestResult(test_id=f"t.{i}", outcome=outcome, duration_s=1.0 + i, started_at=at))
        if letter.isupper():
            results.append(replace(results[-1], attempt=2, outcome=Outcome.PASS, duration_s=2.0))
    return tuple(results)


def _save(store: Store, uuid: str, outcomes: str, *, day: int = 0, **fields: Any) -> None:
    start = T0 + timedelta(days=day)
    build = make_build(uuid, start_time=start, end_time=start + timedelta(hours=1), **fields)
    run = make_run(f"run-{uuid}", results=_results(outcomes, shift_s=day * 86_400))
    with store.unit_of_work() as uow:
        pk = uow.builds.save(build)
        uow.runs.save(replace(run, started_at=start), build_pk=pk)


def _history(store: Store) -> None:
    _save(store, "b1", "ppfs", result=BuildResult.FAILURE)
    _save(store, "b2", "pFpp", result=BuildResult.SUCCESS)
    _save(store, "b3", "fppp", result=BuildResult.FAILURE, day=1)
    _save(store, "b4", "pppf", result=BuildResult.FAILURE, day=1, job_name="unit", pipeline="check")
    untimed = make_run(
        "loose", results=tuple(replace(r, started_at=None) for r in _results("pf")), started_at=None
    )
    with store.unit_of_work() as uow:
        uow.runs.save(untimed, build_pk=None)


def test_incremental_rollups_equal_a_rebuild(store: Store) -> None:
    _history(store)
    incremental = _snapshot(store)
    assert len(incremental["daily_job_rollup"]) == 3
    assert incremental == _rebuilt(store)


def test_reingested_run_replaces_its_contribution(store: Store) -> None:
    _history(store)
    changed = make_run("run-b2", results=_results("ffff"), started_at=T0)
    with store.unit_of_work() as uow:
        build_pk = uow.health._conn.execute(select(t.build.c.id).where(t.build.c.uuid == "b2")).scalar_one()
        uow.runs.save(changed, build_pk=build_pk)
    after = _snapshot(store)
    assert after == _rebuilt(store)
    with store.unit_of_work(readonly=True) as uow:
        _, attempts, failures = uow.health.test_totals(HealthQuery(job="tempest-full"))
    assert (attempts, failures) == (12, 6)  # b1 4 (1 fail), b2 4 (4 fail), b3 4 (1 fail); retry gone


def test_replaced_build_counts_once(store: Store) -> None:
    _history(store)
    _save(store, "b1", "pppp", result=BuildResult.SUCCESS)
    after = _snapshot(store)
    assert after == _rebuilt(store)
    with store.unit_of_work(readonly=True) as uow:
        jobs = uow.health.job_rollups(HealthQuery(job="tempest-full"))
    assert sum(j.builds for j in jobs) == 3
    assert sum(j.failures for j in jobs) == 1


@pytest.mark.parametrize(
    ("query", "failing"),
    [
        (HealthQuery(), ["t.0", "t.1", "t.2", "t.3"]),
        (HealthQuery(job="unit"), ["t.3"]),
        (HealthQuery(pipeline="check"), ["t.3"]),
        (HealthQuery(since=T0.date() + timedelta(days=1)), ["t.0", "t.3"]),
        (HealthQuery(until=T0.date() + timedelta(days=1)), ["t.1", "t.2"]),
        (HealthQuery(branch="stable/x"), []),
    ],
)
def test_failing_tests_follow_the_selection(store: Store, query: HealthQuery, failing: list[str]) -> None:
    _history(store)
    with store.unit_of_work(readonly=True) as uow:
        pks = uow.health.failing_test_pks(query)
        ids = sorted(uow.health.test_ids(pks).values())
    assert ids == failing


def test_rollups_and_raw_columns_of_one_test(store: Store) -> None:
    _history(store)
    with store.unit_of_work(readonly=True) as uow:
        pk = uow.health.test_pk("t.1")
        assert pk is not None
        assert uow.health.test_pk("nope") is None
        rollups = uow.health.test_rollups(HealthQuery(), [pk])
        cols = uow.health.test_columns(HealthQuery(job="tempest-full"), [pk])
        latest = uow.health.latest_day()
    assert {r.test_id for r in rollups} == {"t.1"}
    assert sum(r.failures for r in rollups) == 2  # b2's first attempt and the untimed run
    assert sum(r.mixed_runs for r in rollups) == 1
    assert cols.test_ids == ("t.1",)
    assert cols.size == 4  # b1, b2 (two attempts), b3
    assert latest == date(T0.year, T0.month, T0.day) + timedelta(days=1)


def test_reingested_untimed_run_and_refreshed_builds_stay_exact(store: Store) -> None:
    _history(store)
    untimed = make_run("loose", results=tuple(replace(r, started_at=None) for r in _results("ff")))
    with store.unit_of_work() as uow:
        uow.runs.save(replace(untimed, started_at=None), build_pk=None)
        uow.health.refresh_builds(["b1", "b4"])
    after = _snapshot(store)
    assert after == _rebuilt(store)
    with store.unit_of_work(readonly=True) as uow:
        untimed_rows = uow.health.test_rollups(HealthQuery(job=""), [uow.health.test_pk("t.0") or 0])
    assert [(r.day, r.failures, r.passes) for r in untimed_rows] == [(None, 1, 0)]


def test_a_run_saved_in_steps_stores_its_results_in_order_and_exact_rollups(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run larger than the save step (here 4 results) goes in step by step; a test's retry far
    down the stream lands in another insert step but the same rollup part, so its run counts once."""
    monkeypatch.setattr(runs_module, "SAVE_CHUNK", 4)
    first = _results("pfpsPfpppF")  # 12 results: two tests with a passing retry
    late_retries = tuple(
        replace(r, attempt=3, outcome=Outcome.FAIL, started_at=r.started_at + timedelta(hours=30))
        for r in first[:3]
        if r.started_at is not None
    )  # retries of t.0-t.2 on the next UTC day, at the end of the stream
    run = make_run("stepped", results=first + late_retries, started_at=T0)
    build = make_build("b-steps", start_time=T0, end_time=T0 + timedelta(hours=1))
    with store.unit_of_work() as uow:
        pk = uow.runs.save(run, build_pk=uow.builds.save(build))
    with store.unit_of_work(readonly=True) as uow:
        assert uow.runs.get(pk) == run
    incremental = _snapshot(store)
    assert incremental == _rebuilt(store)
    with store.unit_of_work(readonly=True) as uow:
        rows = uow.health.test_rollups(HealthQuery(), [uow.health.test_pk("t.0") or 0])
    assert [(r.runs, r.passes, r.failures, r.mixed_runs) for r in rows] == [(1, 1, 1, 1)]


def test_find_tests_matches_a_literal_part_of_ids_shortest_first(store: Store) -> None:
    ids = ["pkg.T.test_a", "pkg.T.test_ab", "pkg.T.test_100%_sure", "pkg.T.test_1000_sure", "other.X.test_a"]
    run = make_run("ids", results=tuple(TestResult(test_id=i, outcome=Outcome.PASS) for i in ids))
    with store.unit_of_work() as uow:
        uow.runs.save(run, build_pk=None)
    with store.unit_of_work(readonly=True) as uow:
        found = uow.health.find_tests
        assert [tid for _, tid in found("test_a", limit=10)] == [
            "pkg.T.test_a",
            "pkg.T.test_ab",
            "other.X.test_a",
        ]
        assert [tid for _, tid in found("100%_", limit=10)] == ["pkg.T.test_100%_sure"]  # % and _ are literal
        assert [tid for _, tid in found("test_a", limit=1)] == ["pkg.T.test_a"]
        assert found("nothing", limit=10) == []
        assert {pk for pk, _ in found("pkg.T.", limit=10)} == {uow.health.test_pk(i) for i in ids[:4]}
