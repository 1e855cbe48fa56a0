from __future__ import annotations

from datetime import date

import pytest

from gatewatch.analyse.health.rollups import (
    compute_affected_rollup_keys,
    compute_daily_test_rollups,
    merge_rollup_pair,
    merge_rollups,
    rollup_key,
)
from gatewatch.domain.health import BuildVerdict, DailyTestRollup
from support.health_sim import at_hour
from support.health_sim import observation as obs


def test_one_rollup_per_day_test_and_job_branch_pipeline() -> None:
    history = [
        obs("t", 1, "pass", job_name="unit"),
        obs("t", 2, "fail", job_name="unit"),
        obs("t", 3, "pass", job_name="func"),
        obs("t", 30, "pass", job_name="unit", branch="stable/1"),
        obs("t", 40, "pass", job_name="unit", started_at=None),
    ]
    keys = sorted(rollup_key(r) for r in compute_daily_test_rollups(history) if r.day)
    assert keys == [
        (date(2026, 1, 1), "t", "func", "", ""),
        (date(2026, 1, 1), "t", "unit", "", ""),
        (date(2026, 1, 2), "t", "unit", "stable/1", ""),
    ]
    (untimed,) = [r for r in compute_daily_test_rollups(history) if r.day is None]
    assert (untimed.runs, untimed.first_at) == (1, None)


def test_rollup_counts_flips_failures_and_durations() -> None:
    history = [
        obs("t", 1, "pass", duration_s=2.0),
        obs("t", 2, "fail"),
        obs("t", 2, "pass", attempt=2, duration_s=4.0),
        obs("t", 3, "fail", build_verdict=BuildVerdict.KNOWN),
        obs("t", 4, "fail", build_verdict=BuildVerdict.INFRA),
        obs("t", 5, "skip"),
    ]
    (r,) = compute_daily_test_rollups(history)
    assert (r.runs, r.counted_runs, r.failed_runs, r.mixed_runs) == (4, 3, 2, 1)
    assert (r.attempts, r.passes, r.failures, r.skips, r.infra_attempts, r.known_failures) == (
        5,
        2,
        2,
        1,
        1,
        1,
    )
    assert (r.flips, r.first_failed, r.last_failed) == (1, False, True)
    assert (r.first_failure_at, r.last_failure_at) == (at_hour(2), at_hour(3))
    assert (r.duration_count, r.duration_sum_s) == (2, 6.0)
    assert sum(c for _, c in r.duration_hist) == 2


def test_ingesting_run_by_run_equals_rebuilding_the_day() -> None:
    outcomes = ["pass", "fail", "fail", "pass", "pass", "fail", "pass"]
    history = [obs("t", r, o, duration_s=float(r + 1)) for r, o in enumerate(outcomes)]
    stored: tuple[DailyTestRollup, ...] = ()
    for r in range(len(outcomes)):
        stored = merge_rollups(stored + compute_daily_test_rollups([history[r]]))
    assert stored == compute_daily_test_rollups(history)
    assert stored[0].flips == 4


def test_merging_with_an_empty_side_keeps_the_other_sides_outcomes() -> None:
    (failing,) = compute_daily_test_rollups([obs("t", 1, "fail")])
    (infra_only,) = compute_daily_test_rollups([obs("t", 2, "fail", build_verdict=BuildVerdict.INFRA)])
    merged = merge_rollup_pair(infra_only, failing)
    assert (merged.first_failed, merged.last_failed, merged.flips, merged.infra_attempts) == (
        True,
        True,
        0,
        1,
    )
    assert merge_rollup_pair(failing, infra_only).counted_runs == 1


@pytest.mark.parametrize("hour", [23.9, 24.0])
def test_a_run_belongs_to_the_utc_day_it_started(hour: float) -> None:
    (r,) = compute_daily_test_rollups([obs("t", 1, "pass", started_at=at_hour(hour))])
    assert r.day == at_hour(hour).date()


def test_a_reingested_run_is_handled_by_rebuilding_the_rollups_it_touches() -> None:
    before = [obs("t", r, "pass") for r in range(6)] + [obs("u", r, "pass") for r in range(6)]
    changed_run = [obs("t", 3, "fail"), obs("u", 3, "pass")]  # run-3 again, with new results
    after = [o for o in before if o.run_key != "run-3"] + changed_run
    stored = {rollup_key(r): r for r in compute_daily_test_rollups(before)}
    affected = compute_affected_rollup_keys([o for o in before if o.run_key == "run-3"]) | (
        compute_affected_rollup_keys(changed_run)
    )
    for key in affected:
        del stored[key]
    rebuilt = compute_daily_test_rollups([o for o in after if compute_affected_rollup_keys([o]) <= affected])
    stored.update({rollup_key(r): r for r in rebuilt})
    assert stored == {rollup_key(r): r for r in compute_daily_test_rollups(after)}
    assert stored[(date(2026, 1, 1), "t", "", "", "")].failures == 1
