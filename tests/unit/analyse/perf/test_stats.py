"""Mann-Whitney p-value and change-point description."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from gatewatch.analyse.perf.segment import Split
from gatewatch.analyse.perf.stats import compute_change_point, compute_p_value
from gatewatch.domain.perf import ChangeKind, Direction


@pytest.mark.parametrize(
    ("n1", "n2", "shift", "decimals"), [(10, 12, 0.5, 1), (30, 40, 0.2, 2), (200, 8, 1.0, 0)]
)
def test_p_value_matches_scipy_asymptotic(n1: int, n2: int, shift: float, decimals: int) -> None:
    rng = np.random.default_rng(n1)
    a = np.round(rng.normal(0, 1, n1), decimals)
    b = np.round(rng.normal(shift, 1, n2), decimals)
    expected = mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue
    assert compute_p_value(a, b) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("before", "after"),
    [([1.0], [2.0, 3.0]), ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])],
    ids=["too-few", "all-equal"],
)
def test_p_value_is_one_when_undefined(before: list[float], after: list[float]) -> None:
    assert compute_p_value(np.asarray(before), np.asarray(after)) == 1.0


def test_range_widens_for_a_weak_shift() -> None:
    rng = np.random.default_rng(1)
    strong = np.concatenate((rng.normal(0, 1, 50), rng.normal(10, 1, 50)))
    weak = np.concatenate((rng.normal(0, 1, 50), rng.normal(0.8, 1, 50)))
    ranges = []
    for values in (strong, weak):
        point = compute_change_point(
            values + 100,
            split=Split(index=50, start=0, end=100, statistic=5.0),
            bounds=(0, 100),
            direction=Direction.LOWER_IS_BETTER,
            min_segment=5,
            noise_sd=1.0,
        )
        assert point.kind is ChangeKind.REGRESSION
        ranges.append(point.last_index - point.first_index)
    assert ranges[0] <= 1 < ranges[1]


def test_average_ranks_match_scipy() -> None:
    from scipy.stats import rankdata

    from gatewatch.analyse.perf.stats import _average_ranks

    values = np.asarray([3.0, 1.0, 3.0, 2.0, 3.0, 1.0])
    ranks, counts = _average_ranks(values)
    assert ranks.tolist() == rankdata(values).tolist()
    assert counts.tolist() == [2.0, 1.0, 3.0]


@pytest.mark.parametrize("values", [[1.0, 2.0, 4.0], [5.0, 5.0], [1e9, 1e9 + 1, 1e9 + 3]])
def test_spread_is_the_sample_standard_deviation(values: list[float]) -> None:
    from gatewatch.analyse.perf.stats import _sd

    assert _sd(np.asarray(values)) == pytest.approx(float(np.std(values, ddof=1)))
