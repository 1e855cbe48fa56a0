"""compute_change_points and update_analysis on short generated series."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gatewatch.analyse.perf.detect import DetectorOptions, compute_change_points, update_analysis
from gatewatch.domain.perf import ChangeKind, Direction
from gatewatch.errors import PerfError


def _steps(levels: list[tuple[int, float]], *, seed: int = 1, cv: float = 0.02) -> list[float]:
    rng = np.random.default_rng(seed)
    level = np.concatenate([np.full(n, value) for n, value in levels])
    return (level * (1 + rng.normal(0, cv, level.size))).tolist()


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([(60, 100.0), (60, 110.0)], [60]),
        ([(50, 100.0), (70, 92.0), (80, 104.0)], [50, 120]),
        ([(200, 100.0)], []),
        ([(30, 100.0), (30, 120.0), (30, 100.0)], [30, 60]),
    ],
)
def test_steps_are_found_where_they_are(levels: list[tuple[int, float]], expected: list[int]) -> None:
    found = [c.index for c in compute_change_points(_steps(levels)).change_points]
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        assert abs(got - want) <= 2


@pytest.mark.parametrize(
    ("direction", "higher_after", "kind"),
    [
        (Direction.LOWER_IS_BETTER, True, ChangeKind.REGRESSION),
        (Direction.LOWER_IS_BETTER, False, ChangeKind.IMPROVEMENT),
        (Direction.HIGHER_IS_BETTER, True, ChangeKind.IMPROVEMENT),
        (Direction.HIGHER_IS_BETTER, False, ChangeKind.REGRESSION),
    ],
)
def test_kind_follows_metric_direction(direction: Direction, higher_after: bool, kind: ChangeKind) -> None:
    after = 115.0 if higher_after else 85.0
    options = replace(DetectorOptions(), direction=direction)
    (point,) = compute_change_points(_steps([(50, 100.0), (50, after)]), options=options).change_points
    assert point.kind is kind
    assert (point.magnitude_pct > 0) == higher_after
    assert point.p_value < 1e-6
    assert point.count_before + point.count_after == 100
    assert point.first_index <= point.index <= point.last_index


def test_change_point_statistics_describe_both_sides() -> None:
    (point,) = compute_change_points(_steps([(80, 100.0), (80, 108.0)], cv=0.01)).change_points
    assert point.mean_before == pytest.approx(100.0, rel=0.01)
    assert point.mean_after == pytest.approx(108.0, rel=0.01)
    assert point.magnitude_pct == pytest.approx(8.0, abs=1.0)
    assert 0.5 < point.spread_before < 1.5
    assert 0.5 < point.spread_after < 1.7


def test_outlier_runs_are_reported_not_change_points() -> None:
    values = _steps([(300, 100.0)])
    slow = [17, 90, 91, 150, 222, 260, 299]
    for i in slow:
        values[i] *= 2.5
    analysis = compute_change_points(values)
    assert analysis.change_points == ()
    assert [o.index for o in analysis.outliers] == slow
    assert all(o.deviation_pct > 100 for o in analysis.outliers)


@pytest.mark.parametrize(
    "values",
    [[], [5.0], [5.0, 5.0], [3.0] * 100, [1.0, 2.0, 3.0]],
    ids=["empty", "one", "two", "constant", "three"],
)
def test_degenerate_series_have_no_change_points(values: list[float]) -> None:
    analysis = compute_change_points(values)
    assert analysis.change_points == ()
    assert len(analysis.values) == len(values)


def test_noiseless_step_is_found() -> None:
    (point,) = compute_change_points([1.0] * 20 + [2.0] * 20).change_points
    assert point.index == 20


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_are_refused(bad: float) -> None:
    with pytest.raises(PerfError, match="position 3"):
        compute_change_points([1.0, 2.0, 3.0, bad, 4.0])


def test_min_magnitude_drops_small_changes() -> None:
    values = _steps([(100, 100.0), (100, 103.0)], cv=0.005)
    assert len(compute_change_points(values).change_points) == 1
    options = replace(DetectorOptions(), min_magnitude_pct=5.0)
    assert compute_change_points(values, options=options).change_points == ()


def test_update_equals_full_recompute_on_clear_steps() -> None:
    values = _steps([(80, 100.0), (90, 115.0), (70, 95.0), (60, 110.0)], seed=3)
    full = compute_change_points(values)
    first = compute_change_points(values[:200])
    updated = update_analysis(update_analysis(first, values[200:260]), values[260:])
    assert [c.index for c in updated.change_points] == [c.index for c in full.change_points]
    assert updated.values == full.values
    assert updated.analysed_from > 0


def test_update_only_reanalyses_after_last_confirmed_point() -> None:
    values = _steps([(60, 100.0), (70, 120.0), (70, 100.0)], seed=4)
    first = compute_change_points(values[:190])
    assert [c.index for c in first.change_points] == [60, 130]
    updated = update_analysis(first, values[190:])
    assert updated.analysed_from == 130
    assert updated.change_points[0] is first.change_points[0]
    assert updated.change_points[1].count_after == 70


def test_unconfirmed_change_point_is_reanalysed() -> None:
    values = _steps([(100, 100.0), (100, 120.0)], seed=4)
    first = compute_change_points(values[:110])
    updated = update_analysis(first, values[110:115])
    assert updated.analysed_from == 0
    assert [c.index for c in updated.change_points] == [
        c.index for c in compute_change_points(values[:115]).change_points
    ]


def test_update_of_empty_analysis_is_a_full_analysis() -> None:
    values = _steps([(60, 100.0), (60, 110.0)])
    updated = update_analysis(compute_change_points([]), values)
    assert [c.index for c in updated.change_points] == [
        c.index for c in compute_change_points(values).change_points
    ]


def test_seed_is_recorded() -> None:
    assert compute_change_points([1.0] * 10, seed=42).seed == 42


def _ar1(phi: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0, 1, n)
    out = np.empty(n)
    out[0] = shocks[0]
    for i in range(1, n):
        out[i] = phi * out[i - 1] + shocks[i]
    return out


@pytest.mark.parametrize(("phi", "inflated"), [(0.0, False), (0.3, True), (0.6, True)])
def test_autocorrelated_noise_inflates_the_noise_scale(phi: float, inflated: bool) -> None:
    from gatewatch.analyse.perf.detect import compute_autocorrelation_inflation

    factor = compute_autocorrelation_inflation(100 + _ar1(phi, 2000, seed=8), [])
    assert (factor > 1.0) is inflated
    if inflated:
        assert factor == pytest.approx(np.sqrt(1 + phi) / (1 - phi), rel=0.15)


def test_drifting_noise_is_not_taken_for_shifts() -> None:
    values = (100 + 2 * _ar1(0.5, 1000, seed=2)).tolist()
    corrected = compute_change_points(values)
    raw = compute_change_points(values, options=replace(DetectorOptions(), autocorrelation_correction=False))
    assert len(corrected.change_points) < len(raw.change_points)
    assert len(corrected.change_points) <= 1
    assert corrected.noise_sd > raw.noise_sd
