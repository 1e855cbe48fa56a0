"""Rolling one build's planted causes: table-driven cases and planted rates within bounds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gatewatch.demo.catalog import (
    BUGS,
    GRENADE_JOB,
    REGRESSION_JOB,
    SCENARIO_JOB,
    SSH_TIMEOUT_RATE,
    TEMPEST_JOB,
    JobSpec,
    compute_check_jobs,
)
from gatewatch.demo.outcomes import Window, compute_outcome

T0 = datetime(2026, 10, 5, 12, tzinfo=UTC)
WINDOW = Window(start=T0, end=T0 + timedelta(hours=6))


def _job(name: str) -> JobSpec:
    jobs = {j.name: j for p in ("nimbus-compute", "nimbus-network") for j in compute_check_jobs(p)}
    return jobs[name]


def _roll_many(name: str, n: int, *, when: datetime = T0 - timedelta(days=1)) -> list[tuple[str, ...]]:
    rng = random.Random(11)
    return [compute_outcome(rng, job=_job(name), start=when, window=WINDOW).causes for _ in range(n)]


@pytest.mark.parametrize(
    ("job_name", "when", "clean", "expect"),
    [
        ("nimbus-compute-tox-docs", T0, False, set()),
        (REGRESSION_JOB, T0 + timedelta(hours=1), False, {"regression"}),
        (REGRESSION_JOB, T0 - timedelta(seconds=1), False, set()),
        (REGRESSION_JOB, WINDOW.end, False, set()),
        (GRENADE_JOB, T0, False, {f"broken-job:{GRENADE_JOB}"}),
        (GRENADE_JOB, T0, True, set()),
    ],
)
def test_causes_follow_the_job_and_time(job_name: str, when: datetime, clean: bool, expect: set[str]) -> None:
    rng = random.Random(5)
    seen = set()
    for _ in range(400):
        outcome = compute_outcome(rng, job=_job(job_name), start=when, window=WINDOW, clean=clean)
        if outcome.infra is None:
            seen |= {c for c in outcome.causes if not c.startswith(("flaky:", "bug:"))}
            assert (outcome.result == "SUCCESS") == (not outcome.causes)
    assert seen == expect


def test_infra_causes_are_alone_and_stop_the_tests() -> None:
    rng = random.Random(2)
    infra = [compute_outcome(rng, job=_job(TEMPEST_JOB), start=T0, window=None) for _ in range(20000)]
    infra = [o for o in infra if o.infra is not None]
    assert infra
    for outcome in infra:
        assert outcome.causes == (f"infra:{outcome.infra}",)
        assert outcome.flaky == ()
        assert outcome.bug is None
        assert outcome.result in ("FAILURE", "NODE_FAILURE", "RETRY_LIMIT")


def _within(hits: int, n: int, rate: float) -> bool:
    sigma = (n * rate * (1 - rate)) ** 0.5
    return abs(hits - n * rate) <= 5 * sigma + 1


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.bug)
def test_race_bug_rate_is_the_planted_rate(bug: object) -> None:
    from gatewatch.demo.catalog import BugSpec

    assert isinstance(bug, BugSpec)
    n = 20000
    causes = _roll_many(bug.job_name, n)
    hits = sum(f"bug:{bug.bug}" in c for c in causes)
    # infra failures (~1.5 %) pre-empt the bug, as they would stop the real run
    assert _within(hits, n, bug.rate * 0.985)


def test_ssh_timeout_hits_only_the_scenario_job_at_its_rate() -> None:
    n = 20000
    scenario = sum("uncategorized:ssh-timeout-floating-ip" in c for c in _roll_many(SCENARIO_JOB, n))
    assert _within(scenario, n, SSH_TIMEOUT_RATE * 0.985)
    assert not any("uncategorized:ssh-timeout-floating-ip" in c for c in _roll_many(TEMPEST_JOB, 2000))
