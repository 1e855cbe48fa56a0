"""Invariants of per-test health: ingest order does not matter, renames only relabel, and
the reported numbers are consistent with each other."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.analyse.health.columns import apply_renames
from gatewatch.analyse.health.per_test import compute_test_health
from gatewatch.domain.health import BuildVerdict, HealthStatus, TestObservation
from support.health_sim import observation

attempts = st.tuples(
    st.sampled_from(["a", "b", "c d[x#1]"]),
    st.integers(0, 15),  # run
    st.sampled_from(["pass", "fail", "skip", "error", "xfail"]),
)


def _history(rows: list[tuple[str, int, str]]) -> list[TestObservation]:
    # the code and the verdict belong to the run (its build): derive them from the run number
    return [
        observation(
            t,
            run,
            outcome,
            change=run % 4,
            build_verdict=[None, BuildVerdict.KNOWN, BuildVerdict.INFRA, None][run % 4],
        )
        for t, run, outcome in rows
    ]


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(attempts, max_size=40), st.randoms(use_true_random=False))
def test_ingest_order_does_not_change_health_when_runs_have_distinct_times(rows: list, rnd: object) -> None:
    history = _history(rows)
    shuffled = list(history)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    strip = lambda hs: [(h.test_id, h.status, h.failures, h.flip_rate, h.same_code_flip_rate) for h in hs]  # noqa: E731
    assert strip(compute_test_health(shuffled)) == strip(compute_test_health(history))


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(attempts, max_size=40))
def test_reported_numbers_are_consistent(rows: list) -> None:
    for h in compute_test_health(_history(rows)):
        assert h.passes + h.failures + h.skips == h.attempts
        lo, hi = h.failure_interval
        assert 0.0 <= lo <= hi <= 1.0
        if h.failure_probability is not None:
            assert lo - 1e-12 <= h.failure_probability <= hi + 1e-12
        assert h.flip_rate is None or 0.0 <= h.flip_rate <= 1.0
        assert 0.0 <= h.flakiness_score <= 1.0
        assert (h.status == HealthStatus.FLAKY) == bool(h.evidence)
        if h.status == HealthStatus.BROKEN:
            assert h.passes == 0
        if h.failures == 0:
            assert h.status == HealthStatus.STABLE


@settings(derandomize=True, max_examples=100, deadline=None)
@given(st.lists(attempts, max_size=40))
def test_renaming_relabels_without_changing_numbers(rows: list) -> None:
    history = _history(rows)
    renamed = compute_test_health(apply_renames(history, {"a": "z", "b": "y"}))
    original = {h.test_id: h for h in compute_test_health(history)}
    back = {"z": "a", "y": "b"}
    for h in renamed:
        o = original[back.get(h.test_id, h.test_id)]
        assert (h.runs, h.failures, h.status, h.flip_rate) == (o.runs, o.failures, o.status, o.flip_rate)
