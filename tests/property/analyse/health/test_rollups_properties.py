"""Rollups are exact: merging the rollups of two consecutive slices of history equals the
rollups of the whole, and health from rollups agrees with health from raw rows."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.analyse.health.per_test import compute_test_health
from gatewatch.analyse.health.rollup_health import compute_test_health_from_rollups
from gatewatch.analyse.health.rollups import compute_daily_test_rollups, merge_rollups, rollup_key
from gatewatch.domain.health import BuildVerdict, TestObservation
from support.health_sim import at_hour, observation


@dataclass(frozen=True)
class RunSpec:
    test: str
    timed: bool
    outcomes: tuple[str, ...]
    verdict: BuildVerdict | None
    duration: int


run_specs = st.builds(
    RunSpec,
    test=st.sampled_from(["a", "b", "c[#x]"]),
    timed=st.booleans() | st.just(True),
    outcomes=st.lists(st.sampled_from(["pass", "fail", "skip", "error"]), min_size=1, max_size=3).map(tuple),
    verdict=st.sampled_from([None, None, None, BuildVerdict.INFRA, BuildVerdict.KNOWN]),
    duration=st.integers(1, 100),
)


def _observations(specs: list[RunSpec], hour_step: float = 7.0) -> list[TestObservation]:
    out = []
    for r, spec in enumerate(specs):
        for attempt, outcome in enumerate(spec.outcomes, start=1):
            out.append(
                observation(
                    spec.test,
                    r,
                    outcome,
                    attempt=attempt,
                    build_verdict=spec.verdict,
                    started_at=at_hour(r * hour_step) if spec.timed else None,
                    duration_s=float(spec.duration),
                )
            )
    return out


def _by_key(rollups: tuple) -> dict:
    return {rollup_key(r): r for r in rollups}


@settings(derandomize=True, max_examples=150, deadline=None)
@given(st.lists(run_specs, min_size=1, max_size=40), st.integers(0, 40))
def test_merging_rollups_of_consecutive_history_equals_batch(specs: list[RunSpec], cut: int) -> None:
    # timed runs before the cut come earlier than those after; untimed runs keep ingest order
    history = _observations(specs)
    first = [o for o in history if int(o.run_key[4:]) < cut]
    second = [o for o in history if int(o.run_key[4:]) >= cut]
    merged = merge_rollups(compute_daily_test_rollups(first) + compute_daily_test_rollups(second))
    assert _by_key(merged) == _by_key(compute_daily_test_rollups(history))


@settings(derandomize=True, max_examples=150, deadline=None)
@given(st.lists(run_specs, min_size=1, max_size=40))
def test_health_from_rollups_agrees_with_raw_history(specs: list[RunSpec]) -> None:
    history = _observations(specs)
    raw = {h.test_id: h for h in compute_test_health(history)}
    rolled = {h.test_id: h for h in compute_test_health_from_rollups(compute_daily_test_rollups(history))}
    assert raw.keys() == rolled.keys()
    for test_id, r in raw.items():
        g = rolled[test_id]
        fields = ("runs", "attempts", "passes", "failures", "skips", "infra_attempts", "known_failures")
        assert [getattr(g, f) for f in fields] == [getattr(r, f) for f in fields]
        assert (g.failure_probability, g.failure_interval, g.flip_rate) == (
            r.failure_probability,
            r.failure_interval,
            r.flip_rate,
        )
        assert (g.first_failure_at, g.last_failure_at) == (r.first_failure_at, r.last_failure_at)
        assert g.flakiness_score == r.flakiness_score
        assert g.status == r.status  # every run is its own code here: same-code evidence = retries
