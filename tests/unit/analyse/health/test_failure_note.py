"""explain_test_failure: what a failed test's history in its job says about its failure in one build."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gatewatch.analyse.health.failure_note import (
    FailureKind,
    FailureNote,
    explain_test_failure,
    is_explained_by_history,
    render_kind_counts,
    summarize_failure_notes,
)
from gatewatch.domain.health import FlakyEvidence, HealthStatus, RegressionWindow, TestHealth

T = datetime(2026, 10, 13, 12, 0, tzinfo=UTC)
START, END = T, T + timedelta(hours=1)  # the build being explained
JOB = "unit-py311"


def _health(
    status: HealthStatus, *, failures: int = 3, first: datetime | None = None, **fields: object
) -> TestHealth:
    values: dict[str, object] = {
        "test_id": "pkg.Test.test_x",
        "job_name": JOB,
        "status": status,
        "runs": 100,
        "attempts": 100,
        "passes": 100 - failures,
        "failures": failures,
        "skips": 0,
        "infra_attempts": 0,
        "known_failures": 0,
        "pass_rate": (100 - failures) / 100,
        "failure_probability": failures / 100,
        "failure_interval": (0.01, 0.08),
        "flip_rate": 0.05,
        "same_code_flip_rate": None,
        "flakiness_score": 0.0,
        "first_failure_at": first or T - timedelta(days=3),
        "last_failure_at": T + timedelta(minutes=30),
        "duration_p50_s": 1.0,
        "duration_p95_s": 2.0,
    }
    values.update(fields)
    return TestHealth(**values)  # type: ignore[arg-type]


def _window(*, first_build: str, fixed: bool, start: datetime, end: datetime) -> RegressionWindow:
    return RegressionWindow(
        branch="main",
        started_at=start,
        ended_at=end,
        last_passed_at=start - timedelta(hours=1),
        fixed_at=end + timedelta(hours=1) if fixed else None,
        runs=12,
        failed_runs=12,
        first_failed_build=first_build,
        first_failed_code="c:1234,1",
        fixed=fixed,
        fixed_build="fix" if fixed else "",
        p_value=1e-9,
    )


def _note(health: TestHealth | None, build: str = "this-build") -> FailureNote:
    return explain_test_failure(health, job_name=JOB, build_uuid=build, start=START, end=END)


def test_a_flaky_test_with_same_code_evidence_says_a_recheck_will_likely_pass() -> None:
    evidence = (
        FlakyEvidence(kind="same_code", code="c:1,1", passed_runs=("1",), failed_runs=("2",)),
        FlakyEvidence(kind="retry", code="c:2,1", passed_runs=("3",), failed_runs=("3",)),
    )
    note = _note(_health(HealthStatus.FLAKY, evidence=evidence))
    assert note.kind == FailureKind.FLAKY
    assert "fails 3.0% of attempts (95% CI 1.0%-8.0%, 100 attempts)" in note.text
    assert "the same code both passed and failed 2 time(s)" in note.text
    assert "a recheck will likely pass" in note.text


def test_retry_only_evidence_and_score_only_flakiness_are_worded_as_such() -> None:
    retry = FlakyEvidence(kind="retry", code="c:2,1", passed_runs=("3",), failed_runs=("3",))
    assert (
        "a retry passed after it failed in 5 or more run(s)"
        in _note(_health(HealthStatus.FLAKY, evidence=(retry,) * 5)).text
    )
    assert "scattered at random" in _note(_health(HealthStatus.FLAKY)).text


def test_a_test_that_never_passes_is_broken_for_everyone() -> None:
    note = _note(_health(HealthStatus.BROKEN, failures=100))
    assert note.kind == FailureKind.BROKEN
    assert "no pass in 100 runs" in note.text


def test_an_open_window_that_began_before_the_build_is_broken_since() -> None:
    window = _window(
        first_build="earlier-build", fixed=False, start=T - timedelta(hours=5), end=T + timedelta(hours=3)
    )
    note = _note(_health(HealthStatus.BROKEN, regressions=(window,)))
    assert note.kind == FailureKind.BROKEN
    assert "since 2026-10-13 07:00" in note.text
    assert "first failing build earlier)" in note.text


@pytest.mark.parametrize("fixed", [True, False])
def test_the_build_that_opened_a_window_is_told_to_look_at_its_change(fixed: bool) -> None:
    window = _window(first_build="this-build", fixed=fixed, start=START, end=T + timedelta(hours=6))
    note = _note(_health(HealthStatus.FAILING if fixed else HealthStatus.BROKEN, regressions=(window,)))
    assert note.kind == FailureKind.STARTED
    assert "look at this change" in note.text
    assert ("lasted until" in note.text) == fixed


def test_a_failure_inside_a_fixed_window_is_part_of_an_earlier_regression() -> None:
    window = _window(
        first_build="earlier-build", fixed=True, start=T - timedelta(hours=5), end=T + timedelta(hours=3)
    )
    note = _note(_health(HealthStatus.FAILING, regressions=(window,)))
    assert note.kind == FailureKind.REGRESSION
    assert "fixed at 2026-10-13 16:00" in note.text
    assert "not caused by this change" in note.text


def test_a_window_elsewhere_in_time_does_not_claim_this_failure() -> None:
    window = _window(first_build="x", fixed=True, start=T - timedelta(days=5), end=T - timedelta(days=4))
    note = _note(_health(HealthStatus.FAILING, regressions=(window,)))
    assert note.kind == FailureKind.REPEATED


def test_the_only_failure_is_new_and_a_first_failure_followed_by_more_started_here() -> None:
    only = _health(HealthStatus.FAILING, failures=1, first=T + timedelta(minutes=10))
    only = replace(only, last_failure_at=T + timedelta(minutes=10))
    new = _note(only)
    assert new.kind == FailureKind.NEW
    assert "no other failure in 100 runs" in new.text
    later = replace(only, failures=2, last_failure_at=T + timedelta(days=1))
    started = _note(later)
    assert started.kind == FailureKind.STARTED
    assert "failed again later (last 2026-10-14 12:00)" in started.text


def test_earlier_failures_without_flaky_evidence_are_repeated() -> None:
    note = _note(_health(HealthStatus.FAILING))
    assert note.kind == FailureKind.REPEATED
    assert "first failure in the window 2026-10-10 12:00" in note.text


def test_no_counted_failure_is_said_plainly() -> None:
    assert _note(None).kind == FailureKind.NOT_COUNTED
    assert _note(_health(HealthStatus.STABLE, failures=0)).kind == FailureKind.NOT_COUNTED


def _n(kind: FailureKind) -> FailureNote:
    return FailureNote(kind=kind, text="")


@pytest.mark.parametrize(
    ("kinds", "total", "advice"),
    [
        ([], 0, ""),
        (
            [FailureKind.FLAKY, FailureKind.FLAKY],
            2,
            "all 2 failed test(s) are known flaky in this job: a recheck",
        ),
        (
            [FailureKind.FLAKY, FailureKind.BROKEN, FailureKind.REGRESSION],
            3,
            "all 3 failed test(s) are flaky, broken or regressed",
        ),
        ([FailureKind.FLAKY, FailureKind.NEW], 2, "1 of 2 failed test(s) started failing with this build"),
        (
            [FailureKind.FLAKY, FailureKind.STARTED],
            2,
            "1 of 2 failed test(s) started failing with this build",
        ),
        (
            [FailureKind.FLAKY],
            40,
            "40 failed test(s), 1 of them flaky, broken or regressed",
        ),  # only the first was explained
        ([FailureKind.REPEATED], 1, "1 failed test(s), none proven"),
        ([FailureKind.REPEATED, FailureKind.FLAKY], 2, "2 failed test(s), 1 of them flaky"),
    ],
)
def test_the_build_advice_follows_the_notes(kinds: list[FailureKind], total: int, advice: str) -> None:
    text = summarize_failure_notes([_n(k) for k in kinds], total)
    assert text.startswith(advice) if advice else text == ""


def test_kind_counts_and_what_counts_as_explained_by_history() -> None:
    notes = [_n(FailureKind.NEW), _n(FailureKind.FLAKY), _n(FailureKind.FLAKY)]
    assert render_kind_counts(notes, 3) == "2 flaky, 1 new"
    assert render_kind_counts(notes[:1], 4) == "1 new, 3 more"
    assert render_kind_counts([], 0) == "no failed test"
    assert not is_explained_by_history(notes, 3)
    assert is_explained_by_history([_n(FailureKind.FLAKY), _n(FailureKind.REGRESSION)], 2)
    assert not is_explained_by_history([_n(FailureKind.FLAKY)], 2)  # the other one was not read
    assert not is_explained_by_history([], 0)  # no failed test: something else broke the build
