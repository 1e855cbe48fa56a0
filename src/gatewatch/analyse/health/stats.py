"""Small statistics for health: Wilson score intervals and a mergeable duration histogram.

The Wilson interval (Wilson 1927; Brown, Cai & DasGupta 2001, "Interval Estimation for a
Binomial Proportion") keeps its coverage close to nominal for small counts and rates near
0 or 1, where the normal (Wald) interval collapses to a point; z comes from
``scipy.stats.norm``. The duration histogram has fixed log-scale buckets (32 per decade,
~7.5 % wide) so that day rollups merge by adding counts; quantiles read from it are
accurate to half a bucket (~3.7 %).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from gatewatch.errors import HealthError

BUCKETS_PER_DECADE = 32
_MIN_DURATION_S = 1e-4  # bucket 0 holds everything up to 0.1 ms
MAX_BUCKET = BUCKETS_PER_DECADE * 11  # up to 1e7 s

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@functools.lru_cache(maxsize=16)
def compute_z(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` (0.95 -> 1.95996...)."""
    if not 0.0 < confidence < 1.0:
        raise HealthError(f"confidence must be in (0, 1), got {confidence}", hint="use e.g. 0.95")
    return float(norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when ``n`` is 0."""
    if n < 0 or successes < 0 or successes > n:
        raise HealthError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    lo, hi = wilson_intervals(np.array([successes]), np.array([n]), confidence=confidence)
    return float(lo[0]), float(hi[0])


def wilson_intervals(
    successes: npt.ArrayLike, n: npt.ArrayLike, *, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Vectorised :func:`wilson_interval` over arrays of counts."""
    z = compute_z(confidence)
    k = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    safe = np.where(m > 0, m, 1.0)
    p = k / safe
    z2 = z * z
    denom = 1.0 + z2 / safe
    centre = (p + z2 / (2.0 * safe)) / denom
    half = z * np.sqrt(np.maximum(p * (1.0 - p) / safe + z2 / (4.0 * safe * safe), 0.0)) / denom
    lo = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    hi = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    # exact ends: no failures -> lo is 0, all failures -> hi is 1 (rounding aside)
    lo = np.where(k <= 0, 0.0, lo)
    hi = np.where(k >= m, 1.0, hi)
    return lo, hi


def compute_duration_buckets(durations_s: npt.ArrayLike) -> IntArray:
    """The histogram bucket of each duration (NaN and negatives go to bucket 0)."""
    d = np.asarray(durations_s, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.floor(BUCKETS_PER_DECADE * np.log10(np.maximum(d, _MIN_DURATION_S) / _MIN_DURATION_S))
    b = np.nan_to_num(b, nan=0.0)
    out: IntArray = np.clip(b, 0, MAX_BUCKET).astype(np.int64)
    return out


def _bucket_values(buckets: IntArray) -> FloatArray:
    values: FloatArray = _MIN_DURATION_S * np.power(10.0, (buckets + 0.5) / BUCKETS_PER_DECADE)
    return values


def compute_bucket_value_s(bucket: int) -> float:
    """The representative duration of a bucket (its geometric midpoint)."""
    return float(_bucket_values(np.array([bucket]))[0])


def compute_histogram(durations_s: Iterable[float]) -> tuple[tuple[int, int], ...]:
    """A sparse histogram ((bucket, count), ...) sorted by bucket."""
    values = np.fromiter(durations_s, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return ()
    buckets, counts = np.unique(compute_duration_buckets(values), return_counts=True)
    return tuple(zip(buckets.tolist(), counts.tolist(), strict=True))


def merge_histograms(*hists: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Add sparse histograms bucket by bucket."""
    total: dict[int, int] = {}
    for hist in hists:
        for bucket, count in hist:
            total[bucket] = total.get(bucket, 0) + count
    return tuple(sorted(total.items()))


def compute_histogram_quantile(hist: tuple[tuple[int, int], ...], q: float) -> float | None:
    """The ``q`` quantile (0..1) read from a sparse histogram; None when it is empty."""
    n = sum(c for _, c in hist)
    if n == 0:
        return None
    rank = q * (n - 1)
    seen = 0
    for bucket, count in hist:
        seen += count
        if seen > rank:
            return compute_bucket_value_s(bucket)
    return compute_bucket_value_s(hist[-1][0])


def compute_expected_rechecks(p_fail: float | None) -> float | None:
    """Expected extra runs until a pass when each run fails with ``p_fail``: p / (1 - p)."""
    if p_fail is None:
        return None
    if p_fail >= 1.0:
        return math.inf
    return p_fail / (1.0 - p_fail)


def compute_grouped_quantiles(
    group: IntArray, bucket: IntArray, count: IntArray, *, n_groups: int, qs: Sequence[float]
) -> list[FloatArray]:
    """Quantiles of many sparse histograms at once, given as (group, bucket, count) rows.

    Same answer as :func:`compute_histogram_quantile` per group (NaN for empty groups).
    """
    width = MAX_BUCKET + 1
    keys, inverse = np.unique(group * width + bucket, return_inverse=True)
    counts = np.bincount(inverse, weights=count, minlength=keys.size)
    g, b = keys // width, keys % width
    totals = np.bincount(g, weights=counts, minlength=n_groups)
    base = np.cumsum(totals) - totals
    cum = np.cumsum(counts)
    has = totals > 0
    out = []
    for q in qs:
        idx = np.searchsorted(cum, base + q * np.maximum(totals - 1, 0), side="right")
        idx = np.minimum(idx, max(keys.size - 1, 0))
        values = np.full(n_groups, np.nan)
        if keys.size:
            values[has] = _bucket_values(b[idx[has]])
        out.append(values)
    return out


def compute_datetimes(epoch_s: Iterable[float]) -> list[datetime | None]:
    """Epoch seconds to aware UTC datetimes (None for NaN/inf), converting each distinct value
    once: runs share their start time across all their tests."""
    cache: dict[float, datetime | None] = {}
    out = []
    for value in epoch_s:
        if value not in cache:
            cache[value] = datetime.fromtimestamp(value, tz=UTC) if math.isfinite(value) else None
        out.append(cache[value])
    return out


def compute_flakiness_scores(
    failed_runs: npt.ArrayLike, counted_runs: npt.ArrayLike, flips: npt.ArrayLike, *, min_failures: int = 3
) -> FloatArray:
    """The history score rho * s of docs/health.md, per test.

    pi = failed / counted runs, phi = flips / (counted - 1), rho = min(1, phi / (2 pi (1 - pi))),
    s = min(1, failed / ``min_failures``); 0 with fewer than two counted runs.
    """
    failed = np.asarray(failed_runs, dtype=np.float64)
    counted = np.asarray(counted_runs, dtype=np.float64)
    pairs = counted - 1.0
    pi = np.divide(failed, counted, out=np.zeros(counted.shape), where=counted > 0)
    phi = np.divide(np.asarray(flips, dtype=np.float64), pairs, out=np.zeros(counted.shape), where=pairs > 0)
    expected = 2.0 * pi * (1.0 - pi)
    rho = np.clip(np.divide(phi, expected, out=np.zeros(counted.shape), where=expected > 0), 0.0, 1.0)
    scores: FloatArray = rho * np.minimum(1.0, failed / max(min_failures, 1))
    return scores


def compute_flakiness_score(
    *, failed_runs: int, counted_runs: int, flips: int, min_failures: int = 3
) -> float:
    """:func:`compute_flakiness_scores` for one test."""
    return float(
        compute_flakiness_scores([failed_runs], [counted_runs], [flips], min_failures=min_failures)[0]
    )
