"""Daily test rollups: what the store pre-aggregates in the ingest transaction, and health from them.

One :class:`DailyTestRollup` per (UTC day, test, job, branch, pipeline). Ingest computes
the rollups of the new run with :func:`compute_daily_test_rollups` and folds them into the
stored rows with :func:`merge_rollup_pair` (an upsert). Every field merges exactly: counts
add, first/last times take min/max, the log-scale duration histograms add bucket-wise,
and flips add plus one when the earlier part's last run and the later part's first run
disagree. (When a run arrives out of time order inside a day the boundary flip is counted
as if it came last; the daily numbers can be rebuilt from raw rows with the same function.)

What rollups cannot answer: "same code" (which needs runs grouped by change/patchset
across days) and the run keys of the evidence. :func:`compute_test_health_from_rollups`
therefore flags FLAKY from retries inside runs (``mixed_runs``) and from the history score,
and the service loads the raw rows of the flagged tests to attach evidence with
``compute_test_health``. A re-ingested run whose results changed: the store subtracts by
rebuilding the affected days from raw rows (rollups are not invertible for min/max/flips).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from gatewatch.analyse.health.columns import FAIL, OUTCOME_CODE, PASS
from gatewatch.analyse.health.durations import DurationStepOptions, detect_duration_step
from gatewatch.analyse.health.stats import (
    compute_histogram,
    compute_histogram_quantile,
    merge_histograms,
    wilson_interval,
)
from gatewatch.domain.health import (
    BuildVerdict,
    DailyTestRollup,
    DurationStep,
    HealthStatus,
    TestHealth,
    TestObservation,
)

RollupKey = tuple[date | None, str, str, str, str]


def rollup_key(r: DailyTestRollup) -> RollupKey:
    """The identity of a rollup row: (day, test_id, job_name, branch, pipeline)."""
    return (r.day, r.test_id, r.job_name, r.branch, r.pipeline)


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


@dataclass(slots=True)
class _RunAcc:
    order: int
    first_at: datetime | None = None
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])  # pass fail skip infra known
    fail_times: list[datetime] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)

    def add(self, o: TestObservation) -> None:
        at = _utc(o.started_at)
        if at is not None and (self.first_at is None or at < self.first_at):
            self.first_at = at
        if o.build_verdict == BuildVerdict.INFRA:
            self.counts[3] += 1
            return
        code = OUTCOME_CODE[o.outcome]
        self.counts[code] += 1
        if code == FAIL:
            self.counts[4] += o.build_verdict == BuildVerdict.KNOWN
            if at is not None:
                self.fail_times.append(at)
        elif code == PASS and o.duration_s is not None:
            self.durations.append(o.duration_s)


def _run_rollup(key: RollupKey, acc: _RunAcc) -> DailyTestRollup:
    passes, fails, skips, infra, known = acc.counts
    counted = passes + fails > 0
    return DailyTestRollup(
        day=key[0],
        test_id=key[1],
        job_name=key[2],
        branch=key[3],
        pipeline=key[4],
        runs=int(passes + fails + skips > 0),
        counted_runs=int(counted),
        failed_runs=int(fails > 0),
        mixed_runs=int(passes > 0 and fails > 0),
        attempts=passes + fails + skips,
        passes=passes,
        failures=fails,
        skips=skips,
        infra_attempts=infra,
        known_failures=known,
        first_failed=fails > 0,
        last_failed=fails > 0,
        first_at=acc.first_at if counted else None,
        last_at=acc.first_at if counted else None,
        first_failure_at=min(acc.fail_times, default=None),
        last_failure_at=max(acc.fail_times, default=None),
        duration_count=len(acc.durations),
        duration_sum_s=float(sum(acc.durations)),
        duration_hist=compute_histogram(acc.durations),
    )


def compute_daily_test_rollups(observations: Iterable[TestObservation]) -> tuple[DailyTestRollup, ...]:
    """Rollups of raw observations (one run at ingest, or a whole history to rebuild)."""
    runs: dict[tuple[RollupKey, str], _RunAcc] = {}
    for i, o in enumerate(observations):
        at = _utc(o.started_at)
        key = (None if at is None else at.date(), o.test_id, o.job_name, o.branch, o.pipeline)
        acc = runs.get((key, o.run_key))
        if acc is None:
            acc = runs[(key, o.run_key)] = _RunAcc(order=i)
        acc.add(o)
    per_run = sorted(runs.items(), key=lambda kv: (_sort_time(kv[1].first_at), kv[1].order))
    return merge_rollups(_run_rollup(key, acc) for (key, _), acc in per_run)


def _sort_time(at: datetime | None) -> tuple[int, float]:
    return (1, 0.0) if at is None else (0, at.timestamp())


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def merge_rollup_pair(earlier: DailyTestRollup, later: DailyTestRollup) -> DailyTestRollup:
    """Fold two rollups of the same key; ``later``'s runs come after ``earlier``'s."""
    if earlier.counted_runs == 0 or later.counted_runs == 0:
        boundary = 0
        first = earlier.first_failed if earlier.counted_runs else later.first_failed
        last = later.last_failed if later.counted_runs else earlier.last_failed
    else:
        boundary = int(earlier.last_failed != later.first_failed)
        first, last = earlier.first_failed, later.last_failed
    return replace(
        earlier,
        runs=earlier.runs + later.runs,
        counted_runs=earlier.counted_runs + later.counted_runs,
        failed_runs=earlier.failed_runs + later.failed_runs,
        mixed_runs=earlier.mixed_runs + later.mixed_runs,
        attempts=earlier.attempts + later.attempts,
        passes=earlier.passes + later.passes,
        failures=earlier.failures + later.failures,
        skips=earlier.skips + later.skips,
        infra_attempts=earlier.infra_attempts + later.infra_attempts,
        known_failures=earlier.known_failures + later.known_failures,
        flips=earlier.flips + later.flips + boundary,
        first_failed=first,
        last_failed=last,
        first_at=_min(earlier.first_at, later.first_at),
        last_at=_max(earlier.last_at, later.last_at),
        first_failure_at=_min(earlier.first_failure_at, later.first_failure_at),
        last_failure_at=_max(earlier.last_failure_at, later.last_failure_at),
        duration_count=earlier.duration_count + later.duration_count,
        duration_sum_s=earlier.duration_sum_s + later.duration_sum_s,
        duration_hist=merge_histograms(earlier.duration_hist, later.duration_hist),
    )


def merge_rollups(rollups: Iterable[DailyTestRollup]) -> tuple[DailyTestRollup, ...]:
    """Merge rollups with the same key, in the given order (time order within a key)."""
    merged: dict[RollupKey, DailyTestRollup] = {}
    for r in rollups:
        key = rollup_key(r)
        old = merged.get(key)
        merged[key] = r if old is None else merge_rollup_pair(old, r)
    return tuple(merged.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class RollupHealthOptions:
    """Thresholds for health from rollups (same meaning as ``HealthOptions``)."""

    confidence: float = 0.95
    min_failures_broken: int = 2
    score_threshold: float = 0.5
    score_min_failures: int = 3
    duration_step: DurationStepOptions = field(default_factory=lambda: DurationStepOptions(window=5))


def _chronological(rollups: Sequence[DailyTestRollup]) -> list[DailyTestRollup]:
    return sorted(rollups, key=lambda r: (r.day is None, r.day or date.min, _sort_time(r.first_at)))


def compute_flakiness_score(*, failed_runs: int, counted_runs: int, flips: int, min_failures: int) -> float:
    """rho * s (docs/health.md): are failures scattered like independent flakes?"""
    if counted_runs < 2 or failed_runs == 0:
        return 0.0
    pi = failed_runs / counted_runs
    expected = 2.0 * pi * (1.0 - pi)
    rho = 0.0 if expected <= 0 else min(1.0, (flips / (counted_runs - 1)) / expected)
    return rho * min(1.0, failed_runs / max(min_failures, 1))


def _status(total: DailyTestRollup, score: float, options: RollupHealthOptions) -> HealthStatus:
    if total.passes == 0 and total.failures >= options.min_failures_broken:
        return HealthStatus.BROKEN
    if total.mixed_runs > 0 or (score >= options.score_threshold and total.passes > 0):
        return HealthStatus.FLAKY
    return HealthStatus.FAILING if total.failures else HealthStatus.STABLE


def _daily_step(days: Sequence[DailyTestRollup], options: RollupHealthOptions) -> DurationStep | None:
    medians = [compute_histogram_quantile(d.duration_hist, 0.5) for d in days if d.day is not None]
    return detect_duration_step([m for m in medians if m is not None], options=options.duration_step)


def compute_health_from_rollup_group(
    rollups: Sequence[DailyTestRollup], *, options: RollupHealthOptions = RollupHealthOptions()
) -> TestHealth:
    """Health of one test from its rollups (any days, jobs, branches the caller selected)."""
    days = _chronological(rollups)
    total = days[0]
    for r in days[1:]:
        total = merge_rollup_pair(total, replace(r, day=total.day, job_name=total.job_name))
    counted = total.passes + total.failures
    score = compute_flakiness_score(
        failed_runs=total.failed_runs,
        counted_runs=total.counted_runs,
        flips=total.flips,
        min_failures=options.score_min_failures,
    )
    return TestHealth(
        test_id=total.test_id,
        status=_status(total, score, options),
        runs=total.runs,
        attempts=total.attempts,
        passes=total.passes,
        failures=total.failures,
        skips=total.skips,
        infra_attempts=total.infra_attempts,
        known_failures=total.known_failures,
        pass_rate=total.passes / counted if counted else None,
        failure_probability=total.failures / counted if counted else None,
        failure_interval=wilson_interval(total.failures, counted, options.confidence),
        flip_rate=total.flips / (total.counted_runs - 1) if total.counted_runs > 1 else None,
        same_code_flip_rate=None,
        flakiness_score=score,
        first_failure_at=total.first_failure_at,
        last_failure_at=total.last_failure_at,
        duration_p50_s=compute_histogram_quantile(total.duration_hist, 0.5),
        duration_p95_s=compute_histogram_quantile(total.duration_hist, 0.95),
        duration_step=_daily_step(days, options),
    )


def compute_test_health_from_rollups(
    rollups: Iterable[DailyTestRollup], *, options: RollupHealthOptions = RollupHealthOptions()
) -> tuple[TestHealth, ...]:
    """Health of every test in ``rollups``, sorted by test id."""
    groups: dict[str, list[DailyTestRollup]] = {}
    for r in rollups:
        groups.setdefault(r.test_id, []).append(r)
    return tuple(compute_health_from_rollup_group(groups[t], options=options) for t in sorted(groups))
