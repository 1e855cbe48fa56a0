"""Hampel filtering and the difference-based noise estimate."""

from __future__ import annotations

import numpy as np
import pytest

from gatewatch.analyse.perf.clean import compute_cleaned, compute_noise_sd, compute_rolling_median


def test_noise_sd_ignores_a_level_shift() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate((rng.normal(0, 1, 500), rng.normal(50, 1, 500)))
    assert compute_noise_sd(values) == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize(("values", "expected"), [([], 0.0), ([1.0, 2.0], 0.0), ([4.0] * 10, 0.0)])
def test_noise_sd_of_degenerate_input(values: list[float], expected: float) -> None:
    assert compute_noise_sd(np.asarray(values, dtype=np.float64)) == expected


def test_quantised_values_still_have_noise() -> None:
    values = np.asarray([5.0, 5.0, 5.0, 6.0, 5.0, 5.0, 5.0, 5.0, 4.0, 5.0, 5.0, 5.0])
    assert 0.1 < compute_noise_sd(values) < 1.0


def test_rolling_median_matches_a_loop() -> None:
    values = np.asarray([5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0])
    med, _ = compute_rolling_median(values, 1)
    padded = np.pad(values, 1, mode="reflect")
    assert med.tolist() == [float(np.median(padded[i : i + 3])) for i in range(values.size)]


def test_short_series_use_the_global_median() -> None:
    med, mad = compute_rolling_median(np.asarray([1.0, 2.0, 10.0]), 5)
    assert med.tolist() == [2.0, 2.0, 2.0]
    assert mad.tolist() == [1.0, 1.0, 1.0]


def test_outliers_are_replaced_by_local_median_and_offset() -> None:
    values = np.asarray([10.0, 10.2, 9.9, 10.1, 30.0, 10.0, 9.8, 10.1, 10.0, 10.2])
    cleaned = compute_cleaned(values, half_window=3, threshold=5.0, noise_sd=0.1, offset=100)
    assert [o.index for o in cleaned.outliers] == [104]
    assert cleaned.outliers[0].value == 30.0
    assert cleaned.values[4] == pytest.approx(10.05, abs=0.1)
    assert values[4] == 30.0


def test_zero_threshold_disables_cleaning() -> None:
    values = np.asarray([1.0, 1.0, 100.0, 1.0, 1.0])
    assert compute_cleaned(values, half_window=1, threshold=0.0, noise_sd=1.0).outliers == ()
