from __future__ import annotations

import math

import pytest

from gatewatch.gate.sim.compare import (
    compare,
    compute_estimate,
    compute_quantile,
    compute_share,
    render_comparison_table,
)
from gatewatch.gate.sim.world import preset


@pytest.mark.parametrize(
    ("values", "mean", "half_width"),
    [
        ([2.0], 2.0, 0.0),
        ([1.0, 3.0], 2.0, 12.706 * math.sqrt(2) / math.sqrt(2)),
        ([1.0, 1.0, 1.0], 1.0, 0.0),
        ([1.0, math.nan, 3.0], 2.0, 12.706),
    ],
)
def test_estimate_is_mean_and_t_interval(values: list[float], mean: float, half_width: float) -> None:
    est = compute_estimate(values)
    assert est.mean == pytest.approx(mean)
    assert est.half_width == pytest.approx(half_width, rel=1e-3)


@pytest.mark.parametrize(("q", "expected"), [(0.0, 1.0), (0.5, 3.0), (0.95, 5.0)])
def test_quantile(q: float, expected: float) -> None:
    assert compute_quantile([5.0, 1.0, 3.0, 2.0, 4.0], q) == expected


def test_table_has_one_row_per_strategy_and_the_oracle_share() -> None:
    from dataclasses import replace

    world = replace(preset("github-typical"), horizon_h=4.0)
    table = render_comparison_table(compare(world, ["zuul", "oracle"], 2))
    rows = table.splitlines()
    assert rows[0].startswith("world github-typical: 2 seeds")
    assert [r.split()[0] for r in rows[3:]] == ["zuul", "oracle"]
    assert rows[-1].split()[2] == "100%"


def test_share_of_the_oracle_is_not_available_without_the_oracle() -> None:
    from dataclasses import replace

    world = replace(preset("github-typical"), horizon_h=4.0)
    comparison = compare(world, ["zuul"], 2)
    assert compute_share(comparison, "zuul") is None
    row = render_comparison_table(comparison).splitlines()[3]
    assert row.split()[2] == "n/a"
    assert "nan" not in row
