from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from gatewatch.analyse.health.jobs import (
    compute_attention_order,
    compute_daily_job_rollups,
    compute_job_health,
    compute_job_rates_from_rollups,
    merge_job_rollups,
    render_job_verdict,
)
from gatewatch.domain.builds import BuildResult
from gatewatch.domain.health import BuildVerdict, HealthStatus, JobHealth, JobObservation
from support.health_sim import at_hour

S, F = BuildResult.SUCCESS, BuildResult.FAILURE


def build(n: int, result: BuildResult, **fields: object) -> JobObservation:
    values: dict[str, object] = {"job_name": "unit", "change": n, "patchset": 1, "started_at": at_hour(n)}
    values.update(fields)
    return JobObservation(build_uuid=f"b{n}", result=result, **values)  # type: ignore[arg-type]


def _one(builds: list[JobObservation]) -> JobHealth:
    (health,) = compute_job_health(builds)
    return health


SCENARIOS = {
    "always passes": ([build(n, S) for n in range(5)], HealthStatus.STABLE),
    "always-failing non-voting job is broken": (
        [build(n, F, voting=False) for n in range(5)],
        HealthStatus.BROKEN,
    ),
    "fails then passes on recheck of the same patchset": (
        [build(0, F, change=9), build(1, S, change=9), build(2, S)],
        HealthStatus.FLAKY,
    ),
    "fails only on bad patchsets": (
        [build(0, F, change=9, patchset=1), build(1, S, change=9, patchset=2)],
        HealthStatus.FAILING,
    ),
    "infra failure then success is not flaky": (
        [build(0, BuildResult.NODE_FAILURE, change=9), build(1, S, change=9)],
        HealthStatus.STABLE,
    ),
    "only infra failures are not broken": (
        [build(n, F, verdict=BuildVerdict.INFRA) for n in range(5)],
        HealthStatus.STABLE,
    ),
    "a same-code flake under 0.5 % of builds is noise, not a flaky job": (
        [build(0, F, change=9), build(1, S, change=9)] + [build(n, S) for n in range(2, 202)],
        HealthStatus.STABLE,
    ),
    "the same flake at 1 of 150 builds is flaky": (
        [build(0, F, change=9), build(1, S, change=9)] + [build(n, S) for n in range(2, 150)],
        HealthStatus.FLAKY,
    ),
    "infra failures do not dilute the rate": (
        [build(0, F, change=9), build(1, S, change=9)]
        + [build(n, F, verdict=BuildVerdict.INFRA) for n in range(2, 300)]
        + [build(n, S) for n in range(300, 320)],
        HealthStatus.FLAKY,
    ),
}


@pytest.mark.parametrize(("builds", "status"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_job_status(builds: list[JobObservation], status: HealthStatus) -> None:
    health = _one(builds)
    assert health.status == status
    assert bool(health.evidence) == (status == HealthStatus.FLAKY)


VERDICTS = {
    "broken": (
        [build(n, F, voting=False) for n in range(4)],
        "broken, never passed (4 real failures in 4 builds)",
    ),
    "flaky": ([build(0, F, change=9), build(1, S, change=9), build(2, S)], "flaky, fails 33.3% of builds"),
    "failing": (
        [build(0, F, change=9, patchset=1), build(1, S, change=9, patchset=2)],
        "failing, fails 50.0%",
    ),
    "infra only": (
        [build(0, F, verdict=BuildVerdict.INFRA), build(1, S)],
        "healthy, only infra failures (1 in 2",
    ),
    "clean": ([build(0, S)], "healthy"),
}


@pytest.mark.parametrize(("builds", "start"), VERDICTS.values(), ids=VERDICTS.keys())
def test_job_verdict_wording(builds: list[JobObservation], start: str) -> None:
    assert render_job_verdict(_one(builds)).startswith(start)


def test_attention_order_puts_broken_then_flaky_then_failing_first() -> None:
    jobs = [
        _one([build(0, S, job_name="a")]),
        _one(
            [build(0, F, change=9, patchset=1, job_name="b"), build(1, S, change=9, patchset=2, job_name="b")]
        ),
        _one([build(0, F, change=9, job_name="c"), build(1, S, change=9, job_name="c")]),
        _one([build(n, F, job_name="d") for n in range(3)]),
    ]
    assert [j.job_name for j in compute_attention_order(jobs)] == ["d", "c", "b", "a"]


def test_failure_rates_exclude_infra_and_then_known_bugs() -> None:
    builds = [build(n, S) for n in range(6)]
    builds += [build(10, F, verdict=BuildVerdict.INFRA), build(11, BuildResult.NODE_FAILURE)]
    builds += [build(12, F, verdict=BuildVerdict.KNOWN), build(13, F, known_bug_ids=("123",)), build(14, F)]
    builds += [build(15, BuildResult.CANCELED), build(16, BuildResult.MERGE_CONFLICT)]
    h = _one(builds)
    assert (h.builds, h.failures, h.infra_failures, h.known_failures) == (11, 5, 2, 2)
    assert h.failure_rate == pytest.approx(5 / 11)
    assert h.failure_rate_excl_infra == pytest.approx(3 / 9)
    assert h.failure_rate_excl_known == pytest.approx(1 / 7)
    assert h.failure_interval_excl_infra[0] < 3 / 9 < h.failure_interval_excl_infra[1]


def test_correct_change_failure_probability_and_expected_rechecks() -> None:
    builds = [
        # change 1: failed twice, passed on the third recheck -> correct code
        build(0, F, change=1), build(1, F, change=1), build(2, S, change=1),
        # change 2: merged without this job passing (non-voting) -> correct code
        build(3, F, change=2, merged=True),
        # change 3: broken patchset, fixed by patchset 2 -> ps1 is not known to be correct
        build(4, F, change=3, patchset=1), build(5, S, change=3, patchset=2),
    ]  # fmt: skip
    h = _one(builds)
    assert h.correct_builds == 5
    assert h.correct_change_failure_probability == pytest.approx(3 / 5)
    assert h.expected_rechecks == pytest.approx(0.6 / 0.4)
    lo, hi = h.correct_change_interval
    assert lo < 0.6 < hi


def test_daily_rates_leave_out_builds_without_a_timestamp() -> None:
    builds = [
        build(1, S),
        build(2, F),
        build(30, F, verdict=BuildVerdict.INFRA),
        build(40, S, started_at=None),
    ]
    h = _one(builds)
    assert [(d.day, d.builds, d.failures, d.infra_failures) for d in h.daily] == [
        (date(2026, 1, 1), 2, 1, 0),
        (date(2026, 1, 2), 1, 1, 1),
    ]
    assert h.daily[0].failure_rate_excl_infra == pytest.approx(0.5)
    assert h.daily[1].failure_rate_excl_infra is None


def test_job_rollups_merge_incrementally_to_the_batch_result() -> None:
    builds = [
        build(n, F if n % 3 == 0 else S, verdict=BuildVerdict.INFRA if n == 3 else None) for n in range(50)
    ]
    batch = compute_daily_job_rollups(builds)
    incremental: tuple = ()
    for b in builds:
        incremental = merge_job_rollups(incremental + compute_daily_job_rollups([b]))
    assert sorted(incremental, key=str) == sorted(batch, key=str)
    assert compute_job_rates_from_rollups(batch) == _one(builds).daily


def test_jobs_are_reported_separately_and_sorted() -> None:
    builds = [build(0, S, job_name="b"), build(1, F, job_name="a"), build(2, S, job_name="a")]
    assert [(h.job_name, h.builds) for h in compute_job_health(builds)] == [("a", 2), ("b", 1)]


@pytest.mark.parametrize(("p_fail", "seed"), [(0.05, 1), (0.2, 2), (0.4, 3)])
def test_correct_change_estimate_covers_a_planted_flaky_job_rechecked_until_it_passes(
    p_fail: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    builds, n = [], 0
    for change in range(400):
        bad = change % 10 == 0  # 10 % of changes are wrong in patchset 1, fixed in patchset 2
        patchset = 1
        while True:
            failed = bad or rng.random() < p_fail
            builds.append(build(n, F if failed else S, change=change, patchset=patchset))
            n += 1
            if bad:
                bad, patchset = False, 2
            elif not failed:
                break
    h = _one(builds)
    lo, hi = h.correct_change_interval
    assert lo <= p_fail <= hi
    assert h.expected_rechecks == pytest.approx(p_fail / (1 - p_fail), abs=0.1)
    # counting every build would blame the job for the broken changes too
    assert (h.failure_rate or 0.0) > (h.correct_change_failure_probability or 0.0)
