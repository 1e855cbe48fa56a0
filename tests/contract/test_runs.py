"""Runs and test results: round trips, retries, replacement by hash, history, awkward text."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from gatewatch.domain.results import Outcome, ResultFormat, Run, TestResult
from gatewatch.store import Store
from support.stores import T0, make_build, make_results, make_run, runs

FIXTURE_OK = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FIXTURE_OK
@given(run=runs)
def test_run_round_trips_with_and_without_a_build(store: Store, run: Run) -> None:
    with store.unit_of_work() as uow:
        build_pk = uow.builds.save(make_build("b1"))
        linked = uow.runs.save(run, build_pk=build_pk)
        alone = uow.runs.save(replace(run, content_hash=run.content_hash + "-alone"), build_pk=None)
    with store.unit_of_work(readonly=True) as uow:
        assert uow.runs.get_for_build("b1") == [run]
        assert uow.runs.get(linked) == run
        assert uow.runs.get(alone) == replace(run, content_hash=run.content_hash + "-alone")


def test_a_big_run_round_trips_in_order(store: Store) -> None:
    run = make_run("big", count=5_000)
    with store.unit_of_work() as uow:
        pk = uow.runs.save(run, build_pk=uow.builds.save(make_build("b1")))
    with store.unit_of_work(readonly=True) as uow:
        assert uow.runs.get(pk) == run
        assert uow.stats.counts()["tests"] == 5_000


def test_retries_are_kept_as_separate_rows(store: Store) -> None:
    attempts = tuple(
        TestResult(test_id="t.flaky", outcome=outcome, attempt=n, message=f"try {n}")
        for n, outcome in enumerate([Outcome.FAIL, Outcome.FAIL, Outcome.PASS], start=1)
    )
    run = make_run("r", results=attempts)
    with store.unit_of_work() as uow:
        run_pk = uow.runs.save(run, build_pk=uow.builds.save(make_build("b1")))
    with store.unit_of_work(readonly=True) as uow:
        history = uow.tests.history("t.flaky")
        counts = uow.stats.counts()
    assert [(r.attempt, r.outcome, uuid, pk) for r, uuid, pk in history] == [
        (1, Outcome.FAIL, "b1", run_pk),
        (2, Outcome.FAIL, "b1", run_pk),
        (3, Outcome.PASS, "b1", run_pk),
    ]
    assert (counts["tests"], counts["test_results"]) == (1, 3)


def test_saving_a_run_with_a_stored_hash_replaces_it(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.runs.save(make_run("same", count=4), build_pk=None)
        uow.runs.save(make_run("same", count=2), build_pk=None)
        counts = uow.stats.counts()
    assert (counts["runs"], counts["test_results"]) == (1, 2)


def test_history_is_ordered_and_windowed_across_builds(store: Store) -> None:
    with store.unit_of_work() as uow:
        for day in (2, 0, 1):
            build = make_build(f"day{day}", start_time=T0 + timedelta(days=day))
            result = TestResult(test_id="t.x", outcome=Outcome.PASS, started_at=None)
            run = make_run(f"run{day}", results=(result,), started_at=None)
            uow.runs.save(run, build_pk=uow.builds.save(build))
        uow.runs.save(make_run("undated", results=(result,), started_at=None), build_pk=None)
    cases = [
        ({}, [None, "day0", "day1", "day2"]),
        ({"since": T0 + timedelta(days=1)}, ["day1", "day2"]),
        ({"until": T0 + timedelta(days=1)}, ["day0"]),
        ({"since": T0 + timedelta(hours=1), "until": T0 + timedelta(days=2)}, ["day1"]),
    ]
    with store.unit_of_work(readonly=True) as uow:
        for window, expected in cases:
            assert [uuid for _, uuid, _ in uow.tests.history("t.x", **window)] == expected, window
        assert uow.tests.history("t.unknown") == []


@pytest.mark.parametrize(
    ("given_text", "stored"),
    [
        ("a\x00b", "a\ufffdb"),
        ("\x00", "\ufffd"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("astral 🐍𝔘 and ü", "astral 🐍𝔘 and ü"),
        ("tabs\tand\r\nnewlines", "tabs\tand\r\nnewlines"),
    ],
)
def test_nul_and_lone_surrogates_become_replacement_chars(store: Store, given_text: str, stored: str) -> None:
    result = TestResult(
        test_id="t" + given_text, outcome=Outcome.FAIL, message=given_text, traceback=given_text
    )
    run = Run(format=ResultFormat.JUNIT, source=given_text, content_hash="h", results=(result,))
    with store.unit_of_work() as uow:
        uow.runs.save(run, build_pk=None)
    with store.unit_of_work(readonly=True) as uow:
        ((loaded, _, _),) = uow.tests.history("t" + given_text)
    assert (loaded.test_id, loaded.message, loaded.traceback) == ("t" + stored, stored, stored)


def test_results_share_test_rows_across_runs(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.runs.save(make_run("one", results=make_results(10)), build_pk=None)
        uow.runs.save(make_run("two", results=make_results(20)), build_pk=None)
        counts = uow.stats.counts()
    assert (counts["tests"], counts["test_results"]) == (20, 30)


def test_results_select_a_window_of_one_job_or_project(store: Store) -> None:
    table = [("a", "j1", "p1", 0), ("b", "j1", "p2", 1), ("c", "j2", "p1", 2)]
    with store.unit_of_work() as uow:
        for uuid, job, project, day in table:
            build = make_build(uuid, job_name=job, project=project, start_time=T0 + timedelta(days=day))
            run = make_run(uuid, results=make_results(2), started_at=None)
            uow.runs.save(
                replace(run, results=tuple(replace(r, started_at=None) for r in run.results)),
                build_pk=uow.builds.save(build),
            )
    cases = [
        ({}, ["a", "a", "b", "b", "c", "c"]),
        ({"job_name": "j1"}, ["a", "a", "b", "b"]),
        ({"project": "p1"}, ["a", "a", "c", "c"]),
        ({"job_name": "j1", "since": T0 + timedelta(hours=1)}, ["b", "b"]),
        ({"until": T0 + timedelta(days=2), "limit": 3}, ["a", "a", "b"]),
        ({"job_name": "nope"}, []),
    ]
    with store.unit_of_work(readonly=True) as uow:
        for filters, expected in cases:
            assert [uuid for _, uuid, _ in uow.tests.results(**filters)] == expected, filters  # type: ignore[arg-type]
