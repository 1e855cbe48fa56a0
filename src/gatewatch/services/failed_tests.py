"""Use case: the tests one build failed, each with what its history in that job says.

For `gatewatch explain BUILD`: the build's failed tests (those whose last attempt in a run
failed; a test a retry rescued is not a cause of the failure), their health in the build's
job over the health window (two queries for all of them), and a note per test
(`analyse/health/failure_note.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gatewatch.analyse.health import compute_test_health
from gatewatch.analyse.health.failure_note import (
    FailureKind,
    FailureNote,
    explain_test_failure,
    is_explained_by_history,
    render_kind_counts,
    summarize_failure_notes,
)
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
    """A build's failed tests: the first ``MAX_FAILED_TESTS`` read, ``total`` in all."""

    tests: tuple[FailedTest, ...]
    total: int

    @property
    def notes(self) -> list[FailureNote]:
        return [t.note for t in self.tests]

    @property
    def advice(self) -> str:
        return summarize_failure_notes(self.notes, self.total)

    @property
    def explained_by_history(self) -> bool:
        return is_explained_by_history(self.notes, self.total)

    @property
    def all_flaky(self) -> bool:
        """Every failed test (all read) is flaky in the job: a retry is likely to pass."""
        return 0 < self.total == len(self.tests) and all(n.kind is FailureKind.FLAKY for n in self.notes)

    @property
    def kind_counts(self) -> str:
        return render_kind_counts(self.notes, self.total)


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
    return load_failed_tests_of(store, [build], days=days, limit=limit)[build.uuid]


def load_failed_tests_of(
    store: Store, builds: Sequence[Build], *, days: int = DEFAULT_DAYS, limit: int = MAX_FAILED_TESTS
) -> dict[str, FailedTests]:
    """``load_failed_tests`` for several builds: one health read per job for all their failed tests."""
    failed: dict[str, list[TestResult]] = {}
    with store.unit_of_work(readonly=True) as uow:
        for build in builds:
            failed[build.uuid] = final_failures([run.results for run in uow.runs.get_for_build(build.uuid)])
    wanted: dict[str, set[str]] = {}
    for build in builds:
        wanted.setdefault(build.job_name, set()).update(r.test_id for r in failed[build.uuid][:limit])
    healths: dict[tuple[str, str], TestHealth] = {}
    if any(wanted.values()):
        query = resolve_query(store, Selection(days=days))
        with store.unit_of_work(readonly=True) as uow:
            for job, test_ids in wanted.items():
                pks = sorted(set(uow.tests.pks(sorted(test_ids)).values()))
                if not pks:
                    continue
                columns = uow.health.candidate_columns(replace(query, job=job), {job: pks})
                for cols in columns.values():
                    healths.update(((job, h.test_id), h) for h in compute_test_health(cols))
    out: dict[str, FailedTests] = {}
    for build in builds:
        tests = tuple(
            FailedTest(
                result=r,
                health=healths.get((build.job_name, r.test_id)),
                note=explain_test_failure(
                    healths.get((build.job_name, r.test_id)),
                    job_name=build.job_name,
                    build_uuid=build.uuid,
                    start=build.start_time,
                    end=build.end_time,
                ),
            )
            for r in failed[build.uuid][:limit]
        )
        out[build.uuid] = FailedTests(tests=tests, total=len(failed[build.uuid]))
    return out
