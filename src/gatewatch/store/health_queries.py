"""Health queries: rollups of a window, builds as job observations, raw rows of a few tests.

Window-wide questions are answered in SQL over the rollup tables (``SUM ... GROUP BY``), so
only the few tests that failed in the window reach Python; raw rows are read only for those
(evidence needs runs grouped by code) or for one test.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    Table,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from gatewatch.analyse.health import ObservationColumns
from gatewatch.domain.builds import BuildResult
from gatewatch.domain.health import BuildVerdict, DailyJobRollup, DailyTestRollup, JobObservation
from gatewatch.store import schema as t
from gatewatch.store.convert import clean_text
from gatewatch.store.health_raw import (
    CHUNK_ROWS,
    VERDICT_KINDS,
    RawSelection,
    compute_attempt_columns,
    fetch_attempts,
    fetch_run_contexts,
    parse_stored_time,
    split_by_job,
    stored_time,
)
from gatewatch.store.health_rows import (
    JOB_VALUES,
    NO_DAY,
    daily_test_rollup_from_row,
    job_rollup_from_row,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthQuery:
    """Which history a health question is about: days [since, until), branch, pipeline, job."""

    since: date | None = None
    until: date | None = None
    branch: str | None = None
    pipeline: str | None = None
    job: str | None = None


NOT_COUNTED = ("SKIPPED", "ABORTED", "CANCELED", "RETRY", "MERGE_CONFLICT")  # see analyse.health.jobs


def midnight(day: date) -> datetime:
    """The UTC start of ``day``."""
    return datetime.combine(day, time(), UTC)


def pk_in(conn: Connection, column: Any, pks: Sequence[int]) -> ColumnElement[bool]:
    """``column IN pks`` as ONE bound parameter (a PostgreSQL array, a JSON list on SQLite)."""
    if conn.dialect.name == "postgresql":
        array = bindparam(None, list(pks), type_=postgresql.ARRAY(BigInteger))
        return column == any_(array)  # type: ignore[no-any-return]
    values: Any = select(literal_column("value")).select_from(func.json_each(json.dumps(list(pks))))
    return column.in_(values)  # type: ignore[no-any-return]


def _rollup_where(table: Table, q: HealthQuery) -> list[ColumnElement[bool]]:
    c = table.c
    where = []
    if q.since is not None:
        where.append(c.day >= q.since)
    if q.until is not None:
        where.append(c.day < q.until)
    if q.since is not None or q.until is not None:
        where.append(c.day != NO_DAY)
    for name, value in (("branch", q.branch), ("pipeline", q.pipeline), ("job_name", q.job)):
        if value is not None:
            where.append(c[name] == value)
    return where


def _build_where(q: HealthQuery) -> list[ColumnElement[bool]]:
    b = t.build.c
    where: list[ColumnElement[bool]] = []
    if q.since is not None:
        where.append(b.start_time >= midnight(q.since))
    if q.until is not None:
        where.append(b.start_time < midnight(q.until))
    if q.branch is not None:
        where.append(b.branch == q.branch)
    if q.pipeline is not None:
        where.append(b.pipeline_id.in_(select(t.pipeline.c.id).where(t.pipeline.c.name == q.pipeline)))
    if q.job is not None:
        where.append(b.job_name == q.job)
    return where


def job_observation(row: Any, verdicts: dict[str, str]) -> JobObservation:
    """A build row as a ``JobObservation`` with its triage verdict."""
    kind = verdicts.get(row.uuid)
    return JobObservation(
        build_uuid=row.uuid,
        job_name=row.job_name,
        result=BuildResult(row.result),
        voting=bool(row.voting),
        project=row.project or "",
        branch=row.branch,
        pipeline=row.pipeline or "",
        change=row.change_number,
        patchset=row.patchset_number,
        commit_sha=row.commit_sha,
        started_at=parse_stored_time(row.start_time),
        duration_s=row.duration_s,
        verdict=BuildVerdict(kind) if kind else None,
    )


class HealthQueries:
    """Read side of the health repository."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def verdict_kinds(self, build_uuids: Any) -> dict[str, str]:  # pragma: no cover - overridden
        raise NotImplementedError

    @staticmethod
    def raw_query(slice_: tuple[str, str, str] | None = None) -> Select[Any]:
        """Stored attempts as ``ObsRow`` columns, optionally of one (job, branch, pipeline)."""
        tr, b, p = t.test_result.c, t.build.c, t.pipeline.c
        job, branch, pipeline = (func.coalesce(col, "") for col in (b.job_name, b.branch, p.name))
        query = (
            select(tr.test_pk, tr.run_id, tr.outcome, tr.timestamp, tr.duration_s, func.coalesce(b.uuid, ""))
            .add_columns(
                job, branch, pipeline, b.change_number, b.patchset_number, func.coalesce(b.commit_sha, "")
            )
            .select_from(t.test_result)
            .join(t.run, t.run.c.id == tr.run_id)
            .outerjoin(t.build, b.id == t.run.c.build_id)
            .outerjoin(t.pipeline, p.id == b.pipeline_id)
        )
        if slice_ is not None:
            query = query.where(job == slice_[0], branch == slice_[1], pipeline == slice_[2])
        return query

    def job_observations(
        self, *, where: ColumnElement[bool] | None = None, query: HealthQuery | None = None
    ) -> list[JobObservation]:
        """Builds as job observations (with their verdicts), oldest first."""
        b = t.build.c
        stmt = (
            select(b.uuid, b.job_name, b.result, b.voting, b.branch, b.change_number, b.patchset_number)
            .add_columns(
                b.commit_sha, stored_time(self._conn, b.start_time).label("start_time"), b.duration_s
            )
            .add_columns(t.pipeline.c.name.label("pipeline"), t.project.c.name.label("project"))
            .add_columns(t.triage_verdict.c.kind.label("verdict"))
            .outerjoin_from(t.build, t.pipeline, t.pipeline.c.id == b.pipeline_id)
            .outerjoin(t.project, t.project.c.id == b.project_id)
            .outerjoin(t.triage_verdict, t.triage_verdict.c.build_id == b.id)
            .order_by(b.start_time, b.id)
        )
        if where is not None:
            stmt = stmt.where(where)
        if query is not None:
            stmt = stmt.where(*_build_where(query))
        out: list[JobObservation] = []
        for rows in self._conn.execute(stmt).partitions(CHUNK_ROWS):  # rows dropped chunk by chunk
            verdicts = {r.uuid: VERDICT_KINDS[r.verdict] for r in rows if r.verdict in VERDICT_KINDS}
            out += [job_observation(r, verdicts) for r in rows]
        return out

    def job_code_summary(self, query: HealthQuery) -> dict[str, tuple[bool, int, int, int]]:
        """Per job, aggregated in SQL over (job, code) groups of counted builds:
        (voting, builds on correct code, failures among them, codes that both passed and failed).

        A code (``c:CHANGE,PS``, else ``sha:COMMIT``, else the build) is correct when it passed
        the job in some build (docs/health.md); a same-code flake is a code with a success and
        a failure that is neither NODE_FAILURE nor triaged as ``infra``.
        """
        b = t.build.c
        no_change = or_(b.change_number.is_(None), b.patchset_number.is_(None))
        sha = case((no_change, b.commit_sha), else_="")
        lone = case((and_(no_change, b.commit_sha == ""), b.id), else_=0)  # a code of its own
        code = (b.change_number, b.patchset_number, sha, lone)
        ok = case((b.result == "SUCCESS", 1), else_=0)
        v = t.triage_verdict.c
        # the verdict is looked up only for failures (AND short-circuits), not joined to every build
        infra = select(v.build_id).where(v.build_id == b.id, v.kind == "infra").exists()
        real = case((and_(b.result.not_in(["SUCCESS", "NODE_FAILURE"]), ~infra), 1), else_=0)
        groups = (
            select(b.job_name, lone.label("lone"), func.min(case((b.voting, 1), else_=0)).label("voting"))
            .add_columns(func.count().label("n"), func.sum(ok).label("ok"), func.sum(real).label("real"))
            .where(b.result.not_in(NOT_COUNTED), *_build_where(query))
            .group_by(b.job_name, *code)
            .subquery()
        )
        g = groups.c
        correct = g.ok > 0
        stmt = select(
            g.job_name,
            func.min(g.voting),
            func.sum(case((correct, g.n), else_=0)),
            func.sum(case((correct, g.n - g.ok), else_=0)),
            func.sum(case((and_(correct, g.real > 0, g.lone == 0), 1), else_=0)),
        ).group_by(g.job_name)
        return {
            row[0]: (bool(row[1]), int(row[2] or 0), int(row[3] or 0), int(row[4] or 0))
            for row in self._conn.execute(stmt)
        }

    def latest_day(self) -> date | None:
        """The newest day any build or test result was rolled up on."""
        c = t.daily_job_rollup.c
        day = self._conn.execute(select(func.max(c.day)).where(c.day != NO_DAY)).scalar()
        if day is None:
            c = t.daily_test_rollup.c
            day = self._conn.execute(select(func.max(c.day)).where(c.day != NO_DAY)).scalar()
        return day if isinstance(day, date) else None

    def job_rollups(self, query: HealthQuery) -> list[DailyJobRollup]:
        table = t.daily_job_rollup
        stmt = select(table).where(*_rollup_where(table, query)).order_by(table.c.day, table.c.job_name)
        return [job_rollup_from_row(row._mapping) for row in self._conn.execute(stmt)]

    def job_totals(self, query: HealthQuery) -> list[DailyJobRollup]:
        """The selected job rollups summed per job in SQL (``day`` None, branch and pipeline ''),
        by job name: what ``merge_job_rollups`` gives for them."""
        c = t.daily_job_rollup.c
        sums = [func.sum(c[name]) for name in JOB_VALUES]
        stmt = (
            select(c.job_name, *sums, func.sum(c.duration_sum_s))
            .where(*_rollup_where(t.daily_job_rollup, query))
            .group_by(c.job_name)
            .order_by(c.job_name)
        )
        return [
            job_rollup_from_row(
                dict(zip(JOB_VALUES, (int(v or 0) for v in row[1:-1]), strict=True))
                | {
                    "day": NO_DAY,
                    "job_name": row[0],
                    "branch": "",
                    "pipeline": "",
                    "duration_sum_s": row[-1] or 0.0,
                }
            )
            for row in self._conn.execute(stmt)
        ]

    def test_pk(self, test_id: str) -> int | None:
        key = hashlib.sha256(clean_text(test_id).encode("utf-8")).hexdigest()
        pk = self._conn.execute(select(t.test.c.id).where(t.test.c.test_key == key)).scalar()
        return None if pk is None else int(pk)

    def find_tests(self, fragment: str, *, limit: int) -> list[tuple[int, str]]:
        """Up to ``limit`` tests whose id contains ``fragment`` (literally: ``%`` and ``_`` are
        not wildcards), shortest ids first."""
        c = t.test.c
        query = (
            select(c.id, c.test_id)
            .where(c.test_id.contains(clean_text(fragment), autoescape=True))
            .order_by(func.length(c.test_id), c.test_id)
            .limit(limit)
        )
        return [(int(pk), str(tid)) for pk, tid in self._conn.execute(query)]

    def test_ids(self, test_pks: list[int]) -> dict[int, str]:
        stmt = select(t.test.c.id, t.test.c.test_id).where(pk_in(self._conn, t.test.c.id, test_pks))
        return {int(pk): tid for pk, tid in self._conn.execute(stmt)}

    def test_totals(self, query: HealthQuery) -> tuple[int, int, int]:
        """(tests, attempts, failures) in the selected rollups, summed in SQL."""
        c = t.daily_test_rollup.c
        stmt = select(func.count(func.distinct(c.test_pk)), func.sum(c.attempts), func.sum(c.failures))
        row = self._conn.execute(stmt.where(*_rollup_where(t.daily_test_rollup, query))).one()
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    def failing_test_pks(self, query: HealthQuery) -> list[int]:
        """Tests with at least one (non-infra) failure in the selection: SUM ... GROUP BY in SQL."""
        c = t.daily_test_rollup.c
        stmt = (
            select(c.test_pk)
            .where(*_rollup_where(t.daily_test_rollup, query))
            .group_by(c.test_pk)
            .having(func.sum(c.failures) > 0)
        )
        return sorted(int(pk) for pk in self._conn.execute(stmt).scalars())

    def failing_tests_by_job(self, query: HealthQuery) -> dict[str, list[int]]:
        """Tests with a (non-infra) failure in the selection, per job (a partial index serves it)."""
        c = t.daily_test_rollup.c
        stmt = (
            select(c.job_name, c.test_pk)
            .where(c.failures > 0, *_rollup_where(t.daily_test_rollup, query))
            .distinct()
        )
        found: dict[str, list[int]] = {}
        for job, pk in self._conn.execute(stmt):
            found.setdefault(job, []).append(int(pk))
        return {job: sorted(pks) for job, pks in found.items()}

    def test_rollups(self, query: HealthQuery, test_pks: list[int]) -> list[DailyTestRollup]:
        """Rollups of the given tests (real test ids), by test and day."""
        ids = self.test_ids(test_pks)
        c = t.daily_test_rollup.c
        stmt = select(t.daily_test_rollup).where(*_rollup_where(t.daily_test_rollup, query))
        stmt = stmt.where(pk_in(self._conn, c.test_pk, test_pks)).order_by(c.test_pk, c.day)
        return [
            daily_test_rollup_from_row(row._mapping, ids[row.test_pk]) for row in self._conn.execute(stmt)
        ]

    def test_columns(self, query: HealthQuery, test_pks: list[int]) -> ObservationColumns:
        """Raw attempts of the given tests in the selection, as columns with real test ids."""
        selection = _raw_selection(query)
        attempts = fetch_attempts(self._conn, pk_in(self._conn, t.test_result.c.test_pk, test_pks), selection)
        runs = np.unique(attempts.run_id).tolist()
        contexts = fetch_run_contexts(self._conn, pk_in(self._conn, t.run.c.id, runs), selection, query.job)
        return compute_attempt_columns(
            attempts, contexts, self.test_ids(np.unique(attempts.test_pk).tolist())
        )

    def candidate_columns(
        self, query: HealthQuery, wanted: Mapping[str, Sequence[int]]
    ) -> dict[str, ObservationColumns]:
        """Raw attempts of each job's wanted tests (job -> test pks), each job's as columns:
        the same as ``test_columns(replace(query, job=job), pks)`` per job, in two queries."""
        selection = _raw_selection(query)
        pks = sorted({pk for job_pks in wanted.values() for pk in job_pks})
        attempts = fetch_attempts(self._conn, pk_in(self._conn, t.test_result.c.test_pk, pks), selection)
        runs = np.unique(attempts.run_id).tolist()
        contexts = fetch_run_contexts(self._conn, pk_in(self._conn, t.run.c.id, runs), selection, query.job)
        ids = self.test_ids(pks)
        return {
            job: compute_attempt_columns(rows, contexts, ids)
            for job, rows in split_by_job(attempts, contexts, wanted).items()
        }


def _raw_selection(query: HealthQuery) -> RawSelection:
    return RawSelection(
        since=None if query.since is None else midnight(query.since),
        until=None if query.until is None else midnight(query.until),
        branch=query.branch,
        pipeline=query.pipeline,
    )
