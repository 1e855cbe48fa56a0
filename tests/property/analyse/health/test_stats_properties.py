from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.analyse.health.stats import (
    compute_grouped_quantiles,
    compute_histogram,
    compute_histogram_quantile,
    merge_histograms,
    wilson_interval,
    wilson_intervals,
)

counts = st.integers(min_value=0, max_value=5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))
confidences = st.sampled_from([0.8, 0.9, 0.95, 0.99])


@settings(derandomize=True)
@given(counts, confidences)
def test_wilson_interval_is_ordered_bounded_and_contains_the_estimate(
    kn: tuple[int, int], conf: float
) -> None:
    k, n = kn
    lo, hi = wilson_interval(k, n, conf)
    assert 0.0 <= lo <= hi <= 1.0
    if n:
        assert lo - 1e-12 <= k / n <= hi + 1e-12


@settings(derandomize=True)
@given(counts, confidences)
def test_wilson_interval_is_symmetric_in_successes_and_failures(kn: tuple[int, int], conf: float) -> None:
    k, n = kn
    lo, hi = wilson_interval(k, n, conf)
    lo2, hi2 = wilson_interval(n - k, n, conf)
    assert abs(lo - (1.0 - hi2)) < 1e-9
    assert abs(hi - (1.0 - lo2)) < 1e-9


@settings(derandomize=True)
@given(counts)
def test_wilson_interval_widens_with_confidence(kn: tuple[int, int]) -> None:
    k, n = kn
    lo90, hi90 = wilson_interval(k, n, 0.90)
    lo99, hi99 = wilson_interval(k, n, 0.99)
    assert lo99 <= lo90 + 1e-12
    assert hi99 >= hi90 - 1e-12


@settings(derandomize=True)
@given(st.lists(counts, min_size=1, max_size=20))
def test_vectorised_wilson_equals_scalar(kns: list[tuple[int, int]]) -> None:
    lo, hi = wilson_intervals([k for k, _ in kns], [n for _, n in kns])
    for i, (k, n) in enumerate(kns):
        assert (lo[i], hi[i]) == wilson_interval(k, n)


def test_wilson_interval_covers_binomial_draws_at_nominal_rate() -> None:
    rng = np.random.default_rng(11)
    for p, n in [(0.01, 500), (0.05, 200), (0.3, 50)]:
        k = rng.binomial(n, p, size=4000)
        lo, hi = wilson_intervals(k, np.full(k.size, n))
        coverage = np.mean((lo <= p) & (p <= hi))
        assert 0.92 <= coverage <= 0.99, (p, n, coverage)


durations = st.lists(st.floats(min_value=1e-3, max_value=1e5, allow_nan=False), max_size=30)


@settings(derandomize=True)
@given(durations, durations, durations)
def test_histogram_merge_is_associative_commutative_and_equals_concatenation(
    a: list[float], b: list[float], c: list[float]
) -> None:
    ha, hb, hc = compute_histogram(a), compute_histogram(b), compute_histogram(c)
    assert merge_histograms(merge_histograms(ha, hb), hc) == merge_histograms(ha, merge_histograms(hb, hc))
    assert merge_histograms(ha, hb) == merge_histograms(hb, ha)
    assert merge_histograms(ha, hb, hc) == compute_histogram(a + b + c)


@settings(derandomize=True)
@given(st.lists(st.floats(min_value=1e-3, max_value=1e5), min_size=1, max_size=50))
def test_histogram_quantiles_are_monotone(values: list[float]) -> None:
    hist = compute_histogram(values)
    qs = [compute_histogram_quantile(hist, q) for q in (0.0, 0.25, 0.5, 0.95, 1.0)]
    assert all(x is not None for x in qs)
    assert qs == sorted(qs)  # type: ignore[type-var]


@settings(derandomize=True)
@given(st.lists(st.lists(st.floats(min_value=1e-3, max_value=1e5), max_size=20), min_size=1, max_size=8))
def test_grouped_quantiles_equal_per_histogram_quantiles(groups: list[list[float]]) -> None:
    hists = [compute_histogram(values) for values in groups]
    rows = [(g, b, c) for g, hist in enumerate(hists) for b, c in hist]
    g, b, c = (np.array([r[i] for r in rows], dtype=np.int64) for i in range(3))
    qs = (0.0, 0.5, 0.95, 1.0)
    got = compute_grouped_quantiles(g, b, c, n_groups=len(hists), qs=qs)
    for qi, q in enumerate(qs):
        for gi, hist in enumerate(hists):
            expected = compute_histogram_quantile(hist, q)
            if expected is None:
                assert np.isnan(got[qi][gi])
            else:
                assert got[qi][gi] == expected
