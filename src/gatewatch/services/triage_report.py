"""Use cases on top of stored verdicts: statistics, one build explained, and ad-hoc queries over logs.

The statistics window ends at the newest stored build (not the wall clock), so
a history ingested later, such as the demo's, reads the same any day; the
fingerprints are the set last used by triage on this store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatewatch.analyse.triage.comment import render_change_comment
from gatewatch.analyse.triage.matcher import compile_fingerprints
from gatewatch.analyse.triage.stats import TriageStats, build_time, compute_triage_stats, rank_by_impact
from gatewatch.analyse.triage.verdicts import classify_build
from gatewatch.domain.builds import Build
from gatewatch.domain.triage import BuildFacts, Fingerprint, Match, Verdict, VerdictKind
from gatewatch.errors import NotFoundError
from gatewatch.query.compile import compile_query
from gatewatch.query.filters import build_filter
from gatewatch.services.failed_tests import FailedTests, load_failed_tests, load_failed_tests_of
from gatewatch.services.triage import ScanTask, scan_task
from gatewatch.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class StatsReport:
    stats: TriageStats
    fingerprints: tuple[Fingerprint, ...]
    match_lines: dict[str, int]
    untriaged: int
    kinds: dict[str, int]


def load_triage_stats(store: Store, *, days: int = 10, now: datetime | None = None) -> StatsReport:
    """Statistics over the ``days`` before ``now`` (default: just after the newest stored build)."""
    with store.unit_of_work(readonly=True) as uow:
        fps = tuple(uow.triage.active_fingerprints())
        end = now or uow.triage.latest_build_time()
        if end is None:
            raise NotFoundError(
                "the store holds no dated build", hint="ingest builds first: gatewatch ingest PATH"
            )
        end = end + timedelta(seconds=1) if now is None else end
        since = end - timedelta(days=days + 1)  # start times: a build may end a day after it starts
        builds = uow.builds.list(since=since)
        verdicts = uow.triage.verdicts(since=since)
        lines = uow.triage.match_lines(since=since)
        untriaged = len(uow.triage.builds_to_triage())
    stats = compute_triage_stats(builds=builds, verdicts=verdicts, fingerprints=fps, now=end, days=days)
    start = end - timedelta(days=days)
    window = {b.uuid for b in builds if (at := build_time(b)) is not None and start <= at < end}
    kinds = Counter(str(v.kind) for v in verdicts if v.build_uuid in window)
    return StatsReport(
        stats=stats, fingerprints=fps, match_lines=lines, untriaged=untriaged, kinds=dict(kinds)
    )


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def summary_lines(report: StatsReport, *, top: int = 5) -> list[str]:
    """A few readable lines: verdicts, classification rate, the most harmful bugs and infra causes."""
    stats = report.stats
    rate = stats.classified
    kinds = report.kinds
    lines = [
        f"triage: {rate.total} failed builds in the {stats.days} days to {stats.now:%Y-%m-%d %H:%M}Z: "
        f"{kinds.get('infra', 0)} infra, {kinds.get('known-bug', 0)} known bug, {kinds.get('unknown', 0)} unknown",
        f"classification rate {_pct(rate.fraction)} (95% CI {_pct(rate.low)}-{_pct(rate.high)})"
        + (f"; {report.untriaged} failed builds not triaged yet" if report.untriaged else ""),
    ]
    ranked = [s for s in rank_by_impact(stats.fingerprints) if s.builds_hit]
    for fp in [s for s in ranked if not s.infra][:top]:
        race = fp.jobs[0] if fp.jobs else None
        where = f", {_pct(race.rate.fraction)} of {race.job_name} runs" if race else ""
        lines.append(
            f"  bug {fp.bug_id}{f' ({fp.title})' if fp.title else ''}: {fp.builds_hit} builds{where}"
        )
    for fp in [s for s in ranked if s.infra][:top]:
        lines.append(f"  infra {fp.bug_id}: {fp.builds_hit} builds, {fp.wasted_node_hours:.1f} node-hours")
    return lines


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    build: Build
    verdict: Verdict
    matches: tuple[Match, ...]
    comment: str
    failed: FailedTests


def find_build(store: Store, ref: str) -> Build:
    """A build by uuid or a unique prefix of at least 7 characters."""
    with store.unit_of_work(readonly=True) as uow:
        found = uow.triage.builds_by_prefix(ref, limit=2) if len(ref) >= 7 else uow.triage.builds([ref])
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFoundError(f"no build {ref!r}", hint="give a build uuid (or its first 7+ characters)")
    raise NotFoundError(f"{ref!r} names more than one build", hint="give more characters of the uuid")


def explain_build(store: Store, ref: str, *, days: int = 10) -> Explanation:
    """The stored verdict of one build, its matches, the comment a change would get, and its
    failed tests with what their history in the job says (over the health window)."""
    build = find_build(store, ref)
    with store.unit_of_work(readonly=True) as uow:
        verdict = uow.triage.verdict(build.uuid)
        matches = tuple(uow.triage.matches(build.uuid))
    if verdict is None:
        if build.result.is_failure:
            raise NotFoundError(
                f"build {build.uuid} has no verdict yet", hint="run `gatewatch triage` to classify new builds"
            )
        verdict = classify_build(build, (), ())  # a build that did not fail: NOT_FAILED
    stats = load_triage_stats(store, days=days).stats
    failed = load_failed_tests(store, build)
    return Explanation(
        build=build,
        verdict=verdict,
        matches=matches,
        comment=render_change_comment([verdict], stats, {build.uuid: failed.advice}),
        failed=failed,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeComment:
    """The comment for a change's newest CI run (one buildset of its newest or given patchset)."""

    change: int
    patchset: int | None
    buildset: str
    builds: tuple[Build, ...]
    verdicts: tuple[Verdict, ...]
    untriaged: tuple[str, ...]
    failed: dict[str, FailedTests]
    text: str


def _start_order(build: Build) -> tuple[bool, datetime, str]:
    """Builds without a start time first, then by start time (uuid breaks ties)."""
    return build.start_time is not None, build.start_time or datetime.min, build.uuid


def _newest_run(builds: list[Build]) -> tuple[str, list[Build]]:
    """(buildset uuid, its builds) of the newest build; without buildsets, the newest build per job."""
    newest = max(builds, key=_start_order)
    if newest.buildset_uuid:
        return newest.buildset_uuid, [b for b in builds if b.buildset_uuid == newest.buildset_uuid]
    per_job = {b.job_name: b for b in sorted(builds, key=_start_order)}
    return "", sorted(per_job.values(), key=lambda b: b.job_name)


def comment_on_change(
    store: Store, change: int, *, patchset: int | None = None, project: str | None = None, days: int = 10
) -> ChangeComment:
    """What a bot would post on ``change`` for its newest CI run: one line per failed build (unknown
    failures first, each with what its failed tests' history says), as ``render_change_comment``."""
    with store.unit_of_work(readonly=True) as uow:
        builds = uow.builds.list(change=change, patchset=patchset, project=project)
    if not builds:
        which = f"{change},{patchset}" if patchset is not None else str(change)
        raise NotFoundError(
            f"no builds of change {which}" + (f" in {project}" if project else ""),
            hint="give CHANGE or CHANGE,PATCHSET as the build records name them (gatewatch ingest)",
        )
    if patchset is None:
        patchset = max((b.patchset for b in builds if b.patchset is not None), default=None)
        if patchset is not None:
            builds = [b for b in builds if b.patchset == patchset]
    buildset, run = _newest_run(builds)
    verdicts: list[Verdict] = []
    untriaged: list[str] = []
    unknown: list[Build] = []
    with store.unit_of_work(readonly=True) as uow:
        for build in run:
            verdict = uow.triage.verdict(build.uuid)
            if verdict is None and build.result.is_failure:
                untriaged.append(build.uuid)
                continue
            if verdict is None:
                verdict = classify_build(build, (), ())  # a build that did not fail: NOT_FAILED
            elif verdict.kind is VerdictKind.UNKNOWN:
                unknown.append(build)
            verdicts.append(verdict)
    failed = load_failed_tests_of(store, unknown)
    stats = load_triage_stats(store, days=days).stats
    text = render_change_comment(verdicts, stats, {uuid: f.advice for uuid, f in failed.items()})
    if untriaged:
        pending = f"{len(untriaged)} failed build(s) not triaged yet: run `gatewatch triage`."
        judged = any(v.kind is not VerdictKind.NOT_FAILED for v in verdicts)
        text = f"{text}\n{pending}" if judged else pending
    return ChangeComment(
        change=change,
        patchset=patchset,
        buildset=buildset,
        builds=tuple(run),
        verdicts=tuple(verdicts),
        untriaged=tuple(untriaged),
        failed=failed,
        text=text,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryHit:
    build: Build
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryReport:
    """Builds scanned and matched (``hits`` holds the newest ``limit`` of them), lines, jobs."""

    query: str
    builds_scanned: int
    builds_matched: int
    lines_matched: int
    per_job: tuple[tuple[str, int], ...]
    hits: tuple[QueryHit, ...]


def run_query(store: Store, query: str, *, since: datetime | None = None, limit: int = 20) -> QueryReport:
    """Every stored build the query's build fields admit (SQL), scanned with the query compiled alone."""
    compiled = compile_query(query)
    fp = Fingerprint(bug_id="query", query=query)
    matcher = compile_fingerprints([fp])
    with store.unit_of_work(readonly=True) as uow:
        builds = uow.triage.candidate_builds(build_filter(compiled), since=since)
    hits: list[QueryHit] = []
    for start in range(0, len(builds), 200):
        part = builds[start : start + 200]
        with store.unit_of_work(readonly=True) as uow:
            logs = uow.triage.logs_of([b.uuid for b in part])
        for build in part:
            if compiled.level == "build":
                found = tuple(matcher.scan_build(BuildFacts.from_build(build)))
            else:
                found = scan_task(
                    matcher, store.blobs, ScanTask(build=build, logs=tuple(logs[build.uuid]))
                ).matches
            if found:
                hits.append(QueryHit(build=build, matches=found))
    jobs = Counter(h.build.job_name for h in hits)
    return QueryReport(
        query=query,
        builds_scanned=len(builds),
        builds_matched=len(hits),
        lines_matched=sum(len(h.matches) for h in hits),
        per_job=tuple(sorted(jobs.items(), key=lambda kv: (-kv[1], kv[0]))),
        hits=tuple(hits[:limit]),
    )
