"""The detector state survives JSON (strict: no NaN tokens, as PostgreSQL's JSON requires)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.analyse.perf import DetectorOptions, compute_change_points, update_analysis
from gatewatch.domain.perf import Direction
from gatewatch.store.perf_state import dump_state, load_state

levels = st.lists(st.sampled_from([10.0, 11.0, 30.0]), min_size=1, max_size=4)


@st.composite
def series(draw: st.DrawFn) -> list[float]:
    steps = draw(levels)
    noise = draw(st.lists(st.floats(-0.2, 0.2), min_size=12 * len(steps), max_size=12 * len(steps)))
    return [steps[i // 12] + e for i, e in enumerate(noise)]


@settings(derandomize=True, max_examples=40, deadline=None)
@given(values=series(), direction=st.sampled_from(Direction), split=st.integers(0, 20))
def test_state_round_trips_through_strict_json(values: list[float], direction: Direction, split: int) -> None:
    cut = max(1, len(values) - split)
    analysis = compute_change_points(values[:cut], options=DetectorOptions(direction=direction))
    commits = [f"c{i}" for i in range(cut)]
    text = json.dumps(dump_state(analysis, commits), allow_nan=False)
    loaded = load_state(json.loads(text))
    assert loaded == analysis
    assert update_analysis(loaded, values[cut:]) == update_analysis(analysis, values[cut:])


def test_non_finite_numbers_become_null_and_read_back_as_nan() -> None:
    analysis = compute_change_points([10.0] * 20 + [12.0] * 20)
    (point,) = analysis.change_points
    broken = replace(analysis, noise_sd=math.inf, change_points=(replace(point, p_value=math.nan),))
    state = json.loads(json.dumps(dump_state(broken, ["c"] * 40), allow_nan=False))
    assert state["noise_sd"] is None
    loaded = load_state(state)
    assert math.isnan(loaded.noise_sd)
    assert math.isnan(loaded.change_points[0].p_value)
    assert replace(loaded.change_points[0], p_value=0.0) == replace(point, p_value=0.0)
