"""Daily test rollups: what the store pre-aggregates in the ingest transaction.

One :class:`DailyTestRollup` per (UTC day, test, job, branch, pipeline); a run belongs to
the day its first attempt started (runs without a timestamp: ``day`` None). Ingest computes
the rollups of the new run with :func:`compute_daily_test_rollups` and folds them into the
stored rows with :func:`merge_rollup_pair` (an upsert). Every field merges exactly: counts
add, first/last times take min/max, the log-scale duration histograms add bucket-wise,
and flips add, plus one when the earlier part's last counted run and the later part's
first counted run disagree. (A run that arrives out of time order inside a day is counted
as if it came last; a day can always be rebuilt exactly from raw rows with
:func:`compute_daily_test_rollups`, which is also what the store does for a re-ingested run
whose results changed: rollups are not invertible for min/max/flips.)

What rollups cannot answer: "same code" (runs grouped by change/patchset across days) and
the run keys of the evidence; see ``rollup_health``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from gatewatch.analyse.health.columns import FAIL, PASS, ObservationColumns, compute_columns
from gatewatch.analyse.health.runs import RunTable, compute_run_table, compute_sequence_order
from gatewatch.analyse.health.stats import (
    MAX_BUCKET,
    compute_datetimes,
    compute_duration_buckets,
    merge_histograms,
)
from gatewatch.domain.health import DailyTestRollup, TestObservation

RollupKey = tuple[date | None, str, str, str, str]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
DAY_S = 86_400.0
ROLLUP_COUNTS = (
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
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def rollup_key(r: DailyTestRollup) -> RollupKey:
    """The identity of a rollup row: (day, test_id, job_name, branch, pipeline)."""
    return (r.day, r.test_id, r.job_name, r.branch, r.pipeline)


def _day_index(time_s: FloatArray) -> IntArray:
    """Days since 1970-01-01 plus one; 0 for no timestamp."""
    days = np.floor(np.nan_to_num(time_s, nan=-DAY_S) / DAY_S) + 1
    return np.where(np.isfinite(time_s), days, 0).astype(np.int64)


def _group_keys(cols: ObservationColumns, runs: RunTable) -> tuple[IntArray, IntArray, IntArray]:
    """(unique keys, group of each run, group of each infra row); key = (day, test, slice)."""
    n_tests, n_slices = max(len(cols.test_ids), 1), max(len(cols.slices), 1)
    run_keys = (_day_index(runs.time_s) * n_tests + runs.test) * n_slices + runs.slice
    infra = np.flatnonzero(cols.infra)
    infra_keys = (_day_index(cols.time_s[infra]) * n_tests + cols.test[infra]) * n_slices + cols.slice[infra]
    keys, inverse = np.unique(np.concatenate((run_keys, infra_keys)), return_inverse=True)
    inverse = inverse.astype(np.int64)
    return keys.astype(np.int64), inverse[: run_keys.size], inverse[run_keys.size :]


def _sequence(runs: RunTable, group: IntArray, g: int) -> dict[str, npt.NDArray[np.generic]]:
    """Flips, first/last outcome and first/last time of counted runs per group."""
    counted = np.flatnonzero(runs.counted)
    idx = counted[compute_sequence_order(group[counted], runs.time_s[counted], runs.order[counted])]
    grp, failed, times = group[idx], runs.failed[idx], runs.time_s[idx]
    same = grp[1:] == grp[:-1]
    flips = np.bincount(grp[1:][same & (failed[1:] != failed[:-1])], minlength=g)
    first_failed, last_failed = np.zeros(g, dtype=bool), np.zeros(g, dtype=bool)
    first_at, last_at = np.full(g, np.inf), np.full(g, -np.inf)
    if grp.size:
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        ends = np.append(starts[1:] - 1, grp.size - 1)
        first_failed[grp[starts]] = failed[starts]
        last_failed[grp[ends]] = failed[ends]
    np.minimum.at(first_at, grp, np.nan_to_num(times, nan=np.inf))
    np.maximum.at(last_at, grp, np.nan_to_num(times, nan=-np.inf))
    return {
        "flips": flips,
        "first_failed": first_failed,
        "last_failed": last_failed,
        "first_at": first_at,
        "last_at": last_at,
    }


def _row_groups(
    cols: ObservationColumns, runs: RunTable, run_group: IntArray, mask: npt.NDArray[np.bool_]
) -> tuple[IntArray, IntArray]:
    rows = np.flatnonzero(mask & (runs.row_run >= 0))
    return rows, run_group[runs.row_run[rows]]


def _failure_times(
    cols: ObservationColumns, runs: RunTable, run_group: IntArray, g: int
) -> tuple[FloatArray, FloatArray]:
    rows, grp = _row_groups(cols, runs, run_group, (cols.outcome == FAIL) & np.isfinite(cols.time_s))
    first, last = np.full(g, np.inf), np.full(g, -np.inf)
    np.minimum.at(first, grp, cols.time_s[rows])
    np.maximum.at(last, grp, cols.time_s[rows])
    return first, last


def _durations(
    cols: ObservationColumns, runs: RunTable, run_group: IntArray, g: int
) -> tuple[IntArray, FloatArray, list[tuple[tuple[int, int], ...]]]:
    rows, grp = _row_groups(cols, runs, run_group, (cols.outcome == PASS) & np.isfinite(cols.duration_s))
    d = cols.duration_s[rows]
    count = np.bincount(grp, minlength=g).astype(np.int64)
    total: FloatArray = np.bincount(grp, weights=d, minlength=g).astype(np.float64)
    width = MAX_BUCKET + 1
    pairs, pair_counts = np.unique(grp * width + compute_duration_buckets(d), return_counts=True)
    hists: list[list[tuple[int, int]]] = [[] for _ in range(g)]
    for pair, c in zip(pairs.tolist(), pair_counts.tolist(), strict=True):
        hists[pair // width].append((pair % width, c))
    return count, total, [tuple(h) for h in hists]


def _counts(
    cols: ObservationColumns, runs: RunTable, run_group: IntArray, infra_group: IntArray, g: int
) -> dict[str, IntArray]:
    counts = {
        "runs": np.bincount(run_group, minlength=g),
        "counted_runs": np.bincount(run_group[runs.counted], minlength=g),
        "failed_runs": np.bincount(run_group[runs.failed], minlength=g),
        "mixed_runs": np.bincount(run_group[runs.mixed], minlength=g),
        "passes": np.bincount(run_group, weights=runs.passes, minlength=g).astype(np.int64),
        "failures": np.bincount(run_group, weights=runs.failures, minlength=g).astype(np.int64),
        "skips": np.bincount(run_group, weights=runs.skips, minlength=g).astype(np.int64),
        "infra_attempts": np.bincount(infra_group, minlength=g),
    }
    _, known_grp = _row_groups(cols, runs, run_group, (cols.outcome == FAIL) & cols.known)
    counts["known_failures"] = np.bincount(known_grp, minlength=g)
    return counts


def _decode_keys(keys: IntArray, cols: ObservationColumns) -> tuple[IntArray, IntArray, IntArray]:
    """(day index, test, slice) of each rollup key (see :func:`_group_keys`)."""
    n_tests, n_slices = max(len(cols.test_ids), 1), max(len(cols.slices), 1)
    day_idx, rest = np.divmod(keys, n_tests * n_slices)
    test_idx, slice_idx = np.divmod(rest, n_slices)
    return day_idx, test_idx, slice_idx


def _day(index: int) -> date | None:
    return None if index == 0 else date.fromordinal(_EPOCH_ORDINAL + index - 1)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RollupTable:
    """Daily test rollups as parallel columns (row i = rollup i), before any record is built.

    ``day`` holds days since 1970-01-01 plus one (0: no timestamp), ``test``/``slice`` index
    the observation vocabularies; times are epoch seconds (``nan``: none); ``counts`` maps
    each count field of :class:`DailyTestRollup` to its column; ``hists`` are the sparse
    duration histograms. The store turns this straight into table rows (no records).
    """

    day: IntArray
    test: IntArray
    slice: IntArray
    counts: dict[str, IntArray]
    first_failed: npt.NDArray[np.bool_]
    last_failed: npt.NDArray[np.bool_]
    first_at_s: FloatArray
    last_at_s: FloatArray
    first_failure_at_s: FloatArray
    last_failure_at_s: FloatArray
    duration_count: IntArray
    duration_sum_s: FloatArray
    hists: list[tuple[tuple[int, int], ...]]

    @property
    def size(self) -> int:
        return int(self.day.size)


def _finite_or_nan(values: FloatArray) -> FloatArray:
    return np.where(np.isfinite(values), values, np.nan)


def compute_daily_test_rollup_table(cols: ObservationColumns) -> RollupTable:
    """Rollups of observation columns, as columns (see :class:`RollupTable`)."""
    runs = compute_run_table(cols)
    keys, run_group, infra_group = _group_keys(cols, runs)
    g = keys.size
    day_idx, test_idx, slice_idx = _decode_keys(keys, cols)
    counts = _counts(cols, runs, run_group, infra_group, g)
    counts["attempts"] = counts["passes"] + counts["failures"] + counts["skips"]
    seq = _sequence(runs, run_group, g)
    counts["flips"] = np.asarray(seq["flips"], dtype=np.int64)
    fail_first, fail_last = _failure_times(cols, runs, run_group, g)
    d_count, d_sum, hists = _durations(cols, runs, run_group, g)
    return RollupTable(
        day=day_idx,
        test=test_idx,
        slice=slice_idx,
        counts={name: counts[name].astype(np.int64) for name in ROLLUP_COUNTS},
        first_failed=np.asarray(seq["first_failed"], dtype=np.bool_),
        last_failed=np.asarray(seq["last_failed"], dtype=np.bool_),
        first_at_s=_finite_or_nan(np.asarray(seq["first_at"], dtype=np.float64)),
        last_at_s=_finite_or_nan(np.asarray(seq["last_at"], dtype=np.float64)),
        first_failure_at_s=_finite_or_nan(fail_first),
        last_failure_at_s=_finite_or_nan(fail_last),
        duration_count=d_count,
        duration_sum_s=d_sum,
        hists=hists,
    )


def compute_daily_test_rollups(
    observations: Sequence[TestObservation] | ObservationColumns,
) -> tuple[DailyTestRollup, ...]:
    """Rollups of raw observations (one run at ingest, or a whole history to rebuild), vectorised."""
    cols = observations if isinstance(observations, ObservationColumns) else compute_columns(observations)
    table = compute_daily_test_rollup_table(cols)
    c: dict[str, Any] = {k: v.tolist() for k, v in table.counts.items()}
    times: dict[str, Any] = {
        name: compute_datetimes(getattr(table, f"{name}_s").tolist())
        for name in ("first_at", "last_at", "first_failure_at", "last_failure_at")
    }
    flags: dict[str, Any] = {
        "first_failed": table.first_failed.tolist(),
        "last_failed": table.last_failed.tolist(),
    }
    days = {d: _day(d) for d in set(table.day.tolist())}
    slices = cols.slices or (("", "", ""),)
    columns = zip(
        table.day.tolist(),
        table.test.tolist(),
        table.slice.tolist(),
        table.duration_count.tolist(),
        table.duration_sum_s.tolist(),
        strict=True,
    )
    return tuple(
        DailyTestRollup(
            day=days[day],
            test_id=cols.test_ids[t],
            job_name=slices[sl][0],
            branch=slices[sl][1],
            pipeline=slices[sl][2],
            **{name: c[name][i] for name in ROLLUP_COUNTS},
            **{name: flags[name][i] for name in flags},
            **{name: times[name][i] for name in times},
            duration_count=dc,
            duration_sum_s=ds,
            duration_hist=table.hists[i],
        )
        for i, (day, t, sl, dc, ds) in enumerate(columns)
    )


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


def compute_affected_rollup_keys(observations: Sequence[TestObservation]) -> frozenset[RollupKey]:
    """The rollup rows a run's observations touch.

    When a run is re-ingested with different results, the store deletes these rows and
    rebuilds them from the raw rows now stored for the same keys (old and new run both).
    """
    return frozenset(rollup_key(r) for r in compute_daily_test_rollups(observations))
