"""The simulated history: size, determinism, day streaming, regression window, perf step, flaky rates."""

from __future__ import annotations

from datetime import datetime

import pytest

from gatewatch.demo.catalog import REGRESSION_JOB, compute_flaky
from gatewatch.demo.plan import BuildPlan, DemoOptions
from gatewatch.demo.results import select_tests
from gatewatch.demo.world import World
from gatewatch.errors import ConfigError


@pytest.fixture(scope="module")
def default_world() -> tuple[World, list[BuildPlan]]:
    world = World(DemoOptions(seed=42))
    plans = [plan for day in world.plan_days() for plan in day.builds]
    return world, plans


def _uuids(opts: DemoOptions) -> list[str]:
    return [p.uuid for day in World(opts).plan_days() for p in day.builds]


def test_same_seed_plans_the_same_history() -> None:
    assert _uuids(DemoOptions(seed=1, small=True)) == _uuids(DemoOptions(seed=1, small=True))
    assert _uuids(DemoOptions(seed=1, small=True)) != _uuids(DemoOptions(seed=2, small=True))


def test_each_day_holds_its_builds_in_start_order() -> None:
    world = World(DemoOptions(seed=4, days=5, small=True))
    days = list(world.plan_days())
    assert len(days) == 5
    for day in days:
        assert all(p.day == day.day for p in day.builds)
        assert [p.start for p in day.builds] == sorted(p.start for p in day.builds)


def test_default_size_meets_the_targets(default_world: tuple[World, list[BuildPlan]]) -> None:
    _, plans = default_world
    tests = sum(len(select_tests(p)) for p in plans if p.runs_tests)
    assert len(plans) >= 20000
    assert tests >= 1_000_000
    assert len({p.uuid for p in plans}) == len(plans)


def test_failed_builds_and_only_those_have_causes(default_world: tuple[World, list[BuildPlan]]) -> None:
    _, plans = default_world
    for plan in plans:
        assert (plan.result == "SUCCESS") == (not plan.causes), plan


def test_regression_fails_every_build_in_its_window(default_world: tuple[World, list[BuildPlan]]) -> None:
    world, plans = default_world
    assert world.regression is not None
    window = world.regression.window
    runs = [p for p in plans if p.job.name == REGRESSION_JOB and p.runs_tests]
    inside = [p for p in runs if window.contains(p.start)]
    assert inside
    assert all(p.regression and "regression" in p.causes for p in inside)
    assert not any(p.regression for p in runs if not window.contains(p.start))


def test_perf_step_starts_at_the_planted_commit(default_world: tuple[World, list[BuildPlan]]) -> None:
    world, plans = default_world
    rally = [p for p in plans if p.perf is not None]
    step = world.perf_step
    assert step is not None
    index = [p.uuid for p in rally].index(step.build_uuid)
    assert all(p.perf is not None and p.perf.step_factor == 1.0 for p in rally[:index])
    assert all(p.perf is not None and p.perf.step_factor > 1.0 for p in rally[index:])
    assert [p.start for p in rally] == sorted(p.start for p in rally)
    assert 0.2 * len(rally) < index < 0.8 * len(rally)
    assert all(p.result == "SUCCESS" for p in rally)


def test_flaky_attempt_rates_match_the_planted_rates(default_world: tuple[World, list[BuildPlan]]) -> None:
    _, plans = default_world
    for spec in compute_flaky():
        attempts = [
            a for p in plans if p.runs_tests for t, rolls in p.flaky if t == spec.test_id for a in rolls
        ]
        n, hits = len(attempts), sum(attempts)
        sigma = (n * spec.rate * (1 - spec.rate)) ** 0.5
        assert n > 200, spec
        assert abs(hits - n * spec.rate) <= 4.5 * sigma + 1, (spec, n, hits)


@pytest.mark.parametrize(
    "kwargs",
    [{"days": 0}, {"days": -3}, {"start": datetime(2026, 10, 1)}],
)
def test_bad_options_are_refused_with_a_hint(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        DemoOptions(**kwargs)  # type: ignore[arg-type]
