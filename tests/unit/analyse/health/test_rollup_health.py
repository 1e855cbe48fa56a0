from __future__ import annotations

import numpy as np
import pytest

from gatewatch.analyse.health.per_test import compute_test_health, compute_test_health_by_job
from gatewatch.analyse.health.rollup_health import (
    compute_test_health_by_job_from_rollups,
    compute_test_health_from_rollups,
)
from gatewatch.analyse.health.rollups import compute_daily_test_rollups
from gatewatch.domain.health import HealthStatus
from support.health_sim import PlantedTest, planted_suite, simulate_history
from support.health_sim import observation as obs


def test_rollup_health_finds_the_planted_tests_like_raw_health() -> None:
    rng = np.random.default_rng(21)
    suite = planted_suite((0.02, 0.1), per_rate=5, stable=20, regressions=5, runs=300)
    history = simulate_history(rng, suite, runs=300, retry=True)
    raw = {h.test_id: h.status for h in compute_test_health(history)}
    rolled = {
        h.test_id: h.status for h in compute_test_health_from_rollups(compute_daily_test_rollups(history))
    }
    assert rolled == raw
    assert {s for t, s in rolled.items() if t.startswith("flaky_")} == {HealthStatus.FLAKY}


def test_duration_step_from_daily_medians() -> None:
    history = [obs("t", r, "pass", duration_s=10.0 if r < 24 * 10 else 20.0) for r in range(0, 24 * 20, 6)]
    (h,) = compute_test_health_from_rollups(compute_daily_test_rollups(history))
    assert h.duration_step is not None
    assert h.duration_step.index == 10  # the 11th day
    assert h.duration_p50_s == pytest.approx(15.0, rel=0.4)


def test_stable_test_has_no_flips_and_no_step() -> None:
    history = simulate_history(np.random.default_rng(1), [PlantedTest(test_id="s", kind="stable")], runs=100)
    (h,) = compute_test_health_from_rollups(compute_daily_test_rollups(history))
    assert (h.status, h.flip_rate, h.duration_step) == (HealthStatus.STABLE, 0.0, None)


def test_rollup_health_by_job_equals_raw_health_by_job() -> None:
    history = [obs("t", r, "fail" if r % 4 == 1 else "pass", job_name="unit") for r in range(12)]
    history += [obs("t", 20 + r, "fail", job_name="py312") for r in range(3)]
    raw = [(h.job_name, h.status, h.failures, h.flip_rate) for h in compute_test_health_by_job(history)]
    rolled = compute_test_health_by_job_from_rollups(compute_daily_test_rollups(history))
    assert [(h.job_name, h.status, h.failures, h.flip_rate) for h in rolled] == raw
