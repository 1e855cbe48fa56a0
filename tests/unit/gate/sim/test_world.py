from __future__ import annotations

from dataclasses import replace

import pytest

from gatewatch.errors import GateError
from gatewatch.gate.sim.world import (
    compute_duration_h,
    compute_luck,
    plan_arrivals,
    plan_build_fate,
    preset,
)

WORLD = preset("openstack-2013")


def test_luck_is_a_pure_function_of_seed_and_key() -> None:
    assert compute_luck(1, "flaky", "A|B", 0, 1) == compute_luck(1, "flaky", "A|B", 0, 1)
    assert compute_luck(1, "flaky", "A|B", 0, 1) != compute_luck(1, "flaky", "A|B", 0, 2)
    assert 0.0 <= compute_luck(2, "x") < 1.0


def test_build_fate_depends_on_the_tested_set_not_its_order() -> None:
    one = plan_build_fate(WORLD, 5, stack=("c1", "c2"), job=0, attempt=1)
    assert one == plan_build_fate(WORLD, 5, stack=("c2", "c1"), job=0, attempt=1)


def test_a_bad_change_fails_every_stack_it_is_in() -> None:
    world = replace(WORLD, p_bad=1.0, p_misclassified=0.0)
    fates = [plan_build_fate(world, 1, stack=("a", "b"), job=j, attempt=1) for j in range(world.jobs)]
    assert not all(f.success for f in fates)
    assert all(f.classification == "" for f in fates if not f.success)


@pytest.mark.parametrize(("u", "expected"), [(0.5, 0.97), (0.999, 1.0)])
def test_durations_are_log_normal_around_the_mean(u: float, expected: float) -> None:
    median = compute_duration_h(WORLD, u)
    assert (median < 1.0) if expected < 1.0 else (median > 1.0)


def test_arrivals_follow_the_rate_and_backlog() -> None:
    world = replace(WORLD, backlog=3, arrivals_per_h=10.0, horizon_h=100.0)
    arrivals = plan_arrivals(world, 0)
    assert [a.at_h for a in arrivals[:3]] == [0.0, 0.0, 0.0]
    assert 850 < len(arrivals) - 3 < 1150
    assert arrivals == plan_arrivals(world, 0)


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(GateError, match="github-typical"):
        preset("nope")
