"""The simulated history of the Nimbus gate, day by day (pure: takes a seed, never the clock).

Changes arrive with a diurnal, weekday-heavy pattern. Each change runs the check pipeline
(new patchsets, rechecks after failures), is approved, runs the gate (rechecked when it
fails) and merges. A merge starts the post pipeline (publishing jobs; the rally job for
nimbus-compute, on the merged commit); a periodic pipeline runs every night. Two scripted
nimbus-client changes plant the regression (a change that breaks a compute unit test from
its merge until its revert merges). ``plan_days`` yields each day's builds as soon as no
later event can add a build to that day, so memory does not grow with the history length.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gatewatch.demo.catalog import (
    PERF_OUTLIER_RATE,
    PERF_STEP_PCT,
    PERIODIC_JOBS,
    POST_JOBS,
    PROJECT_WEIGHTS,
    PROJECTS,
    RALLY,
    SERVICE_PROJECTS,
    JobSpec,
    Kind,
    compute_check_jobs,
)
from gatewatch.demo.outcomes import Outcome, Window, compute_outcome
from gatewatch.demo.plan import BuildPlan, DemoOptions, PerfPlan

_HOUR_WEIGHTS = (2, 2, 2, 2, 3, 4, 6, 8, 10, 12, 13, 14, 15, 16, 16, 15, 14, 12, 10, 8, 6, 4, 3, 2)
_INTEGRATION_SHARE = 0.2  # changes that touch code the integration jobs cover


def _hex(rng: random.Random, bits: int = 128) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Regression:
    """The planted regression: the change that broke the test and the revert that fixed it."""

    project: str
    change: int
    patchset: int
    commit: str
    fix_change: int
    fix_commit: str
    window: Window


@dataclass(frozen=True, slots=True, kw_only=True)
class Merge:
    when: datetime
    project: str
    change: int
    commit: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PerfStep:
    commit: str
    commit_index: int
    build_uuid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DayPlan:
    """The builds starting on one day, in start order."""

    day: str
    builds: tuple[BuildPlan, ...]


@dataclass(slots=True)
class _Sim:
    """Mutable simulation state (private to this module)."""

    opts: DemoOptions
    rng: random.Random
    window: Window | None = None
    next_change: int = 880001
    pending: list[tuple[datetime, int, BuildPlan]] = field(default_factory=list)
    merges: list[tuple[datetime, int, Merge]] = field(default_factory=list)
    counter: int = 0
    compute_commits: int = 0
    perf_step_after: datetime | None = None
    perf_step: PerfStep | None = None
    regression: Regression | None = None

    def push(self, plan: BuildPlan) -> None:
        self.counter += 1
        heapq.heappush(self.pending, (plan.start, self.counter, plan))

    def push_merge(self, merge: Merge) -> None:
        self.counter += 1
        heapq.heappush(self.merges, (merge.when, self.counter, merge))


def _jitter(rng: random.Random, mean_s: float, cv: float = 0.15) -> float:
    return max(30.0, rng.gauss(mean_s, mean_s * cv))


def _duration_s(rng: random.Random, job: JobSpec, outcome: Outcome) -> float:
    """How long the build ran: infra failures end early, the broken grenade job fails mid-way."""
    duration = _jitter(rng, job.duration_s)
    if outcome.infra is not None:
        duration = {"node-failure": 5.0, "dns-failure": 95.0}.get(outcome.infra.value, duration * 0.3)
        return max(5.0, rng.gauss(duration, duration * 0.1))
    return duration * 0.7 if outcome.broken else duration


def _build(
    sim: _Sim,
    *,
    job: JobSpec,
    project: str,
    pipeline: str,
    when: datetime,
    ids: tuple[int | None, int | None, str, str, str],
    clean: bool = False,
) -> BuildPlan:
    """Plan one build; ``ids`` = (change, patchset, commit, buildset uuid, event id)."""
    rng = sim.rng
    change, patchset, commit, buildset, event = ids
    start = when + timedelta(seconds=rng.uniform(5, 420))
    outcome = compute_outcome(
        rng, job=job, start=start, window=sim.window, clean=clean, density=sim.opts.problem_density
    )
    duration = _duration_s(rng, job, outcome)
    ref = f"refs/changes/{change % 100:02d}/{change}/{patchset}" if change else "refs/heads/master"
    return BuildPlan(
        uuid=_hex(rng),
        job=job,
        project=project,
        pipeline=pipeline,
        change=change,
        patchset=patchset,
        ref=ref,
        newrev=commit,
        buildset_uuid=buildset,
        event_id=event,
        start=start,
        end=start + timedelta(seconds=duration),
        attempt=3 if outcome.infra is not None and outcome.infra.value == "dns-failure" else 1,
        result=outcome.result,
        seed=rng.getrandbits(63),
        causes=outcome.causes,
        infra=outcome.infra,
        bug=outcome.bug,
        ssh_timeout=outcome.ssh_timeout,
        regression=outcome.regression,
        broken=outcome.broken,
        flaky=outcome.flaky,
        tempest_count=sim.opts.tempest_test_count,
        unit_scale=sim.opts.unit_scale,
    )


def _buildset(
    sim: _Sim,
    *,
    project: str,
    pipeline: str,
    when: datetime,
    jobs: tuple[JobSpec, ...],
    ref: tuple[int | None, int | None, str],
    clean: bool = False,
) -> tuple[datetime, bool]:
    """Run one buildset; return when it ended and whether every voting job succeeded."""
    ids = (*ref, _hex(sim.rng), _hex(sim.rng))
    plans = [
        _build(sim, job=job, project=project, pipeline=pipeline, when=when, ids=ids, clean=clean)
        for job in jobs
    ]
    for plan in plans:
        sim.push(plan)
    passed = all(p.result == "SUCCESS" for p in plans if p.job.voting)
    return max(p.end for p in plans), passed


def _delay(rng: random.Random, low_h: float, high_h: float) -> timedelta:
    return timedelta(hours=rng.uniform(low_h, high_h))


def _run_change(sim: _Sim, project: str, arrival: datetime) -> None:
    """One change from upload to merge (or abandonment)."""
    rng = sim.rng
    change = sim.next_change
    sim.next_change += 1
    jobs = compute_check_jobs(project)
    if rng.random() > _INTEGRATION_SHARE:
        jobs = tuple(j for j in jobs if j.kind is not Kind.TEMPEST)
    gate_jobs = tuple(j for j in jobs if j.voting)
    patchset, commit, when = 1, _hex(rng, 160), arrival
    for _ in range(6):  # check runs: rechecks and new patchsets
        end, passed = _buildset(
            sim, project=project, pipeline="check", when=when, jobs=jobs, ref=(change, patchset, commit)
        )
        if passed and (patchset >= 3 or rng.random() > 0.25):
            break
        if passed or rng.random() > 0.6:
            patchset, commit = patchset + 1, _hex(rng, 160)
            when = end + _delay(rng, 0.5, 20)
        else:
            when = end + _delay(rng, 0.1, 3)
    else:
        return
    if rng.random() < 0.12:
        return  # never approved
    when = end + _delay(rng, 0.5, 30)
    for _ in range(3):
        end, passed = _buildset(
            sim, project=project, pipeline="gate", when=when, jobs=gate_jobs, ref=(change, patchset, commit)
        )
        if passed:
            sim.push_merge(Merge(when=end, project=project, change=change, commit=commit))
            return
        when = end + _delay(rng, 0.2, 4)


def _script_change(sim: _Sim, project: str, merge_at: datetime) -> tuple[int, str, datetime]:
    """A clean change whose gate ends near ``merge_at``; returns (change, commit, merge time)."""
    rng = sim.rng
    change = sim.next_change
    sim.next_change += 1
    commit = _hex(rng, 160)
    jobs = compute_check_jobs(project)
    ref = (change, 1, commit)
    _buildset(
        sim,
        project=project,
        pipeline="check",
        when=merge_at - timedelta(hours=4),
        jobs=jobs,
        ref=ref,
        clean=True,
    )
    end, _ = _buildset(
        sim,
        project=project,
        pipeline="gate",
        when=merge_at - timedelta(minutes=20),
        jobs=jobs,
        ref=ref,
        clean=True,
    )
    sim.push_merge(Merge(when=end, project=project, change=change, commit=commit))
    return change, commit, end


def _regression_due(opts: DemoOptions) -> datetime:
    """When the regressing change is uploaded (its check run starts)."""
    return opts.start + timedelta(days=opts.day_count) * 0.45 - timedelta(hours=4)


def _plan_regression(sim: _Sim, *, dry_run: bool) -> None:
    """Script the regressing change and its revert, from their own seeded generator.

    The window must be known before any build is planned, but the changes' numbers must
    follow upload order: a dry run at the start fixes the window; the real run, on the
    upload day, plans the same builds (same generator) under the then-current numbers.
    """
    saved = (sim.rng, sim.pending, sim.merges, sim.next_change, sim.counter)
    sim.rng = random.Random(f"nimbus-regression-{sim.opts.seed}")
    if dry_run:
        sim.pending, sim.merges = [], []
    span = timedelta(days=sim.opts.day_count)
    bad_change, bad_commit, t0 = _script_change(
        sim, "nimbus-client", _regression_due(sim.opts) + timedelta(hours=4)
    )
    fix_change, fix_commit, t1 = _script_change(
        sim, "nimbus-client", t0 + min(timedelta(hours=7), span * 0.15)
    )
    sim.rng = saved[0]
    if dry_run:
        sim.pending, sim.merges, sim.next_change, sim.counter = saved[1:]
    sim.window = Window(start=t0, end=t1)
    sim.regression = Regression(
        project="nimbus-client",
        change=bad_change,
        patchset=1,
        commit=bad_commit,
        fix_change=fix_change,
        fix_commit=fix_commit,
        window=sim.window,
    )


def _arrivals(sim: _Sim, day_start: datetime) -> list[tuple[datetime, str]]:
    rng = sim.rng
    weekday_factor = 1.0 if day_start.weekday() < 5 else 0.35
    count = max(1, round(rng.gauss(sim.opts.changes_per_weekday * weekday_factor, 3)))
    found = []
    for _ in range(count):
        hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
        when = day_start + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
        found.append((when, rng.choices(PROJECTS, weights=PROJECT_WEIGHTS)[0]))
    return sorted(found)


def _periodic(sim: _Sim, day_start: datetime) -> None:
    when = day_start + timedelta(hours=6)
    for project in PROJECTS:
        jobs = tuple(j for j in compute_check_jobs(project) if j.kind is Kind.UNIT)
        if project in SERVICE_PROJECTS[:1]:
            jobs += tuple(j for j in compute_check_jobs(project) if j.kind is Kind.TEMPEST and j.voting)
        _buildset(sim, project=project, pipeline="periodic", when=when, jobs=jobs, ref=(None, None, ""))
    _buildset(
        sim,
        project="nimbus-requirements",
        pipeline="periodic",
        when=when,
        jobs=PERIODIC_JOBS,
        ref=(None, None, ""),
    )


def _post(sim: _Sim, merge: Merge) -> None:
    ref = (None, None, merge.commit)
    _buildset(sim, project=merge.project, pipeline="post", when=merge.when, jobs=POST_JOBS, ref=ref)
    if merge.project != "nimbus-compute":
        return
    index = sim.compute_commits
    sim.compute_commits += 1
    ids = (None, None, merge.commit, _hex(sim.rng), _hex(sim.rng))
    plan = _build(
        sim, job=RALLY, project=merge.project, pipeline="post", when=merge.when, ids=ids, clean=True
    )
    # a fixed delay keeps the rally runs in merge order (the series order)
    plan = dataclasses.replace(
        plan,
        start=merge.when + timedelta(seconds=60),
        end=merge.when + timedelta(seconds=60) + (plan.end - plan.start),
    )
    step = sim.perf_step is not None
    if not step and sim.perf_step_after is not None and merge.when >= sim.perf_step_after:
        sim.perf_step = PerfStep(commit=merge.commit, commit_index=index, build_uuid=plan.uuid)
        step = True
    outlier = sim.rng.uniform(2.0, 3.0) if sim.rng.random() < PERF_OUTLIER_RATE else 1.0
    factor = 1.0 + PERF_STEP_PCT / 100.0 if step else 1.0
    perf = PerfPlan(commit_index=index, step_factor=factor, outlier_factor=outlier)
    sim.push(_with_perf(plan, perf))


def _with_perf(plan: BuildPlan, perf: PerfPlan) -> BuildPlan:
    return dataclasses.replace(plan, perf=perf)


def _drain(sim: _Sim, until: datetime) -> list[BuildPlan]:
    while sim.merges and sim.merges[0][0] < until:
        _post(sim, heapq.heappop(sim.merges)[2])
    ready: list[BuildPlan] = []
    while sim.pending and sim.pending[0][0] < until:
        ready.append(heapq.heappop(sim.pending)[2])
    return ready


class World:
    """The simulation; iterate :meth:`plan_days` once. Truth facts are readable afterwards."""

    def __init__(self, opts: DemoOptions) -> None:
        self._sim = _Sim(opts=opts, rng=random.Random(f"nimbus-world-{opts.seed}"))
        self._sim.perf_step_after = opts.start + timedelta(days=opts.day_count) * 0.6
        _plan_regression(self._sim, dry_run=True)

    @property
    def regression(self) -> Regression | None:
        return self._sim.regression

    @property
    def perf_step(self) -> PerfStep | None:
        return self._sim.perf_step

    def plan_days(self) -> Iterator[DayPlan]:
        sim = self._sim
        for offset in range(sim.opts.day_count):
            day_start = sim.opts.start + timedelta(days=offset)
            _periodic(sim, day_start)
            if day_start <= _regression_due(sim.opts) < day_start + timedelta(days=1):
                _plan_regression(sim, dry_run=False)
            for when, project in _arrivals(sim, day_start):
                _run_change(sim, project, when)
            ready = _drain(sim, day_start + timedelta(days=1))
            yield DayPlan(day=day_start.strftime("%Y-%m-%d"), builds=tuple(ready))
