"""Seeded intervals, the flattened layout and greedy selection."""

from __future__ import annotations

import numpy as np
import pytest

from gatewatch.analyse.perf.segment import (
    compute_cusum_profile,
    compute_layout,
    compute_seeded_intervals,
    compute_splits,
)


def test_seeded_layers_shrink_and_cover_more() -> None:
    layers = compute_seeded_intervals(100, min_segment=5, decay=0.5)
    assert layers == [(100, 1), (50, 3), (25, 7), (13, 15)]


@pytest.mark.parametrize("n", [10, 37, 100, 1000])
def test_layout_holds_every_split_of_every_interval_once(n: int) -> None:
    lay = compute_layout(n, min_segment=5, decay=0.7071)
    for k in range(lay.interval_start.size):
        splits = lay.split[lay.owner == k]
        start, end = lay.interval_start[k], lay.interval_end[k]
        assert splits.tolist() == list(range(start + 5, end - 5 + 1))
        assert start >= 0
        assert end <= n


def test_profile_peaks_at_the_step() -> None:
    values = np.asarray([0.0] * 30 + [1.0] * 10)
    profile = compute_cusum_profile(values, start=0, end=40, min_segment=5)
    assert int(np.nanargmax(profile)) == 30
    assert np.isnan(profile[:5]).all()
    assert np.isnan(profile[36:]).all()


def test_layout_statistic_equals_profile() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(0, 1, 64) + np.repeat([0.0, 10.0], 32)
    (split,) = compute_splits(values, noise_sd=2.0, threshold=4.0, min_segment=5, decay=0.7071)
    whole = compute_cusum_profile(values, start=0, end=64, min_segment=5)
    assert (split.start, split.end) == (0, 64)
    assert split.statistic == pytest.approx(float(np.nanmax(whole)) / 2.0)
    assert split.index == int(np.nanargmax(whole))


def test_greedy_selection_keeps_separate_steps() -> None:
    values = np.asarray([0.0] * 20 + [5.0] * 20 + [0.0] * 20 + [-5.0] * 20)
    rng = np.random.default_rng(5)
    splits = compute_splits(
        values + rng.normal(0, 0.5, 80), noise_sd=0.5, threshold=4.0, min_segment=5, decay=0.7071
    )
    assert [s.index for s in splits] == [20, 40, 60]


def test_nothing_below_threshold_or_without_noise() -> None:
    values = np.zeros(50)
    assert compute_splits(values, noise_sd=1.0, threshold=4.0, min_segment=5, decay=0.7) == []
    assert compute_splits(values, noise_sd=0.0, threshold=4.0, min_segment=5, decay=0.7) == []
