"""Per-test health over raw observations: counts, rates, flips, failures, durations, status.

All per-test numbers are computed for every test at once with numpy group-bys (linear
apart from a few sorts): about a second for a million observations, plus about as much
again to turn records into columns (docs/health.md, "Speed"). Formulas are in
docs/health.md; in short:

- failure probability = failed / (passed + failed) attempts, skips and infra builds
  excluded, with a Wilson interval;
- flip rate = outcome changes between consecutive runs (time order) / (runs - 1);
  same-code flip rate = the same over consecutive runs of the same code;
- flakiness score = rho * s where rho = min(1, flip rate / (2 pi (1 - pi))) (pi = share of
  failing runs: 1 when failures are scattered as for independent flakes, near 0 when they
  come in streaks) and s = min(1, failing runs / ``score_min_failures``);
- status: BROKEN when it never passed and failed at least ``min_failures_broken`` times;
  FLAKY when it passed and failed on the same code (retries included) or its score reaches
  ``score_threshold``; FAILING when it failed otherwise; else STABLE. Then regression
  windows (``windows``): a test with failures packed into a block of consecutive runs is
  judged on its runs outside the blocks: FLAKY if it is flaky there, else BROKEN when the
  last block is still open (broken since ...), else FAILING (broken from ... to ..., fixed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from gatewatch.analyse.health.columns import FAIL, PASS, ObservationColumns, compute_columns
from gatewatch.analyse.health.durations import DurationStepOptions, detect_duration_steps
from gatewatch.analyse.health.evidence import RunIndex, compute_evidence, compute_run_index
from gatewatch.analyse.health.runs import RunTable, compute_group_flips, compute_run_table
from gatewatch.analyse.health.stats import compute_flakiness_scores, wilson_intervals
from gatewatch.analyse.health.windows import (
    OutsideEvidence,
    WindowOptions,
    WindowRuns,
    compute_outside_evidence,
    compute_test_blocks,
)
from gatewatch.domain.health import (
    DurationStep,
    HealthStatus,
    RegressionWindow,
    TestHealth,
    TestObservation,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthOptions:
    """Thresholds of the health verdicts (defaults documented in docs/health.md)."""

    confidence: float = 0.95
    min_failures_broken: int = 2
    score_threshold: float = 0.5
    score_min_failures: int = 3
    max_evidence: int = 5
    detect_steps: bool = True
    duration_step: DurationStepOptions = field(default_factory=DurationStepOptions)
    windows: WindowOptions | None = field(default_factory=WindowOptions)  # None: no window scan


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TestStats:
    """Per-test arrays (index = position in ``cols.test_ids``)."""

    __test__ = False

    cols: ObservationColumns
    runs_table: RunTable
    run_index: RunIndex
    duration_index: RunIndex
    counts: dict[str, IntArray]
    floats: dict[str, FloatArray]
    status: npt.NDArray[np.object_]
    windows: dict[int, tuple[WindowRuns, ...]] = field(default_factory=dict)
    outside: dict[int, OutsideEvidence] = field(default_factory=dict)


def _count(idx: IntArray, n: int) -> IntArray:
    return np.bincount(idx, minlength=n).astype(np.int64)


def _attempt_counts(cols: ObservationColumns) -> dict[str, IntArray]:
    n = len(cols.test_ids)
    ok = ~cols.infra
    fail = ok & (cols.outcome == FAIL)
    return {
        "attempts": _count(cols.test[ok], n),
        "passes": _count(cols.test[ok & (cols.outcome == PASS)], n),
        "failures": _count(cols.test[fail], n),
        "skips": _count(cols.test[ok & (cols.outcome != PASS) & (cols.outcome != FAIL)], n),
        "infra_attempts": _count(cols.test[cols.infra], n),
        "known_failures": _count(cols.test[fail & cols.known], n),
    }


def _run_counts(runs: RunTable, cols: ObservationColumns) -> dict[str, IntArray]:
    n = len(cols.test_ids)
    flips, pairs = compute_group_flips(test=runs.test, group=runs.test, runs=runs, n_tests=n)
    code_group = runs.test * max(len(cols.codes), 1) + runs.code
    sc_flips, sc_pairs = compute_group_flips(test=runs.test, group=code_group, runs=runs, n_tests=n)
    counted = runs.counted
    return {
        "runs": _count(runs.test, n),
        "counted_runs": _count(runs.test[counted], n),
        "failed_runs": _count(runs.test[runs.failed], n),
        "flips": flips,
        "flip_pairs": pairs,
        "same_code_flips": sc_flips,
        "same_code_pairs": sc_pairs,
        "mixed_groups": _mixed_groups(runs, code_group, n),
    }


def _mixed_groups(runs: RunTable, code_group: IntArray, n: int) -> IntArray:
    """Per test: how many codes saw both a passing and a failing attempt."""
    if code_group.size == 0:
        return np.zeros(n, dtype=np.int64)
    groups, inverse = np.unique(code_group, return_inverse=True)
    passes = np.bincount(inverse, weights=runs.passes, minlength=groups.size)
    fails = np.bincount(inverse, weights=runs.failures, minlength=groups.size)
    first = np.zeros(groups.size, dtype=np.int64)
    first[inverse] = runs.test
    return _count(first[(passes > 0) & (fails > 0)], n)


def _failure_times(cols: ObservationColumns) -> tuple[FloatArray, FloatArray]:
    n = len(cols.test_ids)
    sel = ~cols.infra & (cols.outcome == FAIL) & np.isfinite(cols.time_s)
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, cols.test[sel], cols.time_s[sel])
    np.maximum.at(last, cols.test[sel], cols.time_s[sel])
    return np.where(np.isfinite(first), first, np.nan), np.where(np.isfinite(last), last, np.nan)


def _duration_quantiles(cols: ObservationColumns) -> tuple[FloatArray, FloatArray]:
    """p50/p95 of passing attempts' durations per test (linear interpolation)."""
    n = len(cols.test_ids)
    sel = np.flatnonzero(~cols.infra & (cols.outcome == PASS) & np.isfinite(cols.duration_s))
    p50, p95 = np.full(n, np.nan), np.full(n, np.nan)
    if sel.size == 0:
        return p50, p95
    t, d = cols.test[sel], cols.duration_s[sel]
    idx = np.lexsort((d, t))
    t, d = t[idx], d[idx]
    counts = np.bincount(t, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    for q, out in ((0.5, p50), (0.95, p95)):
        pos = starts[has] + q * (counts[has] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, starts[has] + counts[has] - 1)
        frac = pos - lo
        out[has] = d[lo] * (1 - frac) + d[hi] * frac
    return p50, p95


def _status(c: dict[str, IntArray], score: FloatArray, options: HealthOptions) -> npt.NDArray[np.object_]:
    status = np.full(score.size, HealthStatus.STABLE, dtype=object)
    status[c["failures"] > 0] = HealthStatus.FAILING
    flaky = (c["mixed_groups"] > 0) | ((score >= options.score_threshold) & (c["passes"] > 0))
    status[flaky] = HealthStatus.FLAKY
    status[(c["passes"] == 0) & (c["failures"] >= options.min_failures_broken)] = HealthStatus.BROKEN
    return status


def _apply_blocks(
    stats: TestStats, options: HealthOptions
) -> tuple[dict[int, tuple[WindowRuns, ...]], dict[int, OutsideEvidence]]:
    """Tests that failed and passed are judged again without their blocks of consecutive
    failures (regression windows, streaks); ``stats.status`` is updated in place."""
    c, status = stats.counts, stats.status
    flaky, failing = status == HealthStatus.FLAKY, status == HealthStatus.FAILING
    tests = np.flatnonzero((flaky | (failing & (c["failed_runs"] >= 2))) & (c["passes"] > 0))
    if options.windows is None or tests.size == 0:
        return {}, {}
    blocks = compute_test_blocks(stats.cols, stats.runs_table, tests, options=options.windows)
    windows, outside = {}, {}
    for i, found in blocks.items():
        if not found.windows and not found.streak_runs.size:
            continue
        outside[i] = o = compute_outside_evidence(
            stats.runs_table, stats.run_index.of_test(i), found, min_failures=options.score_min_failures
        )
        if found.windows:
            windows[i] = found.windows
        if o.mixed_codes > 0 or o.score >= options.score_threshold:
            status[i] = HealthStatus.FLAKY
        elif found.windows and any(w.after < 0 for w in found.windows):
            status[i] = HealthStatus.BROKEN
        else:
            status[i] = HealthStatus.FAILING
    return windows, outside


def compute_test_stats(cols: ObservationColumns, *, options: HealthOptions = HealthOptions()) -> TestStats:
    """Every per-test number, as arrays, in one vectorised pass."""
    runs = compute_run_table(cols)
    counts = _attempt_counts(cols) | _run_counts(runs, cols)
    counted = counts["passes"] + counts["failures"]
    lo, hi = wilson_intervals(counts["failures"], counted, confidence=options.confidence)
    first, last = _failure_times(cols)
    p50, p95 = _duration_quantiles(cols)
    score = compute_flakiness_scores(
        counts["failed_runs"],
        counts["counted_runs"],
        counts["flips"],
        min_failures=options.score_min_failures,
    )
    floats = {"lo": lo, "hi": hi, "first": first, "last": last, "p50": p50, "p95": p95, "score": score}
    stats = TestStats(
        cols=cols,
        runs_table=runs,
        run_index=compute_run_index(runs, len(cols.test_ids)),
        duration_index=_duration_index(cols),
        counts=counts,
        floats=floats,
        status=_status(counts, score, options),
    )
    windows, outside = _apply_blocks(stats, options)
    return replace(stats, windows=windows, outside=outside) if outside else stats


def _time(value: float) -> datetime | None:
    return None if math.isnan(value) else datetime.fromtimestamp(value, tz=UTC)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


def _duration_index(cols: ObservationColumns) -> RunIndex:
    """Passing attempts with a duration, sorted by (test, time, ingest order)."""
    rows = np.flatnonzero(~cols.infra & (cols.outcome == PASS) & np.isfinite(cols.duration_s))
    rows = rows[np.lexsort((rows, cols.time_s[rows], cols.test[rows]))].astype(np.int64)
    tests = cols.test[rows]
    ids = np.arange(len(cols.test_ids))
    return RunIndex(
        order=rows,
        starts=np.searchsorted(tests, ids, side="left").astype(np.int64),
        ends=np.searchsorted(tests, ids, side="right").astype(np.int64),
    )


def compute_duration_steps(
    stats: TestStats, tests: Sequence[int], *, options: HealthOptions = HealthOptions()
) -> dict[int, DurationStep]:
    """Duration steps of the given tests (passing attempts in run order), in one batch."""
    if not options.detect_steps:
        return {}
    series = [stats.cols.duration_s[stats.duration_index.of_test(i)] for i in tests]
    steps = detect_duration_steps(series, options=options.duration_step)
    return {i: step for i, step in zip(tests, steps, strict=True) if step is not None}


def _outside(stats: TestStats, i: int) -> tuple[IntArray, IntArray] | None:
    o = stats.outside.get(i)
    return None if o is None else (o.not_same_code, o.in_windows)


def _window_record(stats: TestStats, w: WindowRuns) -> RegressionWindow:
    cols, runs = stats.cols, stats.runs_table
    first, last = int(w.runs[0]), int(w.runs[-1])

    def at(run: int) -> datetime | None:
        return None if run < 0 else _time(float(runs.time_s[run]))

    return RegressionWindow(
        branch=cols.slices[int(runs.slice[first])][1] if cols.slices else "",
        started_at=at(first),
        ended_at=at(last),
        last_passed_at=at(w.before),
        fixed_at=at(w.after),
        runs=int(w.runs.size),
        failed_runs=w.failed,
        first_failed_build=cols.build_uuids[int(runs.build[first])] if cols.build_uuids else "",
        first_failed_code=cols.codes[int(runs.code[first])] if cols.codes else "",
        fixed=w.after >= 0,
        fixed_build=cols.build_uuids[int(runs.build[w.after])] if w.after >= 0 and cols.build_uuids else "",
        p_value=w.p_value,
    )


def compute_health_record(
    stats: TestStats,
    i: int,
    *,
    options: HealthOptions = HealthOptions(),
    duration_step: DurationStep | None = None,
) -> TestHealth:
    """The :class:`TestHealth` of test number ``i`` of ``stats``."""
    c = {k: int(v[i]) for k, v in stats.counts.items()}
    f = {k: float(v[i]) for k, v in stats.floats.items()}
    counted = c["passes"] + c["failures"]
    status = HealthStatus(stats.status[i])
    return TestHealth(
        test_id=stats.cols.test_ids[i],
        status=status,
        runs=c["runs"],
        attempts=c["attempts"],
        passes=c["passes"],
        failures=c["failures"],
        skips=c["skips"],
        infra_attempts=c["infra_attempts"],
        known_failures=c["known_failures"],
        pass_rate=_ratio(c["passes"], counted),
        failure_probability=_ratio(c["failures"], counted),
        failure_interval=(f["lo"], f["hi"]),
        flip_rate=_ratio(c["flips"], c["flip_pairs"]),
        same_code_flip_rate=_ratio(c["same_code_flips"], c["same_code_pairs"]),
        flakiness_score=f["score"],
        first_failure_at=_time(f["first"]),
        last_failure_at=_time(f["last"]),
        duration_p50_s=None if math.isnan(f["p50"]) else f["p50"],
        duration_p95_s=None if math.isnan(f["p95"]) else f["p95"],
        duration_step=duration_step,
        evidence=compute_evidence(
            stats.cols,
            stats.runs_table,
            stats.run_index,
            i,
            max_groups=options.max_evidence,
            exclude=_outside(stats, i),
        )
        if status == HealthStatus.FLAKY
        else (),
        regressions=tuple(_window_record(stats, w) for w in stats.windows.get(i, ())),
    )


def compute_test_health(
    observations: Sequence[TestObservation] | ObservationColumns, *, options: HealthOptions = HealthOptions()
) -> tuple[TestHealth, ...]:
    """Health of every test in ``observations``, sorted by test id."""
    cols = observations if isinstance(observations, ObservationColumns) else compute_columns(observations)
    stats = compute_test_stats(cols, options=options)
    order = sorted(range(len(cols.test_ids)), key=cols.test_ids.__getitem__)
    steps = compute_duration_steps(stats, order, options=options)
    return tuple(compute_health_record(stats, i, options=options, duration_step=steps.get(i)) for i in order)


def compute_flaky_tests(
    observations: Sequence[TestObservation] | ObservationColumns, *, options: HealthOptions = HealthOptions()
) -> tuple[TestHealth, ...]:
    """Only the FLAKY and BROKEN tests, most costly first (failure probability, then id)."""
    cols = observations if isinstance(observations, ObservationColumns) else compute_columns(observations)
    stats = compute_test_stats(cols, options=options)
    flagged = np.flatnonzero(
        (stats.status == HealthStatus.FLAKY) | (stats.status == HealthStatus.BROKEN)
    ).tolist()
    steps = compute_duration_steps(stats, flagged, options=options)
    records = [compute_health_record(stats, i, options=options, duration_step=steps.get(i)) for i in flagged]
    records.sort(key=lambda h: (-(h.failure_probability or 0.0), h.test_id))
    return tuple(records)


def compute_test_health_by_job(
    observations: Sequence[TestObservation], *, options: HealthOptions = HealthOptions()
) -> tuple[TestHealth, ...]:
    """Health per (test, job): each job's history on its own, sorted by job then test id."""
    per_job: dict[str, list[TestObservation]] = {}
    for o in observations:
        per_job.setdefault(o.job_name, []).append(o)
    return tuple(
        replace(h, job_name=job)
        for job in sorted(per_job)
        for h in compute_test_health(per_job[job], options=options)
    )
