"""Per-test health on small literal histories: each row is a scenario and its verdict."""

from __future__ import annotations

import pytest

from gatewatch.analyse.health.per_test import (
    compute_flaky_tests,
    compute_test_health,
    compute_test_health_by_job,
)
from gatewatch.domain.health import BuildVerdict, HealthStatus, TestHealth, TestObservation
from support.health_sim import at_hour
from support.health_sim import observation as obs


def _one(observations: list[TestObservation]) -> TestHealth:
    (health,) = compute_test_health(observations)
    return health


SCENARIOS = {
    "always passes": ([obs("t", r, "pass") for r in range(6)], HealthStatus.STABLE, 0),
    "always fails is broken": ([obs("t", r, "fail") for r in range(6)], HealthStatus.BROKEN, 0),
    "one failure is not enough to be broken": ([obs("t", 0, "fail")], HealthStatus.FAILING, 0),
    "retry inside a run passed": (
        [obs("t", 0, "pass"), obs("t", 1, "fail"), obs("t", 1, "pass", attempt=2), obs("t", 2, "pass")],
        HealthStatus.FLAKY,
        1,
    ),
    "duplicate ids in one run are attempts": (
        [obs("t", 0, "pass"), obs("t", 1, "fail"), obs("t", 1, "pass"), obs("t", 2, "pass")],
        HealthStatus.FLAKY,
        1,
    ),
    "recheck of the same patchset passed": (
        [obs("t", 0, "fail", change=7), obs("t", 1, "pass", change=7), obs("t", 2, "pass")],
        HealthStatus.FLAKY,
        1,
    ),
    "same commit without a change passed and failed": (
        [
            obs("t", 0, "fail", change=None, patchset=None, commit_sha="abc"),
            obs("t", 1, "pass", change=None, patchset=None, commit_sha="abc"),
        ],
        HealthStatus.FLAKY,
        1,
    ),
    "new patchset fixed it: a real failure, not flaky": (
        [obs("t", 0, "fail", change=7, patchset=1), obs("t", 1, "pass", change=7, patchset=2)],
        HealthStatus.FAILING,
        0,
    ),
    "regression streak then fixed": (
        [obs("t", r, "fail" if 5 <= r < 9 else "pass") for r in range(20)],
        HealthStatus.FAILING,
        0,
    ),
    "scattered failures on different code": (
        [obs("t", r, "fail" if r % 10 == 4 else "pass") for r in range(40)],
        HealthStatus.FLAKY,
        1,
    ),
    "infra failures do not count": (
        [obs("t", r, "pass") for r in range(3)]
        + [obs("t", 3, "fail", build_verdict=BuildVerdict.INFRA, change=1)],
        HealthStatus.STABLE,
        0,
    ),
    "only skipped": ([obs("t", r, "skip") for r in range(3)], HealthStatus.STABLE, 0),
}


@pytest.mark.parametrize(("history", "status", "evidence"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_status_and_evidence(history: list[TestObservation], status: HealthStatus, evidence: int) -> None:
    health = _one(history)
    assert health.status == status
    assert len(health.evidence) == evidence


def test_counts_rates_and_failure_window() -> None:
    history = [
        obs("t", 0, "pass", duration_s=1.0),
        obs("t", 1, "fail", duration_s=9.0),
        obs("t", 1, "pass", attempt=2, duration_s=2.0),
        obs("t", 2, "skip"),
        obs("t", 3, "fail", build_verdict=BuildVerdict.KNOWN),
        obs("t", 4, "error", build_verdict=BuildVerdict.INFRA),
        obs("t", 5, "pass", duration_s=3.0),
    ]
    h = _one(history)
    assert (h.runs, h.attempts, h.passes, h.failures, h.skips) == (5, 6, 3, 2, 1)
    assert (h.infra_attempts, h.known_failures) == (1, 1)
    assert h.failure_probability == pytest.approx(2 / 5)
    assert h.pass_rate == pytest.approx(3 / 5)
    assert h.failure_interval[0] < 0.4 < h.failure_interval[1]
    assert h.first_failure_at == at_hour(1)
    assert h.last_failure_at == at_hour(3)
    # passing attempts only: 1, 2, 3 seconds
    assert h.duration_p50_s == pytest.approx(2.0)
    # counted runs in time order: pass, fail(mixed), fail, pass -> 2 flips over 3 pairs
    assert h.flip_rate == pytest.approx(2 / 3)


def test_evidence_names_the_runs_and_builds() -> None:
    h = _one([obs("t", 0, "fail", change=7), obs("t", 1, "pass", change=7)])
    (e,) = h.evidence
    assert (e.kind, e.code, e.passed_runs, e.failed_runs) == ("same_code", "c:7,1", ("run-1",), ("run-0",))
    assert set(e.build_uuids) == {"b0", "b1"}


def test_runs_are_ordered_by_time_despite_ingest_order_and_clock_skew() -> None:
    in_order = [obs("t", r, "fail" if r in (2, 3) else "pass") for r in range(6)]
    shuffled = [in_order[i] for i in (5, 0, 3, 1, 4, 2)]
    assert _one(shuffled).flip_rate == _one(in_order).flip_rate == pytest.approx(2 / 5)


def test_runs_without_timestamps_follow_timed_runs_in_ingest_order() -> None:
    timed = [obs("t", r, "pass") for r in range(3)]
    untimed = [
        obs("t", 10 + r, outcome, started_at=None) for r, outcome in enumerate(["fail", "fail", "pass"])
    ]
    h = _one(untimed[:1] + timed + untimed[1:])
    # pass pass pass | fail fail pass  -> 2 flips over 5 pairs
    assert h.flip_rate == pytest.approx(2 / 5)
    assert h.first_failure_at is None


def test_same_code_flip_rate_counts_only_repeats_of_the_same_code() -> None:
    history = [obs("t", 0, "fail", change=1), obs("t", 1, "pass", change=1), obs("t", 2, "pass", change=2)]
    h = _one(history)
    assert h.same_code_flip_rate == pytest.approx(1.0)
    assert _one([obs("t", r, "pass") for r in range(3)]).same_code_flip_rate is None


@pytest.mark.parametrize(
    "test_id",
    ["test_x[a b]", "test_x[\u00e9\u4e2d]", "t::param[#1-\\n]", "tempest.api.x(test_y)[id-1,smoke]", ""],
)
def test_odd_test_ids_are_kept_verbatim(test_id: str) -> None:
    assert _one([obs(test_id, 0, "fail"), obs(test_id, 0, "pass")]).test_id == test_id


def test_flaky_list_holds_flaky_and_broken_ranked_by_failure_probability() -> None:
    history = [obs("stable", r, "pass") for r in range(10)]
    history += [obs("broken", r, "fail") for r in range(10)]
    history += [obs("flaky", r, "fail" if r == 3 else "pass") for r in range(10)]
    history += [obs("flaky", 3, "pass", attempt=2)]
    assert [(h.test_id, h.status) for h in compute_flaky_tests(history)] == [
        ("broken", HealthStatus.BROKEN),
        ("flaky", HealthStatus.FLAKY),
    ]


def test_duration_step_is_reported_for_a_test_that_got_slower() -> None:
    history = [obs("t", r, "pass", duration_s=10.0 if r < 30 else 14.0) for r in range(60)]
    step = _one(history).duration_step
    assert step is not None
    assert step.index == 30
    assert step.ratio == pytest.approx(1.4)


def test_empty_history_has_no_tests() -> None:
    assert compute_test_health([]) == ()


def test_health_by_job_keeps_each_jobs_history_apart() -> None:
    history = [obs("t", r, "pass", job_name="unit") for r in range(4)]
    history += [obs("t", 10 + r, "fail", job_name="py312") for r in range(4)]
    assert [(h.job_name, h.test_id, h.status) for h in compute_test_health_by_job(history)] == [
        ("py312", "t", HealthStatus.BROKEN),
        ("unit", "t", HealthStatus.STABLE),
    ]
