"""From attempts to runs, and flips between consecutive runs: the vectorised group-bys.

A *run* of a test is every attempt of that test with the same run key (duplicate ids in
one run are attempts, retries included). A run *failed* when any attempt failed and
*passed* when any attempt passed, so a run that needed a retry is both (``mixed``).
Attempts of builds whose verdict is infra are left out here (counted elsewhere).

Order of runs (clock skew, no timestamps): by start time, ties and missing timestamps
by ingest order (runs without a time go after those with one); sorts are stable, and
nothing assumes time increases with ingest order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gatewatch.analyse.health.columns import FAIL, PASS, SKIP, ObservationColumns

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RunTable:
    """One row per (test, run), infra builds left out; ``order`` is the first row's index.

    ``row_run`` maps each observation row to its run (-1 for rows of infra builds).
    """

    test: IntArray
    run: IntArray
    code: IntArray
    build: IntArray
    slice: IntArray
    time_s: npt.NDArray[np.float64]
    order: IntArray
    passes: IntArray
    failures: IntArray
    skips: IntArray
    row_run: IntArray

    @property
    def failed(self) -> BoolArray:
        return self.failures > 0

    @property
    def counted(self) -> BoolArray:
        """Runs that passed or failed (not skip-only)."""
        return (self.passes + self.failures) > 0

    @property
    def mixed(self) -> BoolArray:
        return (self.passes > 0) & (self.failures > 0)


def _segments(keys: IntArray) -> tuple[IntArray, IntArray]:
    """(sort order, segment starts) grouping equal keys, stable."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1])))
    return order.astype(np.int64), starts.astype(np.int64)


def compute_run_table(cols: ObservationColumns) -> RunTable:
    """Group non-infra attempts into runs."""
    rows = np.flatnonzero(~cols.infra).astype(np.int64)
    if rows.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return RunTable(
            test=empty,
            run=empty,
            code=empty,
            build=empty,
            slice=empty,
            time_s=np.zeros(0),
            order=empty,
            passes=empty,
            failures=empty,
            skips=empty,
            row_run=np.full(cols.size, -1, dtype=np.int64),
        )
    key = cols.test[rows] * max(len(cols.run_keys), 1) + cols.run[rows]
    order, starts = _segments(key)
    srows = rows[order]
    out = cols.outcome[srows]

    def total(mask: BoolArray) -> IntArray:
        return np.add.reduceat(mask.astype(np.int64), starts)

    first = srows[starts]
    row_run = np.full(cols.size, -1, dtype=np.int64)
    row_run[srows] = np.repeat(np.arange(starts.size), np.diff(np.append(starts, srows.size)))
    return RunTable(
        test=cols.test[first],
        run=cols.run[first],
        code=cols.code[first],
        build=cols.build[first],
        slice=cols.slice[first],
        time_s=np.fmin.reduceat(cols.time_s[srows], starts),
        order=np.minimum.reduceat(srows, starts),
        passes=total(out == PASS),
        failures=total(out == FAIL),
        skips=total(out == SKIP),
        row_run=row_run,
    )


def compute_sequence_order(group: IntArray, time_s: npt.NDArray[np.float64], order: IntArray) -> IntArray:
    """Indices sorting runs by group, then time (NaN last), then ingest order."""
    return np.lexsort((order, time_s, group)).astype(np.int64)


def compute_flips(
    group: IntArray, time_s: npt.NDArray[np.float64], order: IntArray, failed: BoolArray
) -> tuple[BoolArray, BoolArray, IntArray]:
    """For runs sorted by :func:`compute_sequence_order`: (same-group pair, flip, sort order).

    Element i of the first two arrays describes the pair (sorted[i], sorted[i+1]).
    """
    idx = compute_sequence_order(group, time_s, order)
    g = group[idx]
    f = failed[idx]
    same = g[1:] == g[:-1]
    return same, same & (f[1:] != f[:-1]), idx


def compute_group_flips(
    *, test: IntArray, group: IntArray, runs: RunTable, n_tests: int
) -> tuple[IntArray, IntArray]:
    """(flips, pairs) per test over consecutive counted runs within each group."""
    c = runs.counted
    same, flip, idx = compute_flips(group[c], runs.time_s[c], runs.order[c], runs.failed[c])
    t = test[c][idx][1:]
    pairs = np.bincount(t[same], minlength=n_tests).astype(np.int64)
    flips = np.bincount(t[flip], minlength=n_tests).astype(np.int64)
    return flips, pairs
