"""What a failed test's history says about its failure in one build (pure).

`gatewatch explain BUILD` prints one note under each test the build failed, so the owner of
the change sees at once whether the failure is theirs: a test proven flaky in that job (a
recheck will likely pass), a test broken for everyone (not their change), part of a
regression window (the breakage landed before its first failing build), a new failure (look
at the change) or a test that failed before without being proven flaky.

The note reads the test's health in the build's job (``TestHealth`` over the health window,
the build included) and the build's own time span; definitions are in docs/health.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from gatewatch.domain.health import HealthStatus, RegressionWindow, TestHealth


class FailureKind(enum.StrEnum):
    """The reading of one failed test, from the most to the least reassuring for the change."""

    FLAKY = "flaky"
    BROKEN = "broken"
    REGRESSION = "regression"
    REPEATED = "repeated"
    STARTED = "started"
    NEW = "new"
    NOT_COUNTED = "not-counted"


_NOT_THIS_CHANGE = frozenset({FailureKind.FLAKY, FailureKind.BROKEN, FailureKind.REGRESSION})
_THIS_CHANGE = frozenset({FailureKind.STARTED, FailureKind.NEW})


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureNote:
    kind: FailureKind
    text: str


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else "an unknown time"


def _rate(health: TestHealth) -> str:
    low, high = health.failure_interval
    p = health.failure_probability or 0.0
    return f"fails {_pct(p)} of attempts (95% CI {_pct(low)}-{_pct(high)}, {health.attempts} attempts)"


def _flaky_because(health: TestHealth) -> str:
    proven = [e for e in health.evidence if e.kind in ("retry", "same_code")]
    if proven:
        more = " or more" if len(health.evidence) >= 5 else ""  # evidence lists at most five codes
        if all(e.kind == "retry" for e in proven):
            return f"a retry passed after it failed in {len(proven)}{more} run(s)"
        return f"the same code both passed and failed {len(proven)}{more} time(s)"
    return "its failures are scattered at random over its runs (history score)"


def _window_of(health: TestHealth, start: datetime | None, end: datetime | None) -> RegressionWindow | None:
    """The regression window this build's failure falls in, if any."""
    if start is None:
        return None
    for window in health.regressions:
        lo, hi = window.started_at, window.ended_at
        if lo is not None and hi is not None and lo <= (end or start) and start <= hi:
            return window
    return None


def explain_test_failure(
    health: TestHealth | None, *, job_name: str, build_uuid: str, start: datetime | None, end: datetime | None
) -> FailureNote:
    """The note for a test that failed in ``build_uuid`` (run from ``start`` to ``end``) of ``job_name``."""
    if health is None or health.failures == 0:
        return FailureNote(
            kind=FailureKind.NOT_COUNTED,
            text=f"no counted failure of this test in {job_name} in the health window "
            "(the build is older than the window, or triage called it an infrastructure failure)",
        )
    window = _window_of(health, start, end)
    if window is not None and window.first_failed_build == build_uuid:
        still = "goes on" if not window.fixed else f"lasted until {_when(window.ended_at)}"
        return FailureNote(
            kind=FailureKind.STARTED,
            text=f"this build is the first failure of a breakage in {job_name} that {still}: "
            "look at this change and what landed just before it",
        )
    if window is not None and not window.fixed:
        return FailureNote(
            kind=FailureKind.BROKEN,
            text=f"broken in {job_name} since {_when(window.started_at)} (every run since failed; "
            f"first failing build {window.first_failed_build[:7]}): not caused by this change",
        )
    if health.status == HealthStatus.BROKEN:
        return FailureNote(
            kind=FailureKind.BROKEN,
            text=f"broken in {job_name}: no pass in {health.runs} runs of the window: not caused by this change",
        )
    if window is not None:
        fixed = f", fixed at {_when(window.fixed_at)}" if window.fixed_at is not None else ""
        return FailureNote(
            kind=FailureKind.REGRESSION,
            text=f"part of a regression in {job_name}: failing from {_when(window.started_at)} to "
            f"{_when(window.ended_at)}{fixed}; it began before this build (first failing build "
            f"{window.first_failed_build[:7]}): not caused by this change",
        )
    if health.status == HealthStatus.FLAKY:
        return FailureNote(
            kind=FailureKind.FLAKY,
            text=f"flaky in {job_name}: {_rate(health)}; {_flaky_because(health)}: "
            "probably not caused by this change, a recheck will likely pass",
        )
    until = end or start
    first_here = (
        start is not None
        and until is not None
        and health.first_failure_at is not None
        and start <= health.first_failure_at <= until
    )
    if (
        first_here
        and health.last_failure_at is not None
        and until is not None
        and health.last_failure_at <= until
    ):
        return FailureNote(
            kind=FailureKind.NEW,
            text=f"new failure: no other failure in {health.runs} runs of {job_name} in the window "
            f"({health.passes} passing attempts): look at this change",
        )
    if first_here:
        return FailureNote(
            kind=FailureKind.STARTED,
            text=f"this build is the first failure of this test in {job_name} in the window; it failed "
            f"again later (last {_when(health.last_failure_at)}), not proven flaky: {_rate(health)}; "
            "look at this change and at those later builds",
        )
    return FailureNote(
        kind=FailureKind.REPEATED,
        text=f"failed before in {job_name} (first failure in the window {_when(health.first_failure_at)}), "
        f"not proven flaky: {_rate(health)}; compare with those builds",
    )


def summarize_failure_notes(notes: list[FailureNote], total: int) -> str:
    """One line of advice for the whole build from its failed tests' notes (``total`` failed tests;
    ``notes`` may cover only the first of them)."""
    if total == 0:
        return ""
    kinds = {n.kind for n in notes}
    mine = sum(1 for n in notes if n.kind in _THIS_CHANGE)
    if mine:
        return f"{mine} of {total} failed test(s) started failing with this build: look at this change first"
    if len(notes) == total and kinds == {FailureKind.FLAKY}:
        return f"all {total} failed test(s) are known flaky in this job: a recheck will likely pass"
    if len(notes) == total and kinds <= _NOT_THIS_CHANGE:
        return f"all {total} failed test(s) are flaky, broken or regressed before this build: not caused by this change"
    known = sum(1 for n in notes if n.kind in _NOT_THIS_CHANGE)
    if known:
        return f"{total} failed test(s), {known} of them flaky, broken or regressed before this build: see each note"
    return f"{total} failed test(s), none proven flaky or broken before: see each note"


def starts_with_this_build(notes: list[FailureNote]) -> bool:
    """Some failed test started failing with the build (``started`` or ``new``): look at its change."""
    return any(n.kind in _THIS_CHANGE for n in notes)


def is_explained_by_history(notes: list[FailureNote], total: int) -> bool:
    """Every failed test of the build is flaky, broken or in an earlier regression (none is new)."""
    return total > 0 and len(notes) == total and all(n.kind in _NOT_THIS_CHANGE for n in notes)


def render_kind_counts(notes: list[FailureNote], total: int) -> str:
    """The notes' kinds, counted, in ``FailureKind`` order ("2 flaky, 1 new"; "no failed test")."""
    if total == 0:
        return "no failed test"
    counts = {kind: sum(1 for n in notes if n.kind == kind) for kind in FailureKind}
    parts = [f"{count} {kind.value}" for kind, count in counts.items() if count]
    if total > len(notes):
        parts.append(f"{total - len(notes)} more")
    return ", ".join(parts)


def render_unknown_failures_line(builds: list[tuple[list[FailureNote], int]]) -> str:
    """The demo summary's line on failures no fingerprint explains: ``builds`` holds each one's
    notes and failed-test count; how many test health explains (their tests' kinds, counted) and
    how many started failing with their change."""
    explained = [notes for notes, total in builds if is_explained_by_history(notes, total)]
    kinds = render_kind_counts([n for notes in explained for n in notes], sum(len(n) for n in explained))
    mine = sum(1 for notes, _ in builds if starts_with_this_build(notes))
    line = f"  of the {len(builds)} unknown failures, test health explains {len(explained)}"
    return line + (f" (failed tests: {kinds})" if explained else "") + f"; {mine} started with their change"
