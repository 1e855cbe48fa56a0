"""compute_series: validation, sorting and aggregation of samples."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from gatewatch.analyse.perf.series import compute_series
from gatewatch.domain.perf import BenchmarkSample, SeriesKey
from gatewatch.errors import PerfError

KEY = SeriesKey(project="nova", benchmark="boot", metric="duration")


def _sample(value: float, commit: str = "", *, unit: str = "s", day: int | None = None) -> BenchmarkSample:
    stamp = datetime(2026, 1, day, tzinfo=UTC) if day else None
    return BenchmarkSample(key=KEY, value=value, unit=unit, commit_sha=commit, timestamp=stamp)


def test_samples_are_sorted_by_time_and_duplicates_aggregated() -> None:
    series = compute_series(
        [
            _sample(3.0, "c", day=3),
            _sample(1.0, "a", day=1),
            _sample(2.0, "b", day=2),
            _sample(4.0, "b", day=2),
        ]
    )
    assert series.commits == ("a", "b", "c")
    assert series.values == (1.0, 3.0, 3.0)
    assert series.runs == (1, 2, 1)
    assert series.runs_per_commit == 1


def test_without_timestamps_input_order_is_kept() -> None:
    assert compute_series([_sample(2.0, "x"), _sample(1.0, "y")]).commits == ("x", "y")


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_values_are_dropped_and_reported(bad: float) -> None:
    series = compute_series([_sample(1.0, "a"), _sample(bad, "b"), _sample(2.0, "c")])
    assert series.values == (1.0, 2.0)
    assert [d.commit_sha for d in series.dropped] == ["b"]


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        ([], "no samples"),
        ([_sample(1.0, "a"), _sample(1.0, "b", unit="ms")], "mixes units 's' and 'ms'"),
        ([_sample(1.0, "a"), _sample(-0.5, "b")], "negative duration"),
        (
            [
                _sample(1.0),
                BenchmarkSample(key=SeriesKey(project="x", benchmark="y", metric="z"), value=1, unit="s"),
            ],
            "different series",
        ),
    ],
)
def test_bad_series_are_refused(samples: list[BenchmarkSample], message: str) -> None:
    with pytest.raises(PerfError, match=message):
        compute_series(samples)


def test_negative_values_are_fine_for_non_duration_units() -> None:
    assert compute_series([_sample(-3.0, "a", unit="%")]).values == (-3.0,)
