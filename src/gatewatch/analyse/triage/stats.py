"""Triage statistics: hits over time, race percentage per job, classification rate, impact.

Pure: builds, verdicts and fingerprints in, frozen records out; ``now`` is an
argument. A build's time is its end (else its start); builds without a time are
left out of every window.

* race percentage of a bug in a job = builds of that job the bug hit / builds of
  that job in the window (all results), with a Wilson score 95% interval;
  only builds whose voting status counts for the fingerprint are in either count;
* failure share = builds the bug hit / failed builds in the window;
* classification rate = failed builds with an infra or known-bug verdict / failed
  builds (overall and per job: elastic-recheck's "uncategorized" page);
* impact: failed builds, wasted node-hours (the hit builds' durations; one node
  per build) and gate resets (hit builds that were voting and in a ``gate``
  pipeline, each of which resets the queue behind it in Zuul).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatewatch.domain.builds import Build
from gatewatch.domain.triage import Fingerprint, Verdict, VerdictKind

Z_95 = 1.959963984540054
GATE_PIPELINES = frozenset({"gate"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Rate:
    """``hits`` of ``total`` with a Wilson score interval (``low``..``high``, fractions)."""

    hits: int
    total: int
    low: float
    high: float

    @property
    def fraction(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def percent(self) -> float:
        return 100.0 * self.fraction


def compute_rate(hits: int, total: int, z: float = Z_95) -> Rate:
    """The Wilson score interval of a binomial proportion (Wilson 1927)."""
    if total <= 0:
        return Rate(hits=0, total=0, low=0.0, high=1.0)
    p = hits / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return Rate(hits=hits, total=total, low=max(0.0, centre - half), high=min(1.0, centre + half))


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRace:
    job_name: str
    rate: Rate


@dataclass(frozen=True, slots=True, kw_only=True)
class FingerprintStats:
    """One fingerprint over the window (``days``); hourly buckets cover the last 24 h, oldest first."""

    bug_id: str
    title: str
    infra: bool
    builds_hit: int
    builds_hit_24h: int
    hits_hourly: tuple[int, ...]
    hits_daily: tuple[int, ...]
    jobs: tuple[JobRace, ...]
    failure_share: Rate
    wasted_node_hours: float
    gate_resets: int
    last_seen: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TriageStats:
    now: datetime
    days: int
    fingerprints: tuple[FingerprintStats, ...]
    classified: Rate
    classified_per_job: tuple[tuple[str, Rate], ...]
    unclassified_builds: tuple[str, ...]


def build_time(build: Build) -> datetime | None:
    return build.end_time or build.start_time


def compute_triage_stats(
    *,
    builds: Sequence[Build],
    verdicts: Sequence[Verdict],
    fingerprints: Sequence[Fingerprint],
    now: datetime,
    days: int = 10,
) -> TriageStats:
    """Statistics of the builds that ended in the ``days`` before ``now``."""
    start = now - timedelta(days=days)
    window = [b for b in builds if (t := build_time(b)) is not None and start <= t < now]
    in_window = {b.uuid for b in window}
    by_verdict = {v.build_uuid: v for v in verdicts if v.build_uuid in in_window}
    failed = [b for b in window if b.result.is_failure]
    per_fp = tuple(
        _fingerprint_stats(fp, window=window, verdicts=by_verdict, failed=len(failed), now=now, days=days)
        for fp in fingerprints
    )
    classified = [b for b in failed if (v := by_verdict.get(b.uuid)) is not None and v.is_classified]
    per_job_total = Counter(b.job_name for b in failed)
    per_job_hits = Counter(b.job_name for b in classified)
    done = {b.uuid for b in classified}
    return TriageStats(
        now=now,
        days=days,
        fingerprints=per_fp,
        classified=compute_rate(len(classified), len(failed)),
        classified_per_job=tuple(
            (job, compute_rate(per_job_hits[job], total)) for job, total in sorted(per_job_total.items())
        ),
        unclassified_builds=tuple(b.uuid for b in failed if b.uuid not in done),
    )


def _hits(verdict: Verdict | None, bug_id: str) -> bool:
    return verdict is not None and (bug_id in verdict.bug_ids or bug_id in verdict.infra_ids)


def _fingerprint_stats(
    fp: Fingerprint,
    *,
    window: list[Build],
    verdicts: dict[str, Verdict],
    failed: int,
    now: datetime,
    days: int,
) -> FingerprintStats:
    counts = [b for b in window if b.voting or fp.allow_nonvoting or fp.infra]
    hit = [b for b in counts if _hits(verdicts.get(b.uuid), fp.bug_id)]
    hourly, daily = _buckets(hit, now=now, days=days)
    times = [t for b in hit if (t := build_time(b)) is not None]
    return FingerprintStats(
        bug_id=fp.bug_id,
        title=fp.title,
        infra=fp.infra,
        builds_hit=len(hit),
        builds_hit_24h=sum(hourly),
        hits_hourly=tuple(hourly),
        hits_daily=tuple(daily),
        jobs=_job_races(counts, hit),
        failure_share=compute_rate(len(hit), failed),
        wasted_node_hours=sum((b.duration_s or 0.0) for b in hit) / 3600.0,
        gate_resets=sum(1 for b in hit if b.voting and b.pipeline in GATE_PIPELINES),
        last_seen=max(times) if times else None,
    )


def _buckets(hit: list[Build], *, now: datetime, days: int) -> tuple[list[int], list[int]]:
    """Hits per hour over the last 24 h and per day over ``days``, oldest first."""
    hourly = [0] * 24
    daily = [0] * days
    for b in hit:
        age = now - (build_time(b) or now)
        if age < timedelta(hours=24):
            hourly[23 - int(age // timedelta(hours=1))] += 1
        daily[max(0, days - 1 - int(age // timedelta(days=1)))] += 1
    return hourly, daily


def _job_races(counts: list[Build], hit: list[Build]) -> tuple[JobRace, ...]:
    """Race percentage per job the bug hit, highest first."""
    runs_per_job = Counter(b.job_name for b in counts)
    hits_per_job: dict[str, int] = defaultdict(int)
    for b in hit:
        hits_per_job[b.job_name] += 1
    races = (JobRace(job_name=j, rate=compute_rate(n, runs_per_job[j])) for j, n in hits_per_job.items())
    return tuple(sorted(races, key=lambda r: (-r.rate.fraction, r.job_name)))


def rank_by_impact(stats: Sequence[FingerprintStats]) -> list[FingerprintStats]:
    """Most harmful first: failed builds, then wasted node-hours, then gate resets."""
    return sorted(stats, key=lambda s: (-s.builds_hit, -s.wasted_node_hours, -s.gate_resets, s.bug_id))


def race_for(stats: FingerprintStats, job_name: str) -> Rate | None:
    """The race percentage of a bug in one job, if the bug hit it in the window."""
    return next((j.rate for j in stats.jobs if j.job_name == job_name), None)


def unknown_verdicts(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """Failed builds nobody explained (``gatewatch uncategorized``)."""
    return [v for v in verdicts if v.kind is VerdictKind.UNKNOWN]
