"""Planted-rate simulations: flaky detection recall/precision and Wilson coverage.

The histories are generated with a seeded numpy RNG inside each test, so they are
deterministic, and the expected figures follow from the planted rates, not from a
previous run of the code.
"""

from __future__ import annotations

import numpy as np
import pytest

from gatewatch.analyse.health.per_test import compute_test_health
from gatewatch.domain.health import HealthStatus
from support.health_sim import PlantedTest, planted_suite, simulate_history

RATES = (0.005, 0.01, 0.02, 0.05, 0.10)


def _verdicts(
    seed: int, *, runs: int, retry: bool, per_rate: int = 12, dependencies: int = 0
) -> dict[str, HealthStatus]:
    rng = np.random.default_rng(seed)
    suite = planted_suite(
        RATES, per_rate=per_rate, stable=60, regressions=12, runs=runs, dependencies=dependencies
    )
    history = simulate_history(rng, suite, runs=runs, retry=retry)
    return {h.test_id: h.status for h in compute_test_health(history)}


def _recall(verdicts: dict[str, HealthStatus], rate: float) -> float:
    planted = [t for t in verdicts if t.startswith(f"flaky_{rate}_")]
    return sum(verdicts[t] == HealthStatus.FLAKY for t in planted) / len(planted)


@pytest.mark.parametrize(
    ("seed", "runs", "retry"),
    [(1, 400, True), (2, 1000, False), (3, 600, True)],
)
def test_flaky_detection_recall_and_precision_on_planted_rates(seed: int, runs: int, retry: bool) -> None:
    verdicts = _verdicts(seed, runs=runs, retry=retry)
    flagged = [t for t, s in verdicts.items() if s == HealthStatus.FLAKY]
    true_flaky = [t for t in flagged if t.startswith("flaky_")]
    assert len(true_flaky) / len(flagged) >= 0.95, sorted(set(flagged) - set(true_flaky))
    for rate in RATES:
        if rate >= 0.01:
            assert _recall(verdicts, rate) >= 0.95, rate
    recall_low = _recall(verdicts, 0.005)
    assert recall_low <= _recall(verdicts, 0.05)  # rarer flakes are harder, never easier


@pytest.mark.parametrize("seed", [4, 5])
def test_stable_never_flaky_broken_is_broken_regressions_are_failing(seed: int) -> None:
    verdicts = _verdicts(seed, runs=300, retry=True, per_rate=2)
    assert {verdicts[t] for t in verdicts if t.startswith("stable_")} == {HealthStatus.STABLE}
    assert {verdicts[t] for t in verdicts if t.startswith("broken_")} == {HealthStatus.BROKEN}
    assert {verdicts[t] for t in verdicts if t.startswith("regression_")} == {HealthStatus.FAILING}


@pytest.mark.parametrize("seed", [6, 7])
def test_dependency_breakages_are_regressions_not_flaky_and_recall_holds(seed: int) -> None:
    # rechecks of one change before and inside the window pass then fail: without the window
    # scan these tests would be called flaky (same code, both outcomes)
    verdicts = _verdicts(seed, runs=600, retry=False, per_rate=6, dependencies=12)
    assert {verdicts[t] for t in verdicts if t.startswith("dependency_")} == {HealthStatus.FAILING}
    for rate in RATES[1:]:
        assert _recall(verdicts, rate) >= 0.95, rate


@pytest.mark.parametrize("rate", RATES)
def test_wilson_intervals_cover_planted_rate_at_nominal_frequency(rate: float) -> None:
    rng = np.random.default_rng(int(rate * 10_000))
    suite = [PlantedTest(test_id=f"t{i}", kind="flaky", rate=rate) for i in range(200)]
    history = simulate_history(rng, suite, runs=300, retry=False)
    healths = compute_test_health(history)
    covered = [h.failure_interval[0] <= rate <= h.failure_interval[1] for h in healths]
    # 200 tests at 95 % nominal: the observed share stays above 0.90 unless coverage is broken
    assert np.mean(covered) >= 0.90
    for h in healths:
        assert h.failure_interval[0] <= (h.failure_probability or 0.0) <= h.failure_interval[1]


def test_every_flaky_verdict_carries_evidence_runs() -> None:
    rng = np.random.default_rng(7)
    suite = planted_suite((0.05,), per_rate=10, stable=5, regressions=3, runs=200)
    for h in compute_test_health(simulate_history(rng, suite, runs=200, retry=True)):
        if h.status == HealthStatus.FLAKY:
            assert h.evidence
            for e in h.evidence:
                assert e.passed_runs
                assert e.failed_runs
        else:
            assert h.evidence == ()
