from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.analyse.health.durations import (
    DurationStepOptions,
    detect_duration_step,
    detect_duration_steps,
)

series = st.lists(st.floats(min_value=0.01, max_value=1000.0), min_size=0, max_size=60)


@settings(derandomize=True)
@given(st.lists(series, max_size=6), st.sampled_from(["up", "down", "both"]))
def test_batch_detection_equals_one_by_one(many: list[list[float]], direction: str) -> None:
    options = DurationStepOptions(window=5, direction=direction)
    assert detect_duration_steps(many, options=options) == [
        detect_duration_step(s, options=options) for s in many
    ]


@settings(derandomize=True)
@given(series)
def test_a_reported_step_is_big_enough_and_inside_the_series(values: list[float]) -> None:
    options = DurationStepOptions(window=5)
    step = detect_duration_step(values, options=options)
    if step is not None:
        assert options.window <= step.index <= len(values) - options.window
        assert step.ratio >= options.min_ratio
        assert step.score >= options.threshold
