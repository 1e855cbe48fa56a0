"""Regression windows: packed failures are a breakage, scattered ones are flakiness."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gatewatch.analyse.health.per_test import HealthOptions, compute_test_health
from gatewatch.analyse.health.windows import WindowOptions, compute_failure_windows
from gatewatch.domain.health import HealthStatus, TestHealth
from support.health_sim import PlantedTest, at_hour, simulate_history
from support.health_sim import observation as obs


def _seq(n: int, failed: list[int] | range) -> np.ndarray:
    seq = np.zeros(n, dtype=bool)
    seq[list(failed)] = True
    return seq


WINDOWS = {
    "one block of 20 in 900 runs": (_seq(900, range(400, 420)), [(400, 419)]),
    "one block plus two stray failures": (_seq(900, [*range(400, 420), 10, 600]), [(400, 419)]),
    "a block with one rescued run inside": (_seq(600, [*range(300, 310), *range(311, 320)]), [(300, 319)]),
    "two blocks": (_seq(900, [*range(100, 110), *range(700, 712)]), [(100, 109), (700, 711)]),
    "an open block at the end": (_seq(300, range(280, 300)), [(280, 299)]),
    "always failing: no window, that is broken": (_seq(50, range(50)), []),
    "no failure": (_seq(50, []), []),
    "a single failure": (_seq(500, [7]), []),
    "three in a row in 100 runs is not enough evidence": (_seq(100, [40, 41, 42]), []),
    "scattered every 10th run": (_seq(500, range(0, 500, 10)), []),
    "a loose block (half failed) is intermittent, not broken": (_seq(600, range(300, 360, 2)), []),
}


@pytest.mark.parametrize(("seq", "expected"), WINDOWS.values(), ids=WINDOWS.keys())
def test_windows_found(seq: np.ndarray, expected: list[tuple[int, int]]) -> None:
    assert [(w.start, w.end) for w in compute_failure_windows(seq)] == expected


@pytest.mark.parametrize(("n", "k"), [(100, 5), (900, 20), (2000, 4)])
def test_p_value_of_one_packed_block_is_the_bonferroni_corrected_exact_chance(n: int, k: int) -> None:
    # k failures all adjacent: P(a given window of k runs holds all k) = 1 / C(n, k)
    (w,) = compute_failure_windows(_seq(n, range(10, 10 + k)))
    expected = min(1.0, n * (n + 1) / 2 / math.comb(n, k))
    assert w.p_value == pytest.approx(expected, rel=1e-6)
    assert w.failed == k


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.1, 0.2])
def test_independent_failures_almost_never_make_a_window(rate: float) -> None:
    rng = np.random.default_rng(int(rate * 1000))
    found = sum(bool(compute_failure_windows(rng.random(600) < rate)) for _ in range(300))
    assert found <= 2  # alpha = 1e-3 per sequence: 0.3 expected in 300


def test_alpha_and_share_are_options() -> None:
    seq = _seq(100, [40, 41, 42, 44])
    assert compute_failure_windows(seq) == ()
    (w,) = compute_failure_windows(seq, options=WindowOptions(alpha=0.5, min_share=0.75))
    assert (w.start, w.end, w.failed) == (40, 44, 4)


def _dependency_history(
    *, runs: int = 400, start: int = 200, length: int = 20, rate: float = 0.0, seed: int = 3
) -> TestHealth:
    test = PlantedTest(test_id="t", kind="dependency", rate=rate, start=start, length=length)
    history = simulate_history(np.random.default_rng(seed), [test], runs=runs, recheck_rate=0.3)
    (health,) = compute_test_health(history)
    return health


def test_a_dependency_breakage_is_a_fixed_regression_not_flaky() -> None:
    health = _dependency_history()
    assert health.status == HealthStatus.FAILING
    assert health.evidence == ()
    (w,) = health.regressions
    assert (w.started_at, w.ended_at, w.last_passed_at, w.fixed_at) == tuple(
        at_hour(h) for h in (200, 219, 199, 220)
    )
    assert (w.runs, w.failed_runs, w.fixed, w.first_failed_build, w.fixed_build) == (
        20,
        20,
        True,
        "b200",
        "b220",
    )
    assert w.p_value < 1e-10


def test_a_recheck_across_the_window_is_no_flaky_evidence() -> None:
    # change 49 passed at run 49 and failed when rechecked at run 50, inside the window
    history = [
        obs("t", r, "fail" if 50 <= r < 60 else "pass", change=49 if r == 50 else r) for r in range(200)
    ]
    (without_scan,) = compute_test_health(history, options=HealthOptions(windows=None))
    assert without_scan.status == HealthStatus.FLAKY  # what the window scan corrects
    assert [e.code for e in without_scan.evidence] == ["c:49,1"]
    (health,) = compute_test_health(history)
    assert (health.status, health.evidence) == (HealthStatus.FAILING, ())
    (w,) = health.regressions
    assert (w.first_failed_build, w.first_failed_code, w.fixed_build) == ("b50", "c:49,1", "b60")


def test_a_breakage_still_open_is_broken_since() -> None:
    health = _dependency_history(start=380, length=0)
    assert health.status == HealthStatus.BROKEN
    (w,) = health.regressions
    assert not w.fixed
    assert (w.started_at, w.fixed_at, w.fixed_build) == (at_hour(380), None, "")


def test_a_flaky_test_with_a_regression_window_stays_flaky_with_both_reported() -> None:
    health = _dependency_history(rate=0.1, runs=600, start=300, length=25)
    assert health.status == HealthStatus.FLAKY
    assert [w.failed_runs >= 25 for w in health.regressions] == [True]
    assert health.evidence
    inside = {f"run-{r}" for r in range(300, 325)}
    for e in health.evidence:  # same-code evidence comes from outside the window
        assert e.kind == "retry" or not set(e.failed_runs) & inside


def test_a_retry_inside_a_window_is_still_flaky() -> None:
    history = [obs("t", r, "fail" if 50 <= r < 70 else "pass", change=r) for r in range(200)]
    history.append(obs("t", 60, "pass", attempt=2, change=60))
    (health,) = compute_test_health(history)
    assert health.status == HealthStatus.FLAKY
    assert [e.kind for e in health.evidence] == ["retry"]
    assert len(health.regressions) == 1


STREAKS = {
    "an isolated failure of a rechecked change is same-code evidence": (
        [obs("t", 0, "pass", change=7), obs("t", 1, "fail", change=7), obs("t", 2, "pass", change=8)],
        HealthStatus.FLAKY,
    ),
    "a rechecked change failing next to another failure is no evidence (a breakage in time)": (
        [obs("t", 0, "pass", change=7), obs("t", 1, "fail", change=7), obs("t", 2, "fail", change=8)]
        + [obs("t", r, "pass") for r in range(3, 12)],
        HealthStatus.FAILING,
    ),
    "the same, but a retry passed inside the failing run": (
        [
            obs("t", 0, "pass", change=7),
            obs("t", 1, "fail", change=7),
            obs("t", 1, "pass", change=7, attempt=2),
        ]
        + [obs("t", 2, "fail", change=8)]
        + [obs("t", r, "pass") for r in range(3, 12)],
        HealthStatus.FLAKY,
    ),
    "a streak on another branch does not touch this branch's isolated failure": (
        [
            obs("t", 0, "pass", change=7),
            obs("t", 2, "fail", change=7),
            obs("t", 4, "pass", change=9),
            obs("t", 3, "fail", change=8, branch="stable/x"),
            obs("t", 5, "pass", change=10, branch="stable/x"),
        ],
        HealthStatus.FLAKY,
    ),
}


@pytest.mark.parametrize(("history", "status"), STREAKS.values(), ids=STREAKS.keys())
def test_failures_in_a_streak_are_no_same_code_evidence(history: list, status: HealthStatus) -> None:
    (health,) = compute_test_health(history)
    assert health.status == status
    assert bool(health.evidence) == (status == HealthStatus.FLAKY)
