"""Validations of the simulator against closed forms and known scenarios (kept as tests)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gatewatch.gate.sim.compare import compare
from gatewatch.gate.sim.engine import simulate
from gatewatch.gate.sim.strategies import strategy
from gatewatch.gate.sim.world import WorldSpec, preset

SEEDS = 5
# A saturated world with one job per change and nothing random but durations.
CLEAN = WorldSpec(
    name="clean",
    horizon_h=40.0,
    arrivals_per_h=0.0,
    backlog=150,
    p_bad=0.0,
    p_unmergeable=0.0,
    jobs=1,
    job_duration_h=1.0,
    duration_cv=0.25,
    p_flaky_per_job=0.0,
    nodes=40,
)


def test_serial_throughput_is_one_over_mean_build_time() -> None:
    est = compare(CLEAN, ["serial"], SEEDS).summary("serial").merged_per_h
    expected = 1 / CLEAN.job_duration_h
    # Up to one partial build is cut at the horizon, hence 1/horizon of slack.
    assert est.low - 1 / CLEAN.horizon_h <= expected <= est.high + 1 / CLEAN.horizon_h


@pytest.mark.parametrize("p_bad", [0.1, 0.25])
def test_speculation_stays_under_one_over_p_t(p_bad: float) -> None:
    world = replace(CLEAN, p_bad=p_bad)
    result = compare(world, ["serial", "zuul"], SEEDS)
    zuul = result.summary("zuul").merged_per_h
    assert zuul.high <= 1 / (p_bad * world.job_duration_h)
    assert zuul.low > result.summary("serial").merged_per_h.high  # but speculation does pay


def test_immediate_eject_ejects_innocent_changes_that_zuul_keeps() -> None:
    world = replace(CLEAN, p_bad=0.2, duration_cv=0.5)  # no flaky failures: every good change could merge
    result = compare(world, ["zuul", "immediate-eject"], SEEDS)
    zuul_runs = dict(result.results)["zuul"]
    assert all(r.good_ejected == 0 for r in zuul_runs)
    assert sum(r.good_ejected for r in dict(result.results)["immediate-eject"]) > 0


def test_no_strategy_merges_a_bad_change_and_none_beats_the_oracle() -> None:
    world = replace(preset("github-typical"), horizon_h=8.0)
    result = compare(world, ["serial", "zuul", "immediate-eject", "bors", "gatewatch", "oracle"], 3)
    oracle = result.summary("oracle").merged_per_h.mean
    for s in result.summaries:
        assert s.bad_merged.mean == 0
        assert s.merged_per_h.mean <= oracle * 1.05, s.strategy


def test_gatewatch_beats_zuul_on_the_openstack_preset() -> None:
    world = replace(preset("openstack-2013"), horizon_h=16.0)
    result = compare(world, ["zuul", "gatewatch"], SEEDS)
    zuul, ours = result.summary("zuul"), result.summary("gatewatch")
    assert ours.merged_per_h.mean >= 1.5 * zuul.merged_per_h.mean
    assert ours.good_ejected.mean <= zuul.good_ejected.mean / 2
    assert ours.node_h_per_merge.mean < zuul.node_h_per_merge.mean
    assert ours.bad_merged.mean == zuul.bad_merged.mean == 0


def test_a_seed_fixes_the_world_and_the_result() -> None:
    world = replace(preset("github-typical"), horizon_h=6.0)
    assert simulate(world, strategy("zuul"), 7) == simulate(world, strategy("zuul"), 7)
    assert simulate(world, strategy("zuul"), 7) != simulate(world, strategy("zuul"), 8)


def test_every_strategy_meets_the_same_arrivals() -> None:
    world = replace(preset("github-typical"), horizon_h=6.0)
    arrived = {simulate(world, strategy(name), 3).arrived for name in ("serial", "zuul", "bors", "oracle")}
    assert len(arrived) == 1
