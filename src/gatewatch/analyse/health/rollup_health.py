"""Test health from daily rollups: the fast path for overview queries on large histories.

Rollups of the selected days, jobs, branches and pipelines are summed per test (numpy
group-bys over the rollup fields, so ~50k rollup rows take tens of milliseconds). Flips
add up within rollups and across consecutive rollups of a test in time order (day, then
first run), counting a flip when one rollup's last counted run and the next one's first
disagree; across jobs on the same day that order is approximate, so select one job for an
exact flip rate.

Rollups cannot tell "same code" (that needs runs grouped by change and patchset across
days) nor name the runs of the evidence: here a test is FLAKY from retries inside runs
(``mixed_runs``) or from the history score, ``same_code_flip_rate`` is None and
``evidence`` is empty. The service loads the raw rows of the flagged tests (few) and runs
``compute_test_health`` on them to attach evidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from gatewatch.analyse.health.durations import DurationStepOptions, detect_duration_steps
from gatewatch.analyse.health.stats import (
    compute_datetimes,
    compute_flakiness_scores,
    compute_grouped_quantiles,
    wilson_intervals,
)
from gatewatch.domain.health import DailyTestRollup, DurationStep, HealthStatus, TestHealth

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_SUMMED = (
    "runs",
    "counted_runs",
    "failed_runs",
    "mixed_runs",
    "attempts",
    "passes",
    "failures",
    "skips",
    "infra_attempts",
    "known_failures",
    "flips",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RollupHealthOptions:
    """Thresholds for health from rollups (same meaning as ``HealthOptions``)."""

    confidence: float = 0.95
    min_failures_broken: int = 2
    score_threshold: float = 0.5
    score_min_failures: int = 3
    detect_steps: bool = True
    duration_step: DurationStepOptions = field(default_factory=lambda: DurationStepOptions(window=5))


def _epoch(at: datetime | None) -> float:
    if at is None:
        return math.nan
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _column(rollups: Sequence[DailyTestRollup], name: str, dtype: type) -> npt.NDArray[Any]:
    return np.fromiter(map(attrgetter(name), rollups), dtype=dtype, count=len(rollups))


def _converted(rollups: Sequence[DailyTestRollup], name: str, convert: Callable[[Any], float]) -> FloatArray:
    """``convert`` of a field, applied once per distinct value (days and run times repeat)."""
    values = list(map(attrgetter(name), rollups))
    position = {v: i for i, v in enumerate(dict.fromkeys(values))}
    converted: FloatArray = np.array([convert(v) for v in position], dtype=np.float64)
    if not position:
        return np.zeros(0)
    out: FloatArray = converted[np.fromiter(map(position.__getitem__, values), np.int64, count=len(values))]
    return out


def _ordinal(day: date | None) -> float:
    return float(day.toordinal()) if day is not None else math.inf


def _chronology(rollups: Sequence[DailyTestRollup], test: IntArray) -> IntArray:
    """Rollup indices by (test, day (None last), first run time (None last))."""
    day = _converted(rollups, "day", _ordinal)
    first = _converted(rollups, "first_at", _epoch)
    return np.lexsort((np.arange(len(rollups)), first, day, test)).astype(np.int64)


def _boundary_flips(rollups: Sequence[DailyTestRollup], test: IntArray, order: IntArray, n: int) -> IntArray:
    counted = _column(rollups, "counted_runs", np.int64)[order] > 0
    idx = order[counted]
    first = _column(rollups, "first_failed", np.bool_)[idx]
    last = _column(rollups, "last_failed", np.bool_)[idx]
    t = test[idx]
    flip = (t[1:] == t[:-1]) & (last[:-1] != first[1:])
    return np.bincount(t[1:][flip], minlength=n).astype(np.int64)


def _extreme_times(
    rollups: Sequence[DailyTestRollup], test: IntArray, n: int
) -> tuple[FloatArray, FloatArray]:
    first = _converted(rollups, "first_failure_at", _epoch)
    last = _converted(rollups, "last_failure_at", _epoch)
    lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(lo, test, np.nan_to_num(first, nan=np.inf))
    np.maximum.at(hi, test, np.nan_to_num(last, nan=-np.inf))
    return lo, hi


def _status(
    passes: int, failures: int, mixed: int, score: float, options: RollupHealthOptions
) -> HealthStatus:
    if passes == 0 and failures >= options.min_failures_broken:
        return HealthStatus.BROKEN
    if mixed > 0 or (score >= options.score_threshold and passes > 0):
        return HealthStatus.FLAKY
    return HealthStatus.FAILING if failures else HealthStatus.STABLE


def _hist_rows(
    rows: Sequence[DailyTestRollup], test: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Every histogram entry as (test, day ordinal or -1, bucket, count) rows."""
    hists = [r.duration_hist for r in rows]
    lengths = np.fromiter(map(len, hists), np.int64, count=len(hists))
    pairs = np.array(list(chain.from_iterable(hists)), dtype=np.int64).reshape(-1, 2)
    day = _converted(rows, "day", _ordinal)
    day = np.where(np.isfinite(day), day, -1).astype(np.int64)
    return np.repeat(test, lengths), np.repeat(day, lengths), pairs[:, 0].copy(), pairs[:, 1].copy()


def _daily_steps(
    hist: tuple[IntArray, IntArray, IntArray, IntArray], n: int, options: RollupHealthOptions
) -> dict[int, DurationStep]:
    """Steps in each test's series of daily median durations (days in order)."""
    t, d, b, c = hist
    timed = d >= 0
    if not options.detect_steps or not timed.any():
        return {}
    days, group = np.unique(t[timed] * 10_000_000 + d[timed], return_inverse=True)
    (medians,) = compute_grouped_quantiles(group, b[timed], c[timed], n_groups=days.size, qs=(0.5,))
    owner = days // 10_000_000
    bounds = np.searchsorted(owner, np.arange(n + 1))
    candidates = [i for i in range(n) if bounds[i + 1] - bounds[i] >= 2 * options.duration_step.window]
    steps = detect_duration_steps(
        [medians[bounds[i] : bounds[i + 1]] for i in candidates], options=options.duration_step
    )
    return {i: s for i, s in zip(candidates, steps, strict=True) if s is not None}


def _float(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True, slots=True, kw_only=True)
class _Totals:
    """Per-test totals as Python lists (index = position in ``index``)."""

    index: dict[str, int]
    ints: dict[str, list[int]]
    floats: dict[str, list[float]]
    first_failure_at: list[datetime | None]
    last_failure_at: list[datetime | None]
    steps: dict[int, DurationStep]


def _totals(rows: Sequence[DailyTestRollup], options: RollupHealthOptions) -> _Totals:
    test_ids = list(map(attrgetter("test_id"), rows))
    index = {t: i for i, t in enumerate(dict.fromkeys(test_ids))}
    test = np.fromiter(map(index.__getitem__, test_ids), np.int64, count=len(rows))
    n = len(index)
    sums = {
        k: np.bincount(test, weights=_column(rows, k, np.int64), minlength=n).astype(np.int64)
        for k in _SUMMED
    }
    sums["flips"] = sums["flips"] + _boundary_flips(rows, test, _chronology(rows, test), n)
    lo, hi = wilson_intervals(
        sums["failures"], sums["passes"] + sums["failures"], confidence=options.confidence
    )
    first_fail, last_fail = _extreme_times(rows, test, n)
    hist = _hist_rows(rows, test)
    p50, p95 = compute_grouped_quantiles(hist[0], hist[2], hist[3], n_groups=n, qs=(0.5, 0.95))
    floats = {
        "lo": lo,
        "hi": hi,
        "score": compute_flakiness_scores(
            sums["failed_runs"], sums["counted_runs"], sums["flips"], min_failures=options.score_min_failures
        ),
        "p50": p50,
        "p95": p95,
    }
    return _Totals(
        index=index,
        ints={k: v.tolist() for k, v in sums.items()},
        floats={k: v.tolist() for k, v in floats.items()},
        first_failure_at=compute_datetimes(first_fail.tolist()),
        last_failure_at=compute_datetimes(last_fail.tolist()),
        steps=_daily_steps(hist, n, options),
    )


def compute_test_health_from_rollups(
    rollups: Iterable[DailyTestRollup], *, options: RollupHealthOptions = RollupHealthOptions()
) -> tuple[TestHealth, ...]:
    """Health of every test in ``rollups`` (any days, jobs, branches selected), sorted by test id."""
    totals = _totals(list(rollups), options)
    s, fl, steps = totals.ints, totals.floats, totals.steps
    first_at, last_at = totals.first_failure_at, totals.last_failure_at
    out = []
    for test_id, i in sorted(totals.index.items()):
        c, cr = s["passes"][i] + s["failures"][i], s["counted_runs"][i]
        out.append(
            TestHealth(
                test_id=test_id,
                status=_status(s["passes"][i], s["failures"][i], s["mixed_runs"][i], fl["score"][i], options),
                runs=s["runs"][i],
                attempts=s["attempts"][i],
                passes=s["passes"][i],
                failures=s["failures"][i],
                skips=s["skips"][i],
                infra_attempts=s["infra_attempts"][i],
                known_failures=s["known_failures"][i],
                pass_rate=s["passes"][i] / c if c else None,
                failure_probability=s["failures"][i] / c if c else None,
                failure_interval=(fl["lo"][i], fl["hi"][i]),
                flip_rate=s["flips"][i] / (cr - 1) if cr > 1 else None,
                same_code_flip_rate=None,
                flakiness_score=fl["score"][i],
                first_failure_at=first_at[i],
                last_failure_at=last_at[i],
                duration_p50_s=_float(fl["p50"][i]),
                duration_p95_s=_float(fl["p95"][i]),
                duration_step=steps.get(i),
            )
        )
    return tuple(out)


def compute_test_health_by_job_from_rollups(
    rollups: Iterable[DailyTestRollup], *, options: RollupHealthOptions = RollupHealthOptions()
) -> tuple[TestHealth, ...]:
    """Health per (test, job) from rollups, sorted by job then test id."""
    per_job: dict[str, list[DailyTestRollup]] = {}
    for r in rollups:
        per_job.setdefault(r.job_name, []).append(r)
    return tuple(
        replace(h, job_name=job)
        for job in sorted(per_job)
        for h in compute_test_health_from_rollups(per_job[job], options=options)
    )
