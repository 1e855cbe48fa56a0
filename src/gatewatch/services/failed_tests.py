"""Use case: the tests one build failed, each with what its history in that job says.

For `gatewatch explain BUILD`: the build's failed tests (those whose last attempt in a run
failed; a test a retry rescued is not a cause of the failure), their health in the build's
job over the health window (two queries for all of them), and a note per test
(`analyse/health/failure_note.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from gatewatch.analyse.health import compute_test_health
from gatewatch.analyse.health.failure_note import FailureNote, explain_test_failure, summarize_failure_notes
from gatewatch.domain.builds import Build
from gatewatch.domain.health import TestHealth
from gatewatch.domain.results import TestResult
from gatewatch.services.health import DEFAULT_DAYS, Selection, resolve_query
from gatewatch.store import Store

MAX_FAILED_TESTS = 20
"""Failed tests explained per build (a build that fails hundreds of tests is broken, not unlucky)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedTest:
    result: TestResult
    health: TestHealth | None
    note: FailureNote


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedTests:
    tests: tuple[FailedTest, ...]
    total: int
    advice: str


def final_failures(runs: list[tuple[TestResult, ...]]) -> list[TestResult]:
    """Results whose test's last attempt in its run failed, in run order."""
    failed: list[TestResult] = []
    for results in runs:
        last: dict[str, TestResult] = {}
        for result in results:
            last[result.test_id] = result
        failed.extend(r for r in last.values() if r.outcome.is_failure)
    return failed


def load_failed_tests(
    store: Store, build: Build, *, days: int = DEFAULT_DAYS, limit: int = MAX_FAILED_TESTS
) -> FailedTests:
    """The failed tests of ``build`` (the first ``limit``) with their health in its job and a note each."""
    with store.unit_of_work(readonly=True) as uow:
        runs = [run.results for run in uow.runs.get_for_build(build.uuid)]
    failed = final_failures(runs)
    shown = failed[:limit]
    healths: dict[str, TestHealth] = {}
    if shown:
        query = resolve_query(store, Selection(days=days, job=build.job_name))
        with store.unit_of_work(readonly=True) as uow:
            pks = [pk for r in shown if (pk := uow.health.test_pk(r.test_id)) is not None]
            columns = uow.health.candidate_columns(query, {build.job_name: sorted(set(pks))})
        for cols in columns.values():
            healths.update((h.test_id, h) for h in compute_test_health(cols))
    tests = tuple(
        FailedTest(
            result=r,
            health=healths.get(r.test_id),
            note=explain_test_failure(
                healths.get(r.test_id),
                job_name=build.job_name,
                build_uuid=build.uuid,
                start=build.start_time,
                end=build.end_time,
            ),
        )
        for r in shown
    )
    advice = summarize_failure_notes([t.note for t in tests], len(failed))
    return FailedTests(tests=tests, total=len(failed), advice=advice)
