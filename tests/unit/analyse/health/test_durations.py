from __future__ import annotations

import numpy as np
import pytest

from gatewatch.analyse.health.durations import DurationStepOptions, _best, _scores, detect_duration_step


def _noisy(levels: list[tuple[float, int]], *, noise: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    values = np.concatenate([np.full(n, level) for level, n in levels])
    return (values * (1.0 + noise * rng.standard_normal(values.size))).tolist()


@pytest.mark.parametrize(
    ("series", "index"),
    [
        ([10.0] * 20 + [15.0] * 20, 20),
        (_noisy([(10.0, 40), (13.0, 40)], noise=0.03, seed=1), 40),
        (_noisy([(2.0, 15), (4.0, 25)], noise=0.05, seed=2), 15),
    ],
)
def test_step_up_is_found_where_it_happened(series: list[float], index: int) -> None:
    step = detect_duration_step(series)
    assert step is not None
    assert abs(step.index - index) <= 2
    assert step.after_s > step.before_s


@pytest.mark.parametrize(
    "series",
    [
        [10.0] * 40,
        _noisy([(10.0, 80)], noise=0.05, seed=3),
        [10.0] * 20 + [50.0] + [10.0] * 20,  # one outlier is not a step
        [10.0, 50.0] * 20,  # alternating noise is not a step
        [10.0] * 19,  # too short
        [10.0] * 20 + [10.5] * 20,  # below min_ratio
        [10.0] * 20 + [5.0] * 20,  # faster is not reported by default
    ],
)
def test_no_step_is_reported(series: list[float]) -> None:
    assert detect_duration_step(series) is None


def test_step_down_is_reported_when_asked() -> None:
    step = detect_duration_step([10.0] * 20 + [5.0] * 20, options=DurationStepOptions(direction="down"))
    assert step is not None
    assert step.ratio == pytest.approx(0.5)


def test_non_finite_values_are_dropped() -> None:
    series = [10.0] * 20 + [float("nan")] * 5 + [20.0] * 20
    step = detect_duration_step(series)
    assert step is not None
    assert step.index == 20


def test_scaling_the_series_does_not_move_the_step() -> None:
    series = _noisy([(10.0, 30), (13.0, 30)], noise=0.03, seed=4)
    a = detect_duration_step(series)
    b = detect_duration_step([x * 1000 for x in series])
    assert a is not None
    assert b is not None
    assert a.index == b.index
    assert a.ratio == pytest.approx(b.ratio)


def test_a_reported_step_carries_the_perf_detectors_p_value() -> None:
    step = detect_duration_step(_noisy([(10.0, 40), (13.0, 40)], noise=0.03, seed=1))
    assert step is not None
    assert step.p_value is not None
    assert 0.0 <= step.p_value <= DurationStepOptions().max_p_value


def test_a_screened_drift_the_perf_detector_rejects_is_not_a_step() -> None:
    # a random walk (seed 254): the sliding-median screen sees a step, the change-point
    # detector (autocorrelation-corrected) finds none that is significant
    rng = np.random.default_rng(254)
    walk = np.abs(10 + np.cumsum(rng.normal(0, 0.3, 60))) + 1
    options = DurationStepOptions()
    before, after, score = _scores(walk[None, :], options)
    assert _best(before[0], after[0], score[0], options) is not None
    assert detect_duration_step(walk.tolist()) is None
