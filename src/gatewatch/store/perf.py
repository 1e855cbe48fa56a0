"""Performance analysis state: analysed series, their change points (with status) and outliers.

``perf_series`` keeps, per series, what ``update_analysis`` needs to extend an analysis
without recomputing the whole history (raw and cleaned values, noise SD, change points,
outliers, detector options) plus the commits of the points and the number of stored
samples the analysis covers, so services can skip series without new samples.

Change points are reconciled on each save: a new finding of the same kind within
``MATCH_DISTANCE`` points of a stored one updates it in place (its id and status survive);
stored *open* change points that are no longer detected are deleted, acknowledged and
fixed ones are kept as history. Non-finite floats are stored as NULL (JSON and SQL alike:
PostgreSQL's JSON rejects NaN) and read back as NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from gatewatch.analyse.perf import Analysis
from gatewatch.domain.perf import (
    ChangeKind,
    Direction,
    Outlier,
    PerfFinding,
    RegressionStatus,
    SeriesKey,
)
from gatewatch.errors import NotFoundError
from gatewatch.store import schema as t
from gatewatch.store.builds import insert_returning_id
from gatewatch.store.convert import chunks, clean_text
from gatewatch.store.perf_state import dump_state, json_float, load_float, load_state

MATCH_DISTANCE = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAnalysis:
    """One analysed series as stored: the detector state and what it covers."""

    series_id: int
    key: SeriesKey
    unit: str
    direction: Direction
    sample_count: int
    runs_per_commit: int
    commits: tuple[str, ...]
    analysis: Analysis
    analysed_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFinding:
    """A change point in the regressions list, with its stable id."""

    id: int
    finding: PerfFinding
    status_changed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisRecord:
    """What ``PerfRepository.save_analysis`` writes for one series."""

    key: SeriesKey
    unit: str
    direction: Direction
    sample_count: int
    runs_per_commit: int
    commits: tuple[str, ...]
    analysis: Analysis
    findings: tuple[PerfFinding, ...]


def _key_filter(table: Any, key: SeriesKey) -> list[Any]:
    return [
        table.c.project == clean_text(key.project),
        table.c.benchmark == clean_text(key.benchmark),
        table.c.metric == clean_text(key.metric),
        table.c.environment == clean_text(key.environment),
    ]


class PerfRepository:
    """Analyses per series, change points with their status, outlier runs."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # --- series and their analysis state ---------------------------------------------------------
    def sample_counts(self) -> dict[SeriesKey, int]:
        """How many benchmark samples each stored series has."""
        bs = t.benchmark_sample
        cols = (bs.c.project, bs.c.benchmark, bs.c.metric, bs.c.environment)
        query = select(*cols, func.count()).group_by(*cols)
        return {
            SeriesKey(project=p, benchmark=b, metric=m, environment=e): int(n)
            for p, b, m, e, n in self._conn.execute(query)
        }

    def analysed_counts(self) -> dict[SeriesKey, int]:
        """How many samples the stored analysis of each series covers."""
        ps = t.perf_series
        query = select(ps.c.project, ps.c.benchmark, ps.c.metric, ps.c.environment, ps.c.sample_count)
        return {
            SeriesKey(project=p, benchmark=b, metric=m, environment=e): int(n)
            for p, b, m, e, n in self._conn.execute(query)
        }

    def counts(self) -> tuple[int, int]:
        """How many series are analysed and how many outlier runs they have."""
        series = self._conn.execute(select(func.count()).select_from(t.perf_series)).scalar_one()
        outliers = self._conn.execute(select(func.count()).select_from(t.perf_outlier)).scalar_one()
        return int(series), int(outliers)

    def load_analysis(self, key: SeriesKey) -> StoredAnalysis | None:
        """The stored analysis of ``key``, or None if it was never analysed."""
        row = self._conn.execute(select(t.perf_series).where(*_key_filter(t.perf_series, key))).first()
        return None if row is None else _analysis_from_row(row)

    def all_analyses(self) -> list[StoredAnalysis]:
        """Every analysed series, by key."""
        ps = t.perf_series
        query = select(ps).order_by(ps.c.project, ps.c.benchmark, ps.c.metric, ps.c.environment)
        return [_analysis_from_row(row) for row in self._conn.execute(query)]

    def save_analysis(self, record: AnalysisRecord, *, now: datetime) -> int:
        """Store (insert or replace) one series' analysis, outliers and change points; returns its id."""
        ps = t.perf_series
        values = {
            "unit": clean_text(record.unit),
            "direction": Direction(record.direction).value,
            "sample_count": record.sample_count,
            "point_count": len(record.analysis.values),
            "runs_per_commit": record.runs_per_commit,
            "state": dump_state(record.analysis, record.commits),
            "analysed_at": now,
        }
        key = record.key
        names = {"project": key.project, "benchmark": key.benchmark, "metric": key.metric}
        names["environment"] = key.environment
        row = {k: clean_text(v) for k, v in names.items()} | values
        inserted = insert_returning_id(self._conn, ps, row)  # ON CONFLICT DO NOTHING: analyses may race
        if inserted is None:
            series_id = int(self._conn.execute(select(ps.c.id).where(*_key_filter(ps, key))).scalar_one())
            self._conn.execute(update(ps).where(ps.c.id == series_id).values(values))
        else:
            series_id = inserted
        self._save_outliers(series_id, record.analysis.outliers, record.commits)
        self._reconcile(series_id, record.findings, now=now)
        return series_id

    def _save_outliers(self, series_id: int, outliers: Sequence[Outlier], commits: Sequence[str]) -> None:
        po = t.perf_outlier
        self._conn.execute(delete(po).where(po.c.series_id == series_id))
        rows = [
            {
                "series_id": series_id,
                "point_index": o.index,
                "commit_sha": clean_text(commits[o.index]) if o.index < len(commits) else "",
                "value": json_float(o.value),
                "expected": json_float(o.expected),
                "deviation_pct": json_float(o.deviation_pct),
            }
            for o in outliers
        ]
        if rows:
            self._conn.execute(insert(po), rows)

    def _reconcile(self, series_id: int, findings: Iterable[PerfFinding], *, now: datetime) -> None:
        cp = t.perf_change_point
        query = select(cp.c.id, cp.c.kind, cp.c.point_index, cp.c.status).where(cp.c.series_id == series_id)
        unmatched: dict[int, Any] = {int(r.id): r for r in self._conn.execute(query)}
        for finding in findings:
            match = _closest(finding, list(unmatched.values()))
            values = _finding_values(finding)
            if match is None:
                row = values | {"series_id": series_id, "status": RegressionStatus.OPEN.value}
                row["detected_at"] = finding.detected_at or now
                self._conn.execute(insert(cp).values(row))
            else:
                del unmatched[match]
                self._conn.execute(update(cp).where(cp.c.id == match).values(values))
        gone = [i for i, r in unmatched.items() if r.status == RegressionStatus.OPEN.value]
        for part in chunks(gone, 500):
            self._conn.execute(delete(cp).where(cp.c.id.in_(part)))

    # --- findings (the regressions list) ---------------------------------------------------------
    def findings(
        self, *, statuses: Sequence[RegressionStatus] = (), key: SeriesKey | None = None
    ) -> list[StoredFinding]:
        """Stored change points (all, or those with one of ``statuses``), by series then index."""
        cp, ps = t.perf_change_point, t.perf_series
        query = select(cp, ps.c.project, ps.c.benchmark, ps.c.metric, ps.c.environment).join(
            ps, ps.c.id == cp.c.series_id
        )
        if statuses:
            query = query.where(cp.c.status.in_([RegressionStatus(s).value for s in statuses]))
        if key is not None:
            query = query.where(*_key_filter(ps, key))
        query = query.order_by(ps.c.project, ps.c.benchmark, ps.c.metric, ps.c.environment, cp.c.point_index)
        return [_finding_from_row(row) for row in self._conn.execute(query)]

    def finding(self, finding_id: int) -> StoredFinding:
        """One change point by id; NotFoundError if there is none."""
        cp, ps = t.perf_change_point, t.perf_series
        query = (
            select(cp, ps.c.project, ps.c.benchmark, ps.c.metric, ps.c.environment)
            .join(ps, ps.c.id == cp.c.series_id)
            .where(cp.c.id == finding_id)
        )
        row = self._conn.execute(query).first()
        if row is None:
            raise NotFoundError(
                f"no performance change point with id {finding_id}",
                hint="list them with: gatewatch perf regressions --status all",
            )
        return _finding_from_row(row)

    def set_status(self, finding_id: int, status: RegressionStatus, *, now: datetime) -> StoredFinding:
        """Acknowledge, mark fixed or reopen one change point."""
        self.finding(finding_id)
        cp = t.perf_change_point
        values = {"status": RegressionStatus(status).value, "status_changed_at": now}
        self._conn.execute(update(cp).where(cp.c.id == finding_id).values(values))
        return self.finding(finding_id)

    def outliers(self, key: SeriesKey) -> list[tuple[str, Outlier]]:
        """The outlier runs of one series with their commits, by index."""
        po, ps = t.perf_outlier, t.perf_series
        query = (
            select(po)
            .join(ps, ps.c.id == po.c.series_id)
            .where(*_key_filter(ps, key))
            .order_by(po.c.point_index)
        )
        return [
            (
                row.commit_sha,
                Outlier(
                    index=row.point_index,
                    value=load_float(row.value),
                    expected=load_float(row.expected),
                    deviation_pct=load_float(row.deviation_pct),
                ),
            )
            for row in self._conn.execute(query)
        ]

    # --- what happened at the suspect commits ----------------------------------------------------
    def changes_for_commits(self, commits: Sequence[str]) -> dict[str, list[str]]:
        """Per commit, the changes whose patchset has it: ``project change,patchset``."""
        p, c, pr = t.patchset, t.change, t.project
        found: dict[str, list[str]] = {}
        for part in chunks(list(dict.fromkeys(commits)), 500):
            query = (
                select(p.c.commit_sha, pr.c.name, c.c.number, p.c.number.label("ps"))
                .join(c, c.c.id == p.c.change_id)
                .join(pr, pr.c.id == c.c.project_id)
                .where(p.c.commit_sha.in_(part))
                .order_by(c.c.number, p.c.number)
            )
            for sha, project, change, patchset in self._conn.execute(query):
                found.setdefault(sha, []).append(f"{project} {change},{patchset}")
        return found

    def builds_for_commits(self, key: SeriesKey, commits: Sequence[str]) -> dict[str, list[str]]:
        """Per commit, the builds that measured series ``key`` there."""
        bs, b = t.benchmark_sample, t.build
        found: dict[str, list[str]] = {}
        for part in chunks(list(dict.fromkeys(commits)), 500):
            query = (
                select(bs.c.commit_sha, bs.c.build_uuid, b.c.uuid)
                .outerjoin(b, b.c.id == bs.c.build_id)
                .where(*_key_filter(bs, key), bs.c.commit_sha.in_(part))
                .order_by(bs.c.id)
            )
            for sha, own, linked in self._conn.execute(query):
                uuid = own or linked or ""
                if uuid and uuid not in found.setdefault(sha, []):
                    found[sha].append(uuid)
        return found


def _closest(finding: PerfFinding, stored: Sequence[Any]) -> int | None:
    near = [
        r
        for r in stored
        if r.kind == finding.kind.value and abs(r.point_index - finding.index) <= MATCH_DISTANCE
    ]
    if not near:
        return None
    return int(min(near, key=lambda r: abs(r.point_index - finding.index)).id)


def _finding_values(finding: PerfFinding) -> dict[str, Any]:
    return {
        "kind": finding.kind.value,
        "point_index": finding.index,
        "last_good_commit": clean_text(finding.last_good_commit),
        "first_bad_commit": clean_text(finding.first_bad_commit),
        "suspect_commits": [clean_text(c) for c in finding.suspect_commits],
        "magnitude_pct": json_float(finding.magnitude_pct),
        "p_value": json_float(finding.p_value),
        "mean_before": json_float(finding.mean_before),
        "mean_after": json_float(finding.mean_after),
        "spread_before": json_float(finding.spread_before),
        "spread_after": json_float(finding.spread_after),
        "unit": clean_text(finding.unit),
    }


def _finding_from_row(row: Row[Any]) -> StoredFinding:
    m = row._mapping
    key = SeriesKey(
        project=m["project"], benchmark=m["benchmark"], metric=m["metric"], environment=m["environment"]
    )
    finding = PerfFinding(
        key=key,
        kind=ChangeKind(m["kind"]),
        index=m["point_index"],
        last_good_commit=m["last_good_commit"],
        first_bad_commit=m["first_bad_commit"],
        suspect_commits=tuple(str(c) for c in m["suspect_commits"]),
        magnitude_pct=load_float(m["magnitude_pct"]),
        p_value=load_float(m["p_value"]),
        mean_before=load_float(m["mean_before"]),
        mean_after=load_float(m["mean_after"]),
        spread_before=load_float(m["spread_before"]),
        spread_after=load_float(m["spread_after"]),
        unit=m["unit"],
        status=RegressionStatus(m["status"]),
        detected_at=m["detected_at"],
    )
    return StoredFinding(id=int(m["id"]), finding=finding, status_changed_at=m["status_changed_at"])


def _analysis_from_row(row: Row[Any]) -> StoredAnalysis:
    m = row._mapping
    state = m["state"]
    analysis = load_state(state)
    return StoredAnalysis(
        series_id=int(m["id"]),
        key=SeriesKey(
            project=m["project"], benchmark=m["benchmark"], metric=m["metric"], environment=m["environment"]
        ),
        unit=m["unit"],
        direction=Direction(m["direction"]),
        sample_count=int(m["sample_count"]),
        runs_per_commit=int(m["runs_per_commit"]),
        commits=tuple(str(c) for c in state["commits"]),
        analysis=analysis,
        analysed_at=m["analysed_at"],
    )
