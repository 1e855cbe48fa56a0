"""Use cases of test and job health: overview, one job, one test, flaky list, rebuild, summary.

Each question opens one read-only unit of work. Window-wide numbers come from the daily
rollups (summed in SQL; only tests that failed in the window reach Python); verdicts that
need runs grouped by code (flaky evidence) are computed from the raw rows of those few
tests with ``compute_test_health``. Job health reads the builds table (small: one row per
build) so that "P(fail | correct change)" and the same-code evidence are exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from gatewatch.analyse.health import (
    classify_job_status,
    compute_attention_order,
    compute_job_health,
    compute_test_health,
    compute_test_health_from_rollups,
    render_job_verdict,
    wilson_interval,
)
from gatewatch.analyse.health.stats import compute_expected_rechecks
from gatewatch.domain.health import DailyJobRollup, DailyTestRollup, HealthStatus, JobHealth, TestHealth
from gatewatch.errors import HealthError, NotFoundError
from gatewatch.store import Store
from gatewatch.store.health_queries import HealthQueries, HealthQuery

DEFAULT_DAYS = 28
FLAGGED = (HealthStatus.FLAKY, HealthStatus.BROKEN)
STATUS_RANK = [HealthStatus.FLAKY, HealthStatus.BROKEN, HealthStatus.FAILING, HealthStatus.STABLE]


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """What the user asked for: a window (``days`` up to the newest data, or ``since``) and filters."""

    days: int | None = None
    since: date | None = None
    branch: str | None = None
    pipeline: str | None = None
    job: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TestReport:
    """One test: overall health (with evidence), health per job, and its daily rollups."""

    __test__ = False

    health: TestHealth
    by_job: tuple[TestHealth, ...]
    daily: tuple[DailyTestRollup, ...]


def resolve_query(store: Store, selection: Selection) -> HealthQuery:
    """The rollup query of a selection: ``--days N`` ends at the newest ingested day (not the clock)."""
    if selection.days is not None and selection.days < 1:
        raise HealthError(f"--days must be at least 1, got {selection.days}", hint="e.g. --days 7")
    since = selection.since
    if since is None:
        with store.unit_of_work(readonly=True) as uow:
            latest = uow.health.latest_day()
        if latest is not None:
            since = latest - timedelta(days=(selection.days or DEFAULT_DAYS) - 1)
    return HealthQuery(since=since, branch=selection.branch, pipeline=selection.pipeline, job=selection.job)


def load_jobs_health(store: Store, query: HealthQuery) -> tuple[JobHealth, ...]:
    """Health of every job in the selection from raw builds (with daily rates and evidence)."""
    with store.unit_of_work(readonly=True) as uow:
        builds = uow.health.job_observations(query=query)
    return compute_job_health(builds)


def load_jobs_overview(store: Store, query: HealthQuery) -> tuple[JobHealth, ...]:
    """Health of every job, fast: counts from the daily job rollups and correct-change numbers
    from one SQL aggregate over (job, code); the same numbers as ``load_jobs_health`` without
    ``daily`` and ``evidence`` (the status says flaky when same-code evidence exists)."""
    with store.unit_of_work(readonly=True) as uow:
        totals = uow.health.job_totals(query)  # summed in SQL, by job name
        codes = uow.health.job_code_summary(query)
    return tuple(_overview(r, codes.get(r.job_name, (True, 0, 0, 0))) for r in totals)


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _overview(r: DailyJobRollup, code: tuple[bool, int, int, int]) -> JobHealth:
    voting, correct, correct_fails, flaky_codes = code
    n, f, i, k = r.builds, r.failures, r.infra_failures, r.known_failures
    real = f - i
    status = classify_job_status(
        builds=n, successes=r.successes, real_failures=real, infra_failures=i, flaky=flaky_codes > 0
    )
    p = _rate(correct_fails, correct)
    return JobHealth(
        job_name=r.job_name,
        status=status,
        voting=voting,
        builds=n,
        successes=r.successes,
        failures=f,
        infra_failures=i,
        known_failures=k,
        failure_rate=_rate(f, n),
        failure_rate_excl_infra=_rate(f - i, n - i),
        failure_rate_excl_known=_rate(f - i - k, n - i - k),
        failure_interval_excl_infra=wilson_interval(f - i, n - i),
        correct_builds=correct,
        correct_change_failure_probability=p,
        correct_change_interval=wilson_interval(correct_fails, correct),
        expected_rechecks=compute_expected_rechecks(p),
    )


def load_job_health(store: Store, name: str, query: HealthQuery) -> JobHealth:
    """Health of the job ``name``; a HealthError when it has no build in the selection."""
    jobs = load_jobs_health(store, replace(query, job=name))
    if not jobs:
        raise NotFoundError(
            f"no build of job {name!r} in the selected history",
            hint="check the name with `gatewatch health`, or widen --days/--since, --branch, --pipeline",
        )
    return jobs[0]


MAX_CANDIDATES = 10


def resolve_test(health: HealthQueries, given: str) -> int:
    """The test whose id is ``given``, else the only test whose id contains it.

    Test ids are long (``tempest.api.compute.servers.test_servers.ServersTest.test_x[id-...]``):
    a unique part of one (``ServersTest.test_x``) names it; an ambiguous part lists candidates.
    """
    pk = health.test_pk(given)
    if pk is not None:
        return pk
    found = health.find_tests(given, limit=MAX_CANDIDATES + 1) if given.strip() else []
    if len(found) == 1:
        return found[0][0]
    if not found:
        raise NotFoundError(
            f"unknown test {given!r}: no test id is or contains it",
            hint="copy an id (or a unique part of one) from `gatewatch flaky` or your results files",
        )
    shown = "; ".join(tid for _, tid in found[:MAX_CANDIDATES])
    more = " and more" if len(found) > MAX_CANDIDATES else ""
    raise NotFoundError(
        f"{given!r} is part of several test ids: {shown}{more}",
        hint="give the whole id, or a longer part that only one id contains",
    )


def load_test_report(store: Store, test_id: str, query: HealthQuery) -> TestReport:
    """Health of one test from its raw attempts, per job, and its daily rollups.

    When the test ran in several jobs, its status is the most severe of its per-job statuses
    (flaky, broken, failing, stable) and its evidence the per-job evidence.
    """
    with store.unit_of_work(readonly=True) as uow:
        pk = resolve_test(uow.health, test_id)
        cols = uow.health.test_columns(query, [pk])
        jobs = sorted({job for job, _, _ in cols.slices})
        by_job = tuple(
            replace(h, job_name=job)
            for job in jobs
            if len(jobs) > 1
            for h in compute_test_health(uow.health.test_columns(replace(query, job=job), [pk]))
        )
        daily = tuple(uow.health.test_rollups(query, [pk]))
    if cols.size == 0:
        raise HealthError(
            f"test {test_id!r} did not run in the selected history",
            hint="widen --days/--since or the filters",
        )
    (health,) = compute_test_health(cols)
    if by_job:  # verdicts are per job: the same change in two jobs is not the same code tested twice
        status = min((j.status for j in by_job), key=STATUS_RANK.index)
        health = replace(
            health,
            status=status,
            evidence=tuple(e for j in by_job for e in j.evidence),
            regressions=tuple(r for j in by_job for r in j.regressions),
        )
    return TestReport(health=health, by_job=by_job, daily=daily)


def load_flaky_tests(
    store: Store, query: HealthQuery, *, include_broken: bool = True, include_regressions: bool = False
) -> tuple[TestHealth, ...]:
    """Flaky (and broken) tests per job, with their evidence, flaky first, most costly first;
    with ``include_regressions`` also the (FAILING) tests whose failures form a regression
    window that was fixed, last.

    Health is judged per (test, job): a test that always fails in a broken job and passes in
    the others is broken there, not flaky, and runs of the same change in two jobs are not
    "the same code tested twice". Only tests that failed in the window (SQL ``HAVING
    SUM(failures) > 0`` over the rollups) are read as raw rows.
    """
    flagged = FLAGGED if include_broken else (HealthStatus.FLAKY,)

    def wanted(h: TestHealth) -> bool:
        return h.status in flagged or (include_regressions and bool(h.regressions))

    with store.unit_of_work(readonly=True) as uow:
        columns = uow.health.candidate_columns(query, uow.health.failing_tests_by_job(query))
    tests = [
        replace(h, job_name=job)
        for job, cols in sorted(columns.items())
        for h in compute_test_health(cols)
        if wanted(h)
    ]
    tests.sort(key=lambda h: (STATUS_RANK.index(h.status), -(h.failure_probability or 0.0), h.test_id))
    return tuple(tests)


def load_test_health_overview(store: Store, query: HealthQuery) -> tuple[TestHealth, ...]:
    """Health of every test that failed in the selection, from rollups only (no evidence)."""
    with store.unit_of_work(readonly=True) as uow:
        rollups = uow.health.test_rollups(query, uow.health.failing_test_pks(query))
    return compute_test_health_from_rollups(rollups)


def rebuild_health(store: Store, *, on_progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Recompute every rollup from raw rows in one transaction; returns (test rollups, job rollups)."""
    with store.unit_of_work() as uow:
        return uow.health.rebuild_all(on_progress=on_progress)


def render_health_summary(store: Store, *, days: int | None = None) -> list[str]:
    """A few lines for the end of ``make demo``: the jobs worth attention (broken, flaky,
    failing) with what that means, a count of the healthy rest, the flakiest tests and the
    regression windows."""
    query = resolve_query(store, Selection(days=days))
    jobs = compute_attention_order(load_jobs_overview(store, query))
    found = load_flaky_tests(store, query, include_regressions=True)
    window = f"since {query.since}" if query.since else "all history"
    lines = [f"health ({window}): {len(jobs)} jobs, {sum(j.builds for j in jobs):,} builds"]
    attention = [j for j in jobs if j.status != HealthStatus.STABLE]
    for job in attention:
        lines.append(
            f"  job {job.job_name}{'' if job.voting else ' (non-voting)'}: {render_job_verdict(job)}"
        )
    rest = len(jobs) - len(attention)
    lines.append(f"  {rest} other jobs healthy (no real failure beyond infra, or under 0.5 % of builds)")
    flaky = [h for h in found if h.status == HealthStatus.FLAKY]
    broken = [h for h in found if h.status == HealthStatus.BROKEN]
    regressed = [h for h in found if h.regressions and h.status != HealthStatus.FLAKY]
    lines.append(
        f"  {len(flaky)} flaky and {len(broken)} broken tests, {len(regressed)} hit by a regression window "
        "(gatewatch flaky)"
    )
    for h in flaky[:5]:
        lo, hi = h.failure_interval
        lines.append(f"    {(h.failure_probability or 0):6.2%} [{lo:.2%}, {hi:.2%}]  {h.test_id}")
    for h in regressed[:3]:
        w = h.regressions[-1]
        until = f"to {w.ended_at:%Y-%m-%d %H:%M}, fixed" if w.fixed and w.ended_at else "still failing"
        since = f"{w.started_at:%Y-%m-%d %H:%M}" if w.started_at else "?"
        lines.append(
            f"    regression, not flaky: broken from {since} {until} ({w.failed_runs} runs)  {h.test_id}"
        )
    return lines
