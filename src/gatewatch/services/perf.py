"""Use cases of performance analysis: ingest benchmark files, analyse series, list regressions.

``analyse_all`` analyses only the series whose stored sample count changed since their last
analysis. When the new prepared series extends the stored one (same commits and values, new
points appended) the stored detector state is extended with ``update_analysis`` (only the
unconfirmed tail is reanalysed); otherwise (a re-run changed a commit's median, a late sample
sorted into the middle) the series is analysed from scratch. Each series is saved in its own
transaction; a series that cannot be analysed (mixed units, negative durations) is reported
and the others go on.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gatewatch.analyse.perf import (
    Analysis,
    DetectorOptions,
    PreparedSeries,
    compute_change_points,
    compute_findings,
    compute_noise_verdict,
    compute_series,
    update_analysis,
)
from gatewatch.domain.perf import ChangeKind, NoiseVerdict, Outlier, RegressionStatus, SeriesKey
from gatewatch.errors import NotFoundError, PerfError
from gatewatch.ingest.benchmarks import BenchContext
from gatewatch.ingest.sources import Limits
from gatewatch.services.ingest import IngestSummary, ingest_paths
from gatewatch.store import Store
from gatewatch.store.perf import AnalysisRecord, StoredAnalysis, StoredFinding


@dataclass(slots=True, kw_only=True)
class AnalyseSummary:
    """What one ``analyse_all`` did."""

    analysed: int = 0
    incremental: int = 0
    unchanged: int = 0
    regressions: int = 0
    improvements: int = 0
    outliers: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


SeriesCallback = Callable[[int, int, SeriesKey], None]


def ingest_benchmark_paths(
    store: Store, paths: Sequence[str], *, defaults: BenchContext, limits: Limits | None = None
) -> IngestSummary:
    """Ingest benchmark files through the normal ingest path, with ``defaults`` for what they lack."""
    return ingest_paths(store, list(paths), limits=limits, bench_defaults=defaults)


def analyse_all(
    store: Store, *, now: datetime, force: bool = False, on_series: SeriesCallback | None = None
) -> AnalyseSummary:
    """Analyse every series with new samples (all of them with ``force``); see the module docstring."""
    with store.unit_of_work(readonly=True) as uow:
        counts = uow.perf.sample_counts()
        done = uow.perf.analysed_counts()
    todo = sorted((k for k, n in counts.items() if force or done.get(k) != n), key=lambda k: k.render())
    summary = AnalyseSummary(unchanged=len(counts) - len(todo))
    for position, key in enumerate(todo, start=1):
        try:
            incremental = analyse_series(store, key, now=now, fresh=force)
        except PerfError as exc:
            summary.errors.append(f"{key.render()}: {exc}")
        else:
            summary.analysed += 1
            summary.incremental += int(incremental)
        if on_series is not None:
            on_series(position, len(todo), key)
    with store.unit_of_work(readonly=True) as uow:
        for stored in uow.perf.findings(statuses=(RegressionStatus.OPEN,)):
            if stored.finding.kind is ChangeKind.REGRESSION:
                summary.regressions += 1
            else:
                summary.improvements += 1
        summary.outliers = uow.perf.counts()[1]
    return summary


def analyse_series(store: Store, key: SeriesKey, *, now: datetime, fresh: bool = False) -> bool:
    """(Re)analyse one series (from scratch with ``fresh``) and save it.

    Returns True when the stored state was extended incrementally.
    """
    with store.unit_of_work(readonly=True) as uow:
        samples = uow.benchmarks.load_series(key)
        previous = None if fresh else uow.perf.load_analysis(key)
    series = compute_series(samples)
    analysis, incremental = _analyse(series, previous)
    record = AnalysisRecord(
        key=key,
        unit=series.unit,
        direction=series.direction,
        sample_count=len(samples),
        runs_per_commit=series.runs_per_commit,
        commits=series.commits,
        analysis=analysis,
        findings=tuple(compute_findings(series, analysis, now=now)),
    )
    with store.unit_of_work() as uow:
        uow.perf.save_analysis(record, now=now)
    return incremental


def _analyse(series: PreparedSeries, previous: StoredAnalysis | None) -> tuple[Analysis, bool]:
    if previous is not None and _extends(series, previous):
        tail = series.values[len(previous.analysis.values) :]
        return update_analysis(previous.analysis, tail), True
    options = DetectorOptions(direction=series.direction)
    return compute_change_points(series.values, options=options, seed=0), False


def _extends(series: PreparedSeries, previous: StoredAnalysis) -> bool:
    n = len(previous.analysis.values)
    return (
        previous.analysis.options.direction is series.direction
        and n <= len(series.values)
        and series.commits[:n] == previous.commits
        and series.values[:n] == previous.analysis.values
    )


# --- series keys ---------------------------------------------------------------------------------
def resolve_series_key(store: Store, text: str) -> SeriesKey:
    """The stored series named ``text`` (``project/benchmark/metric[/environment]``).

    Projects and benchmarks may contain ``/``, so the text is matched against the rendered
    keys of stored series: an exact match wins; without environment, the one series of that
    project/benchmark/metric. Unknown or ambiguous names raise NotFoundError with suggestions.
    """
    with store.unit_of_work(readonly=True) as uow:
        keys = uow.benchmarks.series_keys()
    wanted = text.strip().strip("/")
    exact = [k for k in keys if k.render() == wanted]
    if exact:
        return exact[0]
    partial = [k for k in keys if _without_environment(k) == wanted]
    if len(partial) == 1:
        return partial[0]
    if partial:
        names = ", ".join(k.render() for k in partial[:5])
        raise NotFoundError(
            f"series {text!r} is ambiguous: {len(partial)} environments match",
            hint=f"add the environment, e.g. one of: {names}",
        )
    close = difflib.get_close_matches(wanted, [k.render() for k in keys], n=3, cutoff=0.5)
    hint = f"did you mean: {', '.join(close)}?" if close else "list series with: gatewatch perf noise"
    raise NotFoundError(f"no benchmark series {text!r}", hint=hint)


def _without_environment(key: SeriesKey) -> str:
    return "/".join((key.project, key.benchmark, key.metric))


# --- views -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class RegressionView:
    """One change point with what the store knows about its suspect commits."""

    stored: StoredFinding
    changes: dict[str, list[str]]
    builds: dict[str, list[str]]

    def as_dict(self) -> dict[str, object]:
        f = self.stored.finding
        return {
            "id": self.stored.id,
            "series": f.key.render(),
            "kind": f.kind.value,
            "status": f.status.value,
            "index": f.index,
            "last_good_commit": f.last_good_commit,
            "first_bad_commit": f.first_bad_commit,
            "suspects": [
                {"commit": c, "changes": self.changes.get(c, []), "builds": self.builds.get(c, [])}
                for c in f.suspect_commits
            ],
            "magnitude_pct": _json_float(f.magnitude_pct),
            "p_value": _json_float(f.p_value),
            "mean_before": _json_float(f.mean_before),
            "mean_after": _json_float(f.mean_after),
            "spread_before": _json_float(f.spread_before),
            "spread_after": _json_float(f.spread_after),
            "unit": f.unit,
            "detected_at": f.detected_at,
            "status_changed_at": self.stored.status_changed_at,
        }


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None


def list_regressions(store: Store, *, statuses: Sequence[RegressionStatus] = ()) -> list[RegressionView]:
    """Stored change points (regressions and improvements) with their suspects' changes and builds."""
    with store.unit_of_work(readonly=True) as uow:
        views = []
        for stored in uow.perf.findings(statuses=statuses):
            commits = stored.finding.suspect_commits
            views.append(
                RegressionView(
                    stored=stored,
                    changes=uow.perf.changes_for_commits(commits),
                    builds=uow.perf.builds_for_commits(stored.finding.key, commits),
                )
            )
    return views


def set_regression_status(
    store: Store, finding_id: int, status: RegressionStatus, *, now: datetime
) -> StoredFinding:
    """Acknowledge a change point, mark it fixed, or reopen it."""
    with store.unit_of_work() as uow:
        return uow.perf.set_status(finding_id, status, now=now)


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesView:
    """One series: its points, outlier runs, change points and noise verdict."""

    key: SeriesKey
    series: PreparedSeries
    outliers: tuple[Outlier, ...]
    findings: tuple[StoredFinding, ...]
    verdict: NoiseVerdict | None

    def as_dict(self) -> dict[str, object]:
        s = self.series
        return {
            "series": self.key.render(),
            "unit": s.unit,
            "direction": s.direction.value,
            "points": [
                {"index": i, "commit": c, "value": v, "timestamp": t, "runs": r}
                for i, (c, v, t, r) in enumerate(zip(s.commits, s.values, s.timestamps, s.runs, strict=True))
            ],
            "dropped": [{"commit": d.commit_sha, "reason": d.reason} for d in s.dropped],
            "outliers": [
                {
                    "index": o.index,
                    "commit": s.commits[o.index] if o.index < len(s.commits) else "",
                    "value": o.value,
                    "expected": o.expected,
                    "deviation_pct": _json_float(o.deviation_pct),
                }
                for o in self.outliers
            ],
            "change_points": [
                RegressionView(stored=f, changes={}, builds={}).as_dict() for f in self.findings
            ],
            "noise": None if self.verdict is None else _verdict_dict(self.verdict),
        }


def load_series_view(store: Store, key: SeriesKey) -> SeriesView:
    """Values, outliers and change points of one series (analysed state as stored)."""
    with store.unit_of_work(readonly=True) as uow:
        samples = uow.benchmarks.load_series(key)
        stored = uow.perf.load_analysis(key)
        findings = tuple(uow.perf.findings(key=key))
    series = compute_series(samples)
    if stored is None:
        return SeriesView(key=key, series=series, outliers=(), findings=findings, verdict=None)
    return SeriesView(
        key=key,
        series=series,
        outliers=stored.analysis.outliers,
        findings=findings,
        verdict=compute_noise_verdict(stored.analysis, runs_per_commit=max(stored.runs_per_commit, 1)),
    )


def _verdict_dict(verdict: NoiseVerdict) -> dict[str, object]:
    return {
        "level": verdict.level.value,
        "cv_pct": _json_float(verdict.cv_pct),
        "min_detectable_pct": _json_float(verdict.min_detectable_pct),
        "runs_per_commit": verdict.runs_per_commit,
        "point_count": verdict.point_count,
        "sentence": verdict.sentence,
    }


def noise_report(store: Store) -> list[tuple[SeriesKey, NoiseVerdict]]:
    """The noise verdict of every analysed series, by key."""
    with store.unit_of_work(readonly=True) as uow:
        analyses = uow.perf.all_analyses()
    return [
        (a.key, compute_noise_verdict(a.analysis, runs_per_commit=max(a.runs_per_commit, 1)))
        for a in analyses
    ]


def noise_dict(key: SeriesKey, verdict: NoiseVerdict) -> dict[str, object]:
    return {"series": key.render()} | _verdict_dict(verdict)


def render_perf_summary(store: Store) -> list[str]:
    """A few lines for the end of ``gatewatch demo``: series, open regressions, improvements."""
    with store.unit_of_work(readonly=True) as uow:
        series, outliers = uow.perf.counts()
        open_findings = uow.perf.findings(statuses=(RegressionStatus.OPEN,))
    regressions = [f for f in open_findings if f.finding.kind is ChangeKind.REGRESSION]
    improvements = len(open_findings) - len(regressions)
    lines = [
        f"performance: {series} series analysed, {len(regressions)} open regression(s), "
        f"{improvements} improvement(s), {outliers} outlier run(s)"
    ]
    for stored in regressions[:5]:
        f = stored.finding
        lines.append(
            f"  #{stored.id} {f.key.render()}: {f.magnitude_pct:+.1f}% "
            f"({f.mean_before:.3g} -> {f.mean_after:.3g} {f.unit}) at {f.first_bad_commit[:12]}, "
            f"p={f.p_value:.1e}"
        )
    if regressions:
        lines.append("  details: gatewatch perf regressions")
    return lines
