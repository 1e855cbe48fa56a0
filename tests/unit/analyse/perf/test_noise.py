"""Noise verdicts: robust CV, smallest detectable change, the sentence."""

from __future__ import annotations

import numpy as np
import pytest

from gatewatch.analyse.perf.detect import compute_change_points
from gatewatch.analyse.perf.noise import compute_min_detectable_pct, compute_noise_verdict
from gatewatch.domain.perf import NoiseLevel


@pytest.mark.parametrize(
    ("cv", "level"),
    [(0.005, NoiseLevel.QUIET), (0.04, NoiseLevel.NOISY), (0.10, NoiseLevel.UNUSABLE)],
)
def test_verdict_level_follows_the_noise(cv: float, level: NoiseLevel) -> None:
    rng = np.random.default_rng(9)
    values = (100 * (1 + rng.normal(0, cv, 400))).tolist()
    verdict = compute_noise_verdict(compute_change_points(values), runs_per_commit=3)
    assert verdict.level is level
    assert verdict.cv_pct == pytest.approx(cv * 100, rel=0.15)
    assert f"±{verdict.cv_pct:.1f}%" in verdict.sentence
    assert "3 runs per commit" in verdict.sentence


def test_detectable_change_shrinks_with_more_commits() -> None:
    few = compute_min_detectable_pct(8.0, commits_per_side=5, threshold_sd=4.0)
    many = compute_min_detectable_pct(8.0, commits_per_side=20, threshold_sd=4.0)
    assert many == pytest.approx(few / 2)


def test_verdict_ignores_outliers_and_steps() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate((np.full(200, 100.0), np.full(200, 150.0))) * (1 + rng.normal(0, 0.01, 400))
    values[::37] *= 3
    verdict = compute_noise_verdict(compute_change_points(values.tolist()))
    assert verdict.cv_pct < 1.5


@pytest.mark.parametrize("values", [[], [1.0, 2.0], [0.0] * 50])
def test_too_little_data_is_unknown(values: list[float]) -> None:
    verdict = compute_noise_verdict(compute_change_points(values))
    assert verdict.level is NoiseLevel.UNKNOWN
    assert "too few" in verdict.sentence
