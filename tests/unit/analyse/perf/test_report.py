"""compute_findings: change points placed on commits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gatewatch.analyse.perf import DetectorOptions, compute_change_points, compute_findings, compute_series
from gatewatch.domain.perf import BenchmarkSample, ChangeKind, Direction, SeriesKey
from gatewatch.errors import PerfError

KEY = SeriesKey(project="nova", benchmark="boot", metric="duration", environment="noble")


def _series(levels: list[float]) -> list[BenchmarkSample]:
    rng = np.random.default_rng(11)
    return [
        BenchmarkSample(key=KEY, value=float(v * (1 + rng.normal(0, 0.01))), unit="s", commit_sha=f"c{i:03d}")
        for i, v in enumerate(levels)
    ]


def test_regression_is_placed_on_the_commit_that_caused_it() -> None:
    series = compute_series(_series([100.0] * 60 + [110.0] * 60 + [95.0] * 60))
    analysis = compute_change_points(series.values)
    regression, improvement = compute_findings(series, analysis)
    assert regression.kind is ChangeKind.REGRESSION
    assert improvement.kind is ChangeKind.IMPROVEMENT
    assert regression.first_bad_commit == "c060"
    assert regression.last_good_commit == "c059"
    assert "c060" in regression.suspect_commits
    assert (regression.unit, regression.key) == ("s", KEY)
    assert regression.magnitude_pct == pytest.approx(10, abs=1)


def test_higher_is_better_flips_the_kind() -> None:
    samples = [replace(s, direction=Direction.HIGHER_IS_BETTER) for s in _series([100.0] * 50 + [80.0] * 50)]
    series = compute_series(samples)
    options = replace(DetectorOptions(), direction=series.direction)
    (finding,) = compute_findings(series, compute_change_points(series.values, options=options))
    assert finding.kind is ChangeKind.REGRESSION


def test_analysis_of_another_series_is_refused() -> None:
    series = compute_series(_series([1.0] * 20))
    with pytest.raises(PerfError, match="20 points but the analysis 3"):
        compute_findings(series, compute_change_points([1.0, 2.0, 3.0]))
