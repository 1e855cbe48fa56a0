"""The evidence behind a flaky verdict: which runs passed and which failed, on which code.

``retry``: one run has a failing and a passing attempt of the test. ``same_code``: runs of
the same code (change and patchset, or commit) disagree. ``random``: no code was tested
twice, but failures are scattered between passes (the history score); the evidence then
lists the most recent failing and passing runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gatewatch.analyse.health.columns import ObservationColumns
from gatewatch.analyse.health.runs import RunTable
from gatewatch.domain.health import FlakyEvidence

IntArray = npt.NDArray[np.int64]
MAX_RUNS_PER_SIDE = 5


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RunIndex:
    """Runs sorted by (test, code, time, ingest order), with each test's slice."""

    order: IntArray
    starts: IntArray
    ends: IntArray

    def of_test(self, i: int) -> IntArray:
        return self.order[self.starts[i] : self.ends[i]]


def compute_run_index(runs: RunTable, n_tests: int) -> RunIndex:
    """Index runs by test so evidence for one test costs only that test's runs."""
    order = np.lexsort((runs.order, runs.time_s, runs.code, runs.test)).astype(np.int64)
    sorted_tests = runs.test[order]
    ids = np.arange(n_tests)
    return RunIndex(
        order=order,
        starts=np.searchsorted(sorted_tests, ids, side="left").astype(np.int64),
        ends=np.searchsorted(sorted_tests, ids, side="right").astype(np.int64),
    )


def _keys(cols: ObservationColumns, runs: RunTable, idx: IntArray) -> tuple[str, ...]:
    recent = idx[-MAX_RUNS_PER_SIDE:]
    return tuple(cols.run_keys[r] for r in runs.run[recent])


def _one(cols: ObservationColumns, runs: RunTable, idx: IntArray, *, kind: str, code: str) -> FlakyEvidence:
    passed = idx[runs.passes[idx] > 0]
    failed = idx[runs.failures[idx] > 0]
    shown = np.concatenate((passed[-MAX_RUNS_PER_SIDE:], failed[-MAX_RUNS_PER_SIDE:]))
    builds = dict.fromkeys(cols.build_uuids[b] for b in runs.build[shown])
    return FlakyEvidence(
        kind=kind,
        code=code,
        passed_runs=_keys(cols, runs, passed),
        failed_runs=_keys(cols, runs, failed),
        build_uuids=tuple(b for b in builds if b),
    )


def _same_code(cols: ObservationColumns, runs: RunTable, idx: IntArray) -> list[tuple[float, FlakyEvidence]]:
    """(latest time, evidence) of every code among ``idx`` (sorted by code) that passed and failed."""
    codes = runs.code[idx]
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    passed = np.add.reduceat(runs.passes[idx], starts) > 0
    failed = np.add.reduceat(runs.failures[idx], starts) > 0
    ends = np.append(starts[1:], idx.size)
    found: list[tuple[float, FlakyEvidence]] = []
    for g in np.flatnonzero(passed & failed).tolist():
        group = idx[starts[g] : ends[g]]
        mixed = (runs.passes[group] > 0) & (runs.failures[group] > 0)
        kind = "retry" if bool(mixed.any()) else "same_code"
        latest = float(np.nanmax(runs.time_s[group])) if np.isfinite(runs.time_s[group]).any() else -1.0
        found.append((latest, _one(cols, runs, group, kind=kind, code=cols.codes[int(codes[starts[g]])])))
    return found


def compute_evidence(
    cols: ObservationColumns,
    runs: RunTable,
    index: RunIndex,
    i: int,
    *,
    max_groups: int = 5,
    exclude: tuple[IntArray, IntArray] | None = None,
) -> tuple[FlakyEvidence, ...]:
    """Evidence for test ``i``: up to ``max_groups`` codes that both passed and failed
    (most recent first), else the scattered failures. ``exclude`` is (runs that are no
    same-code evidence, runs that are no evidence at all): those of its blocks of
    consecutive failures and of its regression windows (see ``windows``)."""
    every = index.of_test(i)
    every = every[(runs.passes[every] + runs.failures[every]) > 0]
    idx = every if exclude is None else every[~np.isin(every, exclude[0])]
    if every.size == 0:
        return ()
    found = _same_code(cols, runs, idx) if idx.size else []
    if found:
        found.sort(key=lambda item: item[0], reverse=True)
        return tuple(e for _, e in found[:max_groups])
    scattered = every if exclude is None else every[~np.isin(every, exclude[1])]
    chrono = scattered[np.lexsort((runs.order[scattered], runs.time_s[scattered]))]
    return (_one(cols, runs, chrono, kind="random", code=""),)
