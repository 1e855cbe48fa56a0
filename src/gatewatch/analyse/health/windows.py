"""Regression windows: failures packed into one block of consecutive runs are a breakage, not flakiness.

A test broken by a change in code it depends on (a library, a base image) fails on every run
from that change until the fix, whatever change is being tested; a recheck of the same change
before and during that window passes and then fails, which looks like "same code, different
outcomes" although the code under test (its dependencies included) did change. Independent
(flaky) failures are scattered instead. The test used here (docs/health.md, "Regression
windows"):

- take the test's counted runs of one branch in time order as a 0/1 sequence: n runs, K of
  them failed;
- for a window of w consecutive runs holding k failures, if failures were independent of time
  (every ordering of the K failures equally likely), k would follow the hypergeometric
  distribution Hypergeom(N=n, K, w); its tail P(X >= k) (``scipy.stats.hypergeom.logsf``) is
  the chance of that many failures in that window;
- the scan looks at every window that starts and ends with a failure (the most packed window
  of any length does), keeps *solid* ones (at least ``min_share`` of its runs failed: the test
  was broken there, not intermittent) and corrects for the n(n + 1)/2 windows it could have
  chosen (Bonferroni): p = min(1, n(n + 1)/2 * P(X >= k));
- a window with p < ``alpha`` (10^-3) is a regression window; up to ``max_windows`` disjoint
  ones are reported, most significant first.

Independent failures at rate π produce a solid window of L failures with probability about
n·π^L, so flaky tests (π <= 20 %) practically never do; a single failure, or two or three in a
row in a short history, is never enough evidence (p >= alpha).

Short of a significant window, a *streak* (a failed run next to another failed run of the
same test and branch, any code) is still explained by a breakage in time as well as by
flakiness, so the runs of a streak are no same-code evidence either: "the same change passed
and failed" counts only isolated failures (both neighbours passed) and runs rescued by a retry.
Flaky tests keep most of their failures isolated (a failure's neighbours both pass with
probability (1 - π)^2), and the history score still sees every failure outside windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln
from scipy.stats import hypergeom

from gatewatch.analyse.health.columns import ObservationColumns
from gatewatch.analyse.health.runs import RunTable
from gatewatch.analyse.health.stats import compute_flakiness_score

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowOptions:
    """Thresholds of the regression-window scan (see the module docstring)."""

    alpha: float = 1e-3
    min_share: float = 0.8
    max_windows: int = 3
    max_span_blocks: int = 64  # windows join at most this many blocks of consecutive failures


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureSpan:
    """Positions ``start``..``end`` (inclusive) of a sequence: ``failed`` of its runs failed."""

    start: int
    end: int
    failed: int
    p_value: float


def _blocks(failed: BoolArray) -> tuple[IntArray, IntArray]:
    """(first, last) positions of every block of consecutive failures."""
    edges = np.diff(np.concatenate(([0], failed.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1).astype(np.int64), (np.flatnonzero(edges == -1) - 1).astype(np.int64)


def _candidates(
    first: IntArray, last: IntArray, options: WindowOptions
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """(start, end, width, failures) of the solid windows made of blocks i..j."""
    counts = np.concatenate(([0], np.cumsum(last - first + 1)))
    b = first.size
    pairs = [(np.arange(b - d), np.arange(d, b)) for d in range(min(b, options.max_span_blocks))]
    i = np.concatenate([p[0] for p in pairs])
    j = np.concatenate([p[1] for p in pairs])
    width = last[j] - first[i] + 1
    fails = counts[j + 1] - counts[i]
    solid = fails >= options.min_share * width
    return first[i][solid], last[j][solid], width[solid], fails[solid]


def _log_binom(n: npt.ArrayLike, k: npt.ArrayLike) -> npt.NDArray[np.float64]:
    n_, k_ = np.asarray(n, dtype=np.float64), np.asarray(k, dtype=np.float64)
    out: npt.NDArray[np.float64] = gammaln(n_ + 1) - gammaln(k_ + 1) - gammaln(n_ - k_ + 1)
    return out


def _log_pmf(k: IntArray, n: int, failures: int, width: IntArray) -> npt.NDArray[np.float64]:
    """log P(X = k) for X ~ Hypergeom(n, failures, width)."""
    return _log_binom(failures, k) + _log_binom(n - failures, width - k) - _log_binom(n, width)


def compute_failure_windows(
    failed: npt.ArrayLike, *, options: WindowOptions = WindowOptions()
) -> tuple[FailureSpan, ...]:
    """Regression windows of one time-ordered run sequence (True = the run failed), by position."""
    seq = np.asarray(failed, dtype=np.bool_).reshape(-1)
    n, k = int(seq.size), int(seq.sum())
    if k < 2 or k == n:
        return ()
    start, end, width, fails = _candidates(*_blocks(seq), options)
    log_tests = math.log(n * (n + 1) / 2)
    # P(X >= k) >= P(X = k): windows whose point probability is already too large are dropped
    # before the (slower) tail is computed
    near = _log_pmf(fails, n, k, width) + log_tests < math.log(options.alpha)
    start, end, width, fails = start[near], end[near], width[near], fails[near]
    if start.size == 0:
        return ()
    log_p = hypergeom.logsf(fails - 1, n, k, width) + log_tests
    chosen: list[FailureSpan] = []
    for c in np.argsort(log_p, kind="stable").tolist():
        if log_p[c] >= math.log(options.alpha) or len(chosen) >= options.max_windows:
            break
        s, e = int(start[c]), int(end[c])
        if any(s <= w.end and w.start <= e for w in chosen):
            continue
        chosen.append(FailureSpan(start=s, end=e, failed=int(fails[c]), p_value=min(1.0, math.exp(log_p[c]))))
    return tuple(sorted(chosen, key=lambda w: w.start))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class WindowRuns:
    """A regression window as run-table indices: its runs in time order, the passing run just
    before (-1: none) and just after it (-1: none, the test still fails)."""

    runs: IntArray
    before: int
    after: int
    failed: int
    p_value: float


def _sequences(cols: ObservationColumns, runs: RunTable, tests: IntArray) -> tuple[IntArray, IntArray]:
    """Counted runs of ``tests`` sorted by (test, branch, time, ingest order) and segment starts."""
    branches = [branch for _, branch, _ in cols.slices] or [""]
    _, branch_of_slice = np.unique(np.array(branches, dtype=object), return_inverse=True)
    sel = np.flatnonzero(np.isin(runs.test, tests) & runs.counted)
    key = runs.test[sel] * (int(branch_of_slice.max(initial=0)) + 1) + branch_of_slice[runs.slice[sel]]
    order = np.lexsort((runs.order[sel], runs.time_s[sel], key))
    ordered, keys = sel[order].astype(np.int64), key[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if keys.size else keys
    return ordered, np.append(starts, keys.size).astype(np.int64)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TestRunBlocks:
    """What the sequence of one test's runs says: its regression windows and its *streak*
    runs, failed runs next to another failed run (of any code) in time order; a retry that
    passed inside the run makes it no streak run (the breakage did not hold)."""

    __test__ = False

    windows: tuple[WindowRuns, ...]
    streak_runs: IntArray


def _streaks(runs: RunTable, seq: IntArray) -> IntArray:
    failed = runs.failed[seq]
    near = np.zeros(seq.size, dtype=np.bool_)
    near[1:] |= failed[:-1]
    near[:-1] |= failed[1:]
    return seq[failed & near & ~runs.mixed[seq]]


def compute_test_blocks(
    cols: ObservationColumns, runs: RunTable, tests: IntArray, *, options: WindowOptions = WindowOptions()
) -> dict[int, TestRunBlocks]:
    """Regression windows and streak runs of each of ``tests`` (indices into ``cols.test_ids``),
    over each branch's runs in time order."""
    ordered, bounds = _sequences(cols, runs, tests)
    windows: dict[int, list[WindowRuns]] = {}
    streaks: dict[int, list[IntArray]] = {}
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        seq = ordered[a:b]
        test = int(runs.test[seq[0]])
        streaks.setdefault(test, []).append(_streaks(runs, seq))
        for span in compute_failure_windows(runs.failed[seq], options=options):
            window = WindowRuns(
                runs=seq[span.start : span.end + 1],
                before=int(seq[span.start - 1]) if span.start > 0 else -1,
                after=int(seq[span.end + 1]) if span.end + 1 < seq.size else -1,
                failed=span.failed,
                p_value=span.p_value,
            )
            windows.setdefault(test, []).append(window)
    return {
        i: TestRunBlocks(
            windows=tuple(windows.get(i, ())), streak_runs=np.concatenate(found).astype(np.int64)
        )
        for i, found in streaks.items()
    }


def _window_runs(blocks: TestRunBlocks, runs: RunTable) -> IntArray:
    """The runs of the test's windows, but for those a passing retry rescued."""
    if not blocks.windows:
        return np.zeros(0, dtype=np.int64)
    inside = np.concatenate([w.runs for w in blocks.windows])
    out: IntArray = inside[~runs.mixed[inside]].astype(np.int64)
    return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class OutsideEvidence:
    """Flakiness of one test judged without its blocks (see :func:`compute_outside_evidence`)."""

    mixed_codes: int
    score: float
    not_same_code: IntArray  # runs that are no same-code evidence (windows and streaks)
    in_windows: IntArray  # runs of the regression windows


def compute_outside_evidence(
    runs: RunTable, test_runs: IntArray, blocks: TestRunBlocks, *, min_failures: int
) -> OutsideEvidence:
    """Codes that both passed and failed, counting no failed run of a window or a streak (a
    breakage in time explains those as well as flakiness does), and the history score over
    the runs outside the windows. Runs whose retry passed always count: that is flakiness on
    one code whatever the time.
    """
    in_windows = _window_runs(blocks, runs)
    not_same_code = np.union1d(in_windows, blocks.streak_runs).astype(np.int64)
    counted = test_runs[runs.counted[test_runs]]
    kept = counted[~np.isin(counted, not_same_code)]
    codes, inverse = np.unique(runs.code[kept], return_inverse=True)
    passes = np.bincount(inverse, weights=runs.passes[kept], minlength=codes.size)
    failures = np.bincount(inverse, weights=runs.failures[kept], minlength=codes.size)
    outside = counted[~np.isin(counted, in_windows)]
    failed = runs.failed[outside[np.lexsort((runs.order[outside], runs.time_s[outside]))]]
    score = compute_flakiness_score(
        failed_runs=int(failed.sum()),
        counted_runs=int(failed.size),
        flips=int((failed[1:] != failed[:-1]).sum()),
        min_failures=min_failures,
    )
    return OutsideEvidence(
        mixed_codes=int(((passes > 0) & (failures > 0)).sum()),
        score=score,
        not_same_code=not_same_code,
        in_windows=in_windows,
    )
