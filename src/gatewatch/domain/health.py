"""Test and job health: the plain records health analysis reads and the findings it returns.

Inputs are flat observations (one per test attempt, one per build) so the store can
feed them from raw history, and daily rollups (``DailyTestRollup``/``DailyJobRollup``)
that the store keeps up to date in the ingest transaction. Outputs are per-test and
per-job health summaries and flaky verdicts that always carry their evidence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from gatewatch.domain.builds import BuildResult
from gatewatch.domain.results import Outcome


class BuildVerdict(enum.StrEnum):
    """Triage's verdict for a failed build, as far as health cares."""

    INFRA = "infra"
    KNOWN = "known"


class HealthStatus(enum.StrEnum):
    """What the history says about a test or a job.

    BROKEN: it never passes in the window (always fails), or fails on every run since a
    point (an open regression window); FLAKY: it both passes and fails on the same code, or
    fails at random (see docs/health.md); FAILING: it fails, but in streaks that follow code
    changes (a regression window that was fixed, not noise); STABLE: otherwise.
    """

    STABLE = "stable"
    FLAKY = "flaky"
    FAILING = "failing"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True, kw_only=True)
class TestObservation:
    """One attempt of one test in one run, with the build context health needs.

    ``run_key`` identifies the run (the same key for every attempt of that run);
    duplicate test ids within one run are attempts of the same test. ``started_at``
    may be None (then the run is ordered by ingest order and left out of day buckets).
    ``build_verdict`` is triage's verdict of the build (None: none or a new failure).
    """

    __test__ = False  # not a pytest test class

    test_id: str
    run_key: str
    outcome: Outcome
    build_uuid: str = ""
    job_name: str = ""
    project: str = ""
    branch: str = ""
    pipeline: str = ""
    change: int | None = None
    patchset: int | None = None
    commit_sha: str = ""
    started_at: datetime | None = None
    attempt: int = 1
    duration_s: float | None = None
    build_verdict: BuildVerdict | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobObservation:
    """One build of one job.

    ``merged`` says whether the tested change/patchset eventually merged (None: unknown,
    or no change). ``verdict`` is triage's verdict when the build failed.
    """

    build_uuid: str
    job_name: str
    result: BuildResult
    voting: bool = True
    project: str = ""
    branch: str = ""
    pipeline: str = ""
    change: int | None = None
    patchset: int | None = None
    commit_sha: str = ""
    started_at: datetime | None = None
    duration_s: float | None = None
    verdict: BuildVerdict | None = None
    known_bug_ids: tuple[str, ...] = ()
    merged: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyTestRollup:
    """Pre-aggregated history of one test in one job, branch and pipeline on one UTC day.

    ``day`` is None for runs without a timestamp. Counts are over attempts except ``runs``,
    ``counted_runs`` (runs with a pass or a failure, not only skips), ``failed_runs`` and
    ``mixed_runs`` (runs with a passing and a failing attempt).
    Attempts of builds whose verdict is infra are only counted in ``infra_attempts``.
    ``flips`` counts changes of the run-level outcome (a run fails when any attempt fails)
    between consecutive counted runs of the day; ``first_failed``/``last_failed`` are the outcomes
    of the first and last run so that rollups can be merged exactly.
    ``duration_hist`` is a sparse log-scale histogram ((bucket, count), ...), see
    ``gatewatch.analyse.health.rollups``.
    """

    day: date | None
    test_id: str
    job_name: str = ""
    branch: str = ""
    pipeline: str = ""
    runs: int = 0
    counted_runs: int = 0
    failed_runs: int = 0
    mixed_runs: int = 0
    attempts: int = 0
    passes: int = 0
    failures: int = 0
    skips: int = 0
    infra_attempts: int = 0
    known_failures: int = 0
    flips: int = 0
    first_failed: bool = False
    last_failed: bool = False
    first_at: datetime | None = None
    last_at: datetime | None = None
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None
    duration_count: int = 0
    duration_sum_s: float = 0.0
    duration_hist: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyJobRollup:
    """Pre-aggregated builds of one job, branch and pipeline on one UTC day."""

    day: date | None
    job_name: str
    branch: str = ""
    pipeline: str = ""
    builds: int = 0
    successes: int = 0
    failures: int = 0
    infra_failures: int = 0
    known_failures: int = 0
    duration_count: int = 0
    duration_sum_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DurationStep:
    """A step up (or down) in a duration series: medians before/after ``index``, the first
    run after the step as the perf change-point detector places it, with its p-value."""

    index: int
    before_s: float
    after_s: float
    ratio: float
    score: float
    p_value: float | None = None  # from the perf change-point detector that confirmed it


@dataclass(frozen=True, slots=True, kw_only=True)
class FlakyEvidence:
    """Why a test (or job) is called flaky: runs on the same code that passed and failed.

    ``kind`` is ``retry`` (attempts of one run disagree), ``same_code`` (runs of the
    same commit or change/patchset disagree) or ``random`` (failures scattered in time,
    see the score in docs/health.md). ``code`` names the code (``c:CHANGE,PS``,
    ``sha:COMMIT``) or is '' for ``random``.
    """

    kind: str
    code: str
    passed_runs: tuple[str, ...]
    failed_runs: tuple[str, ...]
    build_uuids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RegressionWindow:
    """A block of consecutive failed runs of a test that independent failures would not
    produce (docs/health.md, "Regression windows"): the test was broken from ``started_at``
    to ``ended_at`` and, when ``fixed``, passed again at ``fixed_at`` in ``fixed_build``
    (not fixed: it still failed at its newest run, "broken since ``started_at``").

    ``first_failed_build``/``first_failed_code`` name the first failing build and the code it
    tested (``c:CHANGE,PS``, ``sha:COMMIT``): the breakage landed before it (in the code or a
    dependency), after ``last_passed_at``. ``p_value`` is the chance that independent failures
    pack that densely into some window (Bonferroni-corrected).
    """

    branch: str
    started_at: datetime | None
    ended_at: datetime | None
    last_passed_at: datetime | None
    fixed_at: datetime | None
    runs: int
    failed_runs: int
    first_failed_build: str
    first_failed_code: str
    fixed: bool
    fixed_build: str
    p_value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TestHealth:
    """Health of one test over the selected history (optionally one job).

    Rates are over attempts that passed or failed (skips and infra builds excluded);
    ``failure_interval`` is the Wilson interval of ``failure_probability``.
    ``flip_rate`` is over consecutive runs ordered by time; ``same_code_flip_rate``
    over consecutive runs of the same code (None when no code was run twice).
    ``regressions`` are the regression windows found (failures there are not flakiness).
    """

    __test__ = False

    test_id: str
    job_name: str = ""
    status: HealthStatus
    runs: int
    attempts: int
    passes: int
    failures: int
    skips: int
    infra_attempts: int
    known_failures: int
    pass_rate: float | None
    failure_probability: float | None
    failure_interval: tuple[float, float]
    flip_rate: float | None
    same_code_flip_rate: float | None
    flakiness_score: float
    first_failure_at: datetime | None
    last_failure_at: datetime | None
    duration_p50_s: float | None
    duration_p95_s: float | None
    duration_step: DurationStep | None = None
    evidence: tuple[FlakyEvidence, ...] = ()
    regressions: tuple[RegressionWindow, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyJobRate:
    """One day of a job: builds and failure rates without infra, and without known bugs too."""

    day: date
    builds: int
    failures: int
    infra_failures: int
    known_failures: int
    failure_rate_excl_infra: float | None
    failure_rate_excl_known: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobHealth:
    """Health of one job over the selected history.

    ``correct_change_failure_probability`` is P(build fails | the tested code is correct)
    (see docs/health.md), ``expected_rechecks`` = p / (1 - p) for that p.
    """

    job_name: str
    status: HealthStatus
    voting: bool
    builds: int
    successes: int
    failures: int
    infra_failures: int
    known_failures: int
    failure_rate: float | None
    failure_rate_excl_infra: float | None
    failure_rate_excl_known: float | None
    failure_interval_excl_infra: tuple[float, float]
    correct_builds: int
    correct_change_failure_probability: float | None
    correct_change_interval: tuple[float, float]
    expected_rechecks: float | None
    daily: tuple[DailyJobRate, ...] = ()
    evidence: tuple[FlakyEvidence, ...] = ()
