from __future__ import annotations

import math

import numpy as np
import pytest

from gatewatch.analyse.health.stats import (
    compute_expected_rechecks,
    compute_flakiness_score,
    compute_histogram,
    compute_histogram_quantile,
    compute_z,
    merge_histograms,
    wilson_interval,
)
from gatewatch.errors import HealthError


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        (0, 10, (0.0, 0.2775)),  # z^2 / (n + z^2)
        (1, 10, (0.0179, 0.4042)),  # Brown, Cai & DasGupta (2001)
        (5, 10, (0.2366, 0.7634)),
        (10, 10, (0.7225, 1.0)),
        (0, 0, (0.0, 1.0)),
    ],
)
def test_wilson_interval_matches_published_values(
    successes: int, n: int, expected: tuple[float, float]
) -> None:
    lo, hi = wilson_interval(successes, n)
    assert lo == pytest.approx(expected[0], abs=1e-4)
    assert hi == pytest.approx(expected[1], abs=1e-4)


@pytest.mark.parametrize(("confidence", "z"), [(0.95, 1.959964), (0.99, 2.575829), (0.90, 1.644854)])
def test_z_comes_from_the_normal_quantile(confidence: float, z: float) -> None:
    assert compute_z(confidence) == pytest.approx(z, abs=1e-6)


@pytest.mark.parametrize(
    ("successes", "n", "confidence"), [(3, 2, 0.95), (-1, 2, 0.95), (1, 2, 1.0), (1, 2, 0.0)]
)
def test_wilson_interval_rejects_impossible_input(successes: int, n: int, confidence: float) -> None:
    with pytest.raises(HealthError):
        wilson_interval(successes, n, confidence)


@pytest.mark.parametrize("true_s", [0.003, 0.05, 1.0, 12.5, 600.0, 7200.0])
def test_histogram_quantiles_are_within_half_a_bucket(true_s: float) -> None:
    values = np.full(101, true_s) * np.linspace(0.9, 1.1, 101)
    hist = compute_histogram(values.tolist())
    assert compute_histogram_quantile(hist, 0.5) == pytest.approx(np.median(values), rel=0.04)
    assert compute_histogram_quantile(hist, 0.95) == pytest.approx(np.quantile(values, 0.95), rel=0.04)


def test_histograms_merge_by_adding_counts_and_ignore_non_finite() -> None:
    a = compute_histogram([1.0, 2.0, float("nan")])
    b = compute_histogram([2.0, 4.0, float("inf")])
    merged = merge_histograms(a, b)
    assert sum(c for _, c in merged) == 4
    assert merged == compute_histogram([1.0, 2.0, 2.0, 4.0])
    assert compute_histogram_quantile((), 0.5) is None


@pytest.mark.parametrize(
    ("p", "expected"), [(None, None), (0.0, 0.0), (0.2, 0.25), (0.5, 1.0), (1.0, math.inf)]
)
def test_expected_rechecks_is_the_geometric_mean(p: float | None, expected: float | None) -> None:
    assert compute_expected_rechecks(p) == expected


@pytest.mark.parametrize(
    ("failed", "counted", "flips", "score"),
    [
        (0, 100, 0, 0.0),  # never fails
        (100, 100, 0, 0.0),  # always fails: no randomness
        (5, 100, 10, 1.0),  # isolated failures: flips = 2 per failure, as for independent flakes
        (5, 100, 2, 2 / 99 / (2 * 0.05 * 0.95)),  # one streak of 5
        (1, 100, 2, 1 / 3),  # a single failure is weak evidence
        (1, 1, 0, 0.0),
    ],
)
def test_flakiness_score_table(failed: int, counted: int, flips: int, score: float) -> None:
    assert compute_flakiness_score(failed_runs=failed, counted_runs=counted, flips=flips, min_failures=3) == (
        pytest.approx(score)
    )
