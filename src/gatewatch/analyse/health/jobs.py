"""Job health: failure rates (raw, without infra, without known bugs too), daily series,
P(fail | the change is correct) and the expected rechecks it costs a developer.

Definitions (docs/health.md):
- counted builds: SUCCESS or a failing result; SKIPPED/ABORTED/CANCELED/RETRY and
  MERGE_CONFLICT (the change's fault, not the job's) are left out;
- infra failure: triage verdict ``infra``, or result NODE_FAILURE;
- known-bug failure: verdict ``known`` or known bug ids attached;
- failure rate excluding infra = (failures - infra) / (builds - infra); excluding known
  bugs as well = (failures - infra - known) / (builds - infra - known);
- a build tested *correct* code when the same code (change and patchset, else commit)
  eventually merged, or passed this job in another build (a recheck); P(fail | correct)
  = failed correct builds (any cause, infra included: each costs a recheck) / correct
  builds, with a Wilson interval; expected rechecks per change = p / (1 - p), the mean of
  a geometric number of failures before the first pass;
- status (:func:`classify_job_status`): broken (never passes), stable (no real failure, or
  real failures under 0.5 % of the non-infra builds), flaky (the same code passed and failed),
  failing (real failures otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date

from gatewatch.analyse.health.stats import compute_expected_rechecks, wilson_interval
from gatewatch.domain.builds import BuildResult
from gatewatch.domain.health import (
    BuildVerdict,
    DailyJobRate,
    DailyJobRollup,
    FlakyEvidence,
    HealthStatus,
    JobHealth,
    JobObservation,
)

_NOT_COUNTED = frozenset(
    {
        BuildResult.SKIPPED,
        BuildResult.ABORTED,
        BuildResult.CANCELED,
        BuildResult.RETRY,
        BuildResult.MERGE_CONFLICT,
    }
)
MAX_BUILDS_PER_SIDE = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class JobHealthOptions:
    confidence: float = 0.95
    min_failures_broken: int = 2
    max_evidence: int = 5
    min_failure_rate: float = 0.005  # below this real (non-infra) failure rate a job is stable


def is_counted(b: JobObservation) -> bool:
    return b.result not in _NOT_COUNTED


def is_infra(b: JobObservation) -> bool:
    return b.result.is_failure and (b.verdict == BuildVerdict.INFRA or b.result == BuildResult.NODE_FAILURE)


def is_known(b: JobObservation) -> bool:
    return (
        b.result.is_failure and not is_infra(b) and (b.verdict == BuildVerdict.KNOWN or bool(b.known_bug_ids))
    )


def compute_job_code_key(b: JobObservation) -> str:
    """``c:CHANGE,PS``, else ``sha:COMMIT``, else ``build:UUID`` (never a repeat)."""
    if b.change is not None and b.patchset is not None:
        return f"c:{b.change},{b.patchset}"
    return f"sha:{b.commit_sha}" if b.commit_sha else f"build:{b.build_uuid}"


def _day(b: JobObservation) -> date | None:
    if b.started_at is None:
        return None
    at = b.started_at if b.started_at.tzinfo else b.started_at.replace(tzinfo=UTC)
    return at.astimezone(UTC).date()


def compute_daily_job_rollups(builds: Iterable[JobObservation]) -> tuple[DailyJobRollup, ...]:
    """One rollup per (day, job, branch, pipeline); ingest merges them with :func:`merge_job_rollups`."""
    acc: dict[tuple[date | None, str, str, str], list[float]] = {}
    for b in builds:
        if not is_counted(b):
            continue
        counts = acc.setdefault((_day(b), b.job_name, b.branch, b.pipeline), [0, 0, 0, 0, 0, 0, 0.0])
        counts[0] += 1
        counts[1] += b.result == BuildResult.SUCCESS
        counts[2] += b.result.is_failure
        counts[3] += is_infra(b)
        counts[4] += is_known(b)
        if b.duration_s is not None:
            counts[5] += 1
            counts[6] += b.duration_s
    return tuple(
        DailyJobRollup(
            day=day,
            job_name=job,
            branch=branch,
            pipeline=pipeline,
            builds=int(n),
            successes=int(ok),
            failures=int(fails),
            infra_failures=int(infra),
            known_failures=int(known),
            duration_count=int(timed),
            duration_sum_s=total,
        )
        for (day, job, branch, pipeline), (n, ok, fails, infra, known, timed, total) in acc.items()
    )


def merge_job_rollups(rollups: Iterable[DailyJobRollup]) -> tuple[DailyJobRollup, ...]:
    """Add rollups with the same (day, job, branch, pipeline)."""
    merged: dict[tuple[date | None, str, str, str], DailyJobRollup] = {}
    for r in rollups:
        key = (r.day, r.job_name, r.branch, r.pipeline)
        old = merged.get(key)
        merged[key] = (
            r
            if old is None
            else replace(
                old,
                builds=old.builds + r.builds,
                successes=old.successes + r.successes,
                failures=old.failures + r.failures,
                infra_failures=old.infra_failures + r.infra_failures,
                known_failures=old.known_failures + r.known_failures,
                duration_count=old.duration_count + r.duration_count,
                duration_sum_s=old.duration_sum_s + r.duration_sum_s,
            )
        )
    return tuple(merged.values())


def _rate(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


def compute_job_rates_from_rollups(rollups: Iterable[DailyJobRollup]) -> tuple[DailyJobRate, ...]:
    """Daily failure rates of the selected rollups (all jobs given are summed per day)."""
    per_day: dict[date, list[int]] = {}
    for r in rollups:
        if r.day is None:
            continue
        acc = per_day.setdefault(r.day, [0, 0, 0, 0])
        acc[0] += r.builds
        acc[1] += r.failures
        acc[2] += r.infra_failures
        acc[3] += r.known_failures
    return tuple(
        DailyJobRate(
            day=day,
            builds=n,
            failures=f,
            infra_failures=i,
            known_failures=k,
            failure_rate_excl_infra=_rate(f - i, n - i),
            failure_rate_excl_known=_rate(f - i - k, n - i - k),
        )
        for day, (n, f, i, k) in sorted(per_day.items())
    )


def _correct_codes(builds: Sequence[JobObservation], keys: Sequence[str]) -> set[str]:
    return {k for k, b in zip(keys, builds, strict=True) if b.merged or b.result == BuildResult.SUCCESS}


def _evidence(builds: Sequence[JobObservation], keys: Sequence[str], limit: int) -> tuple[FlakyEvidence, ...]:
    """Codes on which this job both passed and failed (not infra), most recent first
    (the last ``limit`` such codes by first appearance)."""
    passed_codes = {k for k, b in zip(keys, builds, strict=True) if b.result == BuildResult.SUCCESS}
    failed_codes = {
        k for k, b in zip(keys, builds, strict=True) if b.result.is_failure and not is_infra(b)
    }  # fmt: skip
    both = [
        k
        for k in dict.fromkeys(keys)
        if k in passed_codes and k in failed_codes and not k.startswith("build:")
    ]
    groups: dict[str, list[JobObservation]] = {k: [] for k in both[-limit:]} if limit > 0 else {}
    for k, b in zip(keys, builds, strict=True):
        if k in groups:
            groups[k].append(b)
    found = []
    for code, group in groups.items():
        passed = [b.build_uuid for b in group if b.result == BuildResult.SUCCESS]
        failed = [b.build_uuid for b in group if b.result.is_failure and not is_infra(b)]
        found.append(
            FlakyEvidence(
                kind="same_code",
                code=code,
                passed_runs=tuple(passed[-MAX_BUILDS_PER_SIDE:]),
                failed_runs=tuple(failed[-MAX_BUILDS_PER_SIDE:]),
                build_uuids=tuple(passed[-MAX_BUILDS_PER_SIDE:] + failed[-MAX_BUILDS_PER_SIDE:]),
            )
        )
    return tuple(reversed(found))


def _epoch(b: JobObservation) -> float:
    """Sort key: start time, builds without one last (ties keep their order: sort is stable)."""
    if b.started_at is None:
        return math.inf
    at = b.started_at if b.started_at.tzinfo else b.started_at.replace(tzinfo=UTC)
    return at.timestamp()


def _sorted_builds(builds: Iterable[JobObservation]) -> list[JobObservation]:
    """Counted builds in time order (no timestamp last, ties in input order: sort is stable)."""
    return sorted((b for b in builds if is_counted(b)), key=_epoch)


def classify_job_status(
    *, builds: int, successes: int, real_failures: int, infra_failures: int, flaky: bool,
    options: JobHealthOptions = JobHealthOptions(),
) -> HealthStatus:  # fmt: skip
    """A job's status from its counts (docs/health.md, "Jobs").

    BROKEN: no success and at least ``min_failures_broken`` real (non-infra) failures. STABLE:
    no real failure, or real failures under ``min_failure_rate`` of the builds that were not
    infra failures (noise nobody should chase). Otherwise FLAKY when the same code both passed
    and failed (``flaky``), else FAILING.
    """
    if successes == 0 and real_failures >= options.min_failures_broken:
        return HealthStatus.BROKEN
    tested = builds - infra_failures
    if real_failures == 0 or real_failures < options.min_failure_rate * tested:
        return HealthStatus.STABLE
    return HealthStatus.FLAKY if flaky else HealthStatus.FAILING


def _status(
    builds: Sequence[JobObservation], evidence: tuple[FlakyEvidence, ...], options: JobHealthOptions
) -> HealthStatus:
    infra = sum(is_infra(b) for b in builds)
    return classify_job_status(
        builds=len(builds),
        successes=sum(b.result == BuildResult.SUCCESS for b in builds),
        real_failures=sum(b.result.is_failure for b in builds) - infra,
        infra_failures=infra,
        flaky=bool(evidence),
        options=options,
    )


def compute_one_job_health(
    builds: Sequence[JobObservation], *, options: JobHealthOptions = JobHealthOptions()
) -> JobHealth:
    """Health of one job from its builds (the caller selects window, branch and pipeline)."""
    ordered = _sorted_builds(builds)
    n = len(ordered)
    fails = sum(b.result.is_failure for b in ordered)
    infra = sum(is_infra(b) for b in ordered)
    known = sum(is_known(b) for b in ordered)
    keys = [compute_job_code_key(b) for b in ordered]
    correct = _correct_codes(ordered, keys)
    on_correct = [b for k, b in zip(keys, ordered, strict=True) if k in correct]
    correct_fails = sum(b.result.is_failure for b in on_correct)
    p_correct = _rate(correct_fails, len(on_correct))
    evidence = _evidence(ordered, keys, options.max_evidence)
    status = _status(ordered, evidence, options)
    return JobHealth(
        job_name=ordered[-1].job_name if ordered else (builds[0].job_name if builds else ""),
        status=status,
        voting=ordered[-1].voting if ordered else True,
        builds=n,
        successes=sum(b.result == BuildResult.SUCCESS for b in ordered),
        failures=fails,
        infra_failures=infra,
        known_failures=known,
        failure_rate=_rate(fails, n),
        failure_rate_excl_infra=_rate(fails - infra, n - infra),
        failure_rate_excl_known=_rate(fails - infra - known, n - infra - known),
        failure_interval_excl_infra=wilson_interval(fails - infra, n - infra, options.confidence),
        correct_builds=len(on_correct),
        correct_change_failure_probability=p_correct,
        correct_change_interval=wilson_interval(correct_fails, len(on_correct), options.confidence),
        expected_rechecks=compute_expected_rechecks(p_correct),
        daily=compute_job_rates_from_rollups(compute_daily_job_rollups(ordered)),
        evidence=evidence if status == HealthStatus.FLAKY else (),
    )


def compute_job_health(
    builds: Iterable[JobObservation], *, options: JobHealthOptions = JobHealthOptions()
) -> tuple[JobHealth, ...]:
    """Health of every job in ``builds``, sorted by job name."""
    per_job: dict[str, list[JobObservation]] = {}
    for b in builds:
        per_job.setdefault(b.job_name, []).append(b)
    return tuple(compute_one_job_health(per_job[name], options=options) for name in sorted(per_job))


ATTENTION = (HealthStatus.BROKEN, HealthStatus.FLAKY, HealthStatus.FAILING)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_job_verdict(job: JobHealth) -> str:
    """What a job's status means, in one line a developer reads (summary and ``gatewatch health``)."""
    real = job.failures - job.infra_failures
    lo, hi = job.failure_interval_excl_infra
    rate = f"{_pct(job.failure_rate_excl_infra)} of builds [{lo:.1%}, {hi:.1%}] excluding infra"
    if job.status == HealthStatus.BROKEN:
        return f"broken, never passed ({real} real failures in {job.builds} builds)"
    if job.status == HealthStatus.FLAKY:
        rechecks = "-" if job.expected_rechecks is None else f"{job.expected_rechecks:.2f}"
        return f"flaky, fails {rate}, the same code passed and failed; {rechecks} rechecks per correct change"
    if job.status == HealthStatus.FAILING:
        return f"failing, fails {rate}, never twice on the same code (real breakages)"
    if real:
        return f"healthy, {real} real failures in {job.builds} builds (under the 0.5 % noise floor)"
    if job.infra_failures:
        return f"healthy, only infra failures ({job.infra_failures} in {job.builds} builds)"
    return "healthy"


def compute_attention_order(jobs: Iterable[JobHealth]) -> list[JobHealth]:
    """Jobs worth attention first (broken, flaky, failing), each by real failure rate, then the rest."""
    rank = {s: i for i, s in enumerate(ATTENTION)}
    return sorted(
        jobs, key=lambda j: (rank.get(j.status, len(rank)), -(j.failure_rate_excl_infra or 0.0), j.job_name)
    )
