"""Health rollups: daily test and job aggregates kept up to date in the ingest transaction.

``RunRepository.save`` and ``BuildRepository.save`` call in here, so every writer keeps the
rollups exact without knowing about them:

- a new run: its rollups (``compute_daily_test_rollup_table`` over the run's columns, numpy)
  are folded into the stored rows by SQL arithmetic (``store.health_upsert``): one
  executemany upsert per run, nothing read back;
- a new build: its ``DailyJobRollup`` is added (counts add in SQL, ON CONFLICT DO UPDATE);
- a replaced build or run (same uuid / content hash): the old job rollup is subtracted, and
  the test rollup keys the old runs touched are rebuilt from the raw rows left
  (``compute_affected_rollup_keys`` semantics; rollups are not invertible for flips/min/max).

On PostgreSQL concurrent writers of the same (job, branch, pipeline) are serialised by a
transaction-scoped advisory lock, so a rebuild (delete, recompute from raw rows, write)
never interleaves with another writer's upsert of the same rows.
Triage verdicts enter through :meth:`HealthRepository.verdict_kinds`; after verdicts change,
``refresh_builds`` (or ``gatewatch health rebuild``) recomputes what they touch.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from gatewatch.analyse.health import compute_daily_job_rollups, compute_daily_test_rollups
from gatewatch.analyse.health.rollups import compute_daily_test_rollup_table
from gatewatch.domain.results import TestResult
from gatewatch.store import schema as t
from gatewatch.store.health_queries import HealthQueries, midnight, pk_in
from gatewatch.store.health_rows import (
    JOB_KEY,
    JOB_VALUES,
    NO_DAY,
    ObsRow,
    StoredKey,
    code_name,
    compute_row_columns,
    job_rollup_row,
    stored_key,
)
from gatewatch.store.health_upsert import rollup_rows, run_columns, write_rollup_rows

# Triage's verdict kinds as health names them; other kinds are not excluded from failure counts.
_VERDICT_KINDS = {"infra": "infra", "known-bug": "known"}
_VERDICT_BATCH = 500
REBUILD_TESTS_PER_CHUNK = 500
Slice = tuple[str, str, str]


_JOB_UPSERTS: dict[str, Any] = {}


def _job_upsert(conn: Connection) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE adding counts (so subtracting a build is an upsert too)."""
    cached = _JOB_UPSERTS.get(conn.dialect.name)
    if cached is None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.daily_job_rollup)
        values = {n: t.daily_job_rollup.c[n] + statement.excluded[n] for n in (*JOB_VALUES, "duration_sum_s")}
        cached = _JOB_UPSERTS[conn.dialect.name] = statement.on_conflict_do_update(
            index_elements=list(JOB_KEY), set_=values
        )
    return cached


def _days_clause(days: Sequence[date]) -> ColumnElement[bool]:
    """Attempts whose timestamp falls in [first timed day, last day] (or none, for NO_DAY)."""
    ts = t.test_result.c.timestamp
    timed = [d for d in days if d != NO_DAY]
    clauses = []
    if timed:
        clauses.append(and_(ts >= midnight(timed[0]), ts < midnight(timed[-1] + timedelta(days=1))))
    if NO_DAY in days:
        clauses.append(ts.is_(None))
    return or_(*clauses)


class HealthRepository(HealthQueries):
    """Rollup upkeep (ingest hooks, rebuild) and the health queries (``HealthQueries``)."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self._locked: set[Slice] = set()

    # --- the seam to triage ---------------------------------------------------------------
    def verdict_kinds(self, build_uuids: Iterable[str]) -> dict[str, str]:
        """Triage's verdict kind (``infra``/``known``) of each build that has one.

        Read from ``triage_verdict``; builds triaged as unknown (or not yet triaged) are
        absent, so their failures count as real.
        """
        uuids = sorted(set(build_uuids))
        if not uuids:
            return {}
        b, v = t.build.c, t.triage_verdict.c
        found: dict[str, str] = {}
        for start in range(0, len(uuids), _VERDICT_BATCH):
            query = (
                select(b.uuid, v.kind)
                .select_from(t.triage_verdict.join(t.build, b.id == v.build_id))
                .where(b.uuid.in_(uuids[start : start + _VERDICT_BATCH]), v.kind.in_(list(_VERDICT_KINDS)))
            )
            found.update((uuid, _VERDICT_KINDS[kind]) for uuid, kind in self._conn.execute(query))
        return found

    # --- ingest hooks ---------------------------------------------------------------------
    def _build_context(self, build_pk: int | None) -> tuple[str, Slice, int | None, int | None, str]:
        if build_pk is None:
            return "", ("", "", ""), None, None, ""
        b = t.build.c
        query = (
            select(b.uuid, b.job_name, b.branch, t.pipeline.c.name, b.change_number, b.patchset_number)
            .add_columns(b.commit_sha)
            .outerjoin_from(t.build, t.pipeline, t.pipeline.c.id == b.pipeline_id)
            .where(b.id == build_pk)
        )
        row = self._conn.execute(query).one()
        return row[0], (row[1], row[2], row[3] or ""), row[4], row[5], row[6]

    def _lock(self, slice_: Slice) -> None:
        """Serialise read-merge-write of one slice across PostgreSQL writers (SQLite: BEGIN IMMEDIATE)."""
        if self._conn.dialect.name != "postgresql" or slice_ in self._locked:
            return
        key = zlib.crc32("\0".join(slice_).encode("utf-8", "surrogatepass"))
        self._conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (0x6877, key - (1 << 31)))
        self._locked.add(slice_)

    def add_run(
        self,
        *,
        run_pk: int,
        build_pk: int | None,
        results: Sequence[TestResult],
        test_pks: Sequence[int],
        fallback: datetime | None,
        skip: frozenset[StoredKey] = frozenset(),
    ) -> None:
        """Fold one saved run's results into the daily test rollups (keys in ``skip`` are left out)."""
        if not results:
            return
        uuid, slice_, change, patchset, sha = self._build_context(build_pk)
        cols = run_columns(
            results=results,
            test_pks=test_pks,
            fallback=fallback,
            context=(uuid, slice_, code_name(change, patchset, sha, run_pk)),
            verdict=self.verdict_kinds([uuid]).get(uuid, "") if uuid else "",
        )
        rows = rollup_rows(
            compute_daily_test_rollup_table(cols), cols, dialect=self._conn.dialect.name, leave_out=skip
        )
        self._lock(slice_)
        write_rollup_rows(self._conn, rows)

    def _write_rollups(self, obs: list[ObsRow], *, only: frozenset[StoredKey] | None = None) -> int:
        """Write the rollups of raw observations (keys already deleted); returns the rows written."""
        cols = compute_row_columns(obs, self.verdict_kinds({o.build_uuid for o in obs}))
        rows = rollup_rows(
            compute_daily_test_rollup_table(cols), cols, dialect=self._conn.dialect.name, only=only
        )
        write_rollup_rows(self._conn, rows)
        return len(rows)

    def affected_keys(self, run_ids: Sequence[int]) -> frozenset[StoredKey]:
        """The rollup keys the stored results of ``run_ids`` count in (before they are deleted)."""
        if not run_ids:
            return frozenset()
        rows = self._conn.execute(self.raw_query().where(t.test_result.c.run_id.in_(run_ids)))
        obs = [ObsRow(*row) for row in rows]
        return frozenset(stored_key(r) for r in compute_daily_test_rollups(compute_row_columns(obs, {})))

    def rebuild_keys(self, keys: Iterable[StoredKey]) -> None:
        """Recompute the given rollup rows from the raw results stored now."""
        by_slice: dict[Slice, set[StoredKey]] = {}
        for key in keys:
            by_slice.setdefault(key[2:], set()).add(key)
        for slice_, wanted in by_slice.items():
            self._lock(slice_)
            self._rebuild_slice(slice_, wanted)

    def _rebuild_slice(self, slice_: Slice, wanted: set[StoredKey]) -> None:
        c = t.daily_test_rollup.c
        pks = sorted({k[1] for k in wanted})
        for day in {k[0] for k in wanted}:
            where = and_(
                c.day == day, c.job_name == slice_[0], c.branch == slice_[1], c.pipeline == slice_[2]
            )
            self._conn.execute(delete(t.daily_test_rollup).where(where, pk_in(self._conn, c.test_pk, pks)))
        query = self.raw_query(slice_=slice_).where(pk_in(self._conn, t.test_result.c.test_pk, pks))
        query = query.where(_days_clause(sorted({k[0] for k in wanted})))
        self._write_rollups([ObsRow(*row) for row in self._conn.execute(query)], only=frozenset(wanted))

    def add_build(self, build_pk: int, *, sign: int = 1) -> None:
        """Add (``sign=1``) or subtract (``-1``, before a replacement) one build's job rollup."""
        obs = self.job_observations(where=t.build.c.id == build_pk)
        if not obs:
            return
        self._lock((obs[0].job_name, obs[0].branch, obs[0].pipeline))
        self._add_job_rollups(compute_daily_job_rollups(obs), sign=sign)

    def _add_job_rollups(self, rollups: Iterable[Any], *, sign: int) -> None:
        rows = [job_rollup_row(r, sign=sign) for r in rollups]
        if not rows:
            return
        self._conn.execute(_job_upsert(self._conn), rows)

    def refresh_builds(self, build_uuids: Sequence[str]) -> None:
        """Recompute everything the given builds count in (after their triage verdict changed)."""
        b = t.build.c
        pks = list(self._conn.execute(select(b.id).where(b.uuid.in_(list(build_uuids)))).scalars())
        for pk in pks:
            run_ids = list(self._conn.execute(select(t.run.c.id).where(t.run.c.build_id == pk)).scalars())
            self.rebuild_keys(self.affected_keys(run_ids))
        self._rebuild_jobs()

    # --- full rebuild ---------------------------------------------------------------------
    def rebuild_all(self, *, on_progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """Recompute every rollup from raw rows; returns (test rollups, job rollups) written."""
        self._conn.execute(delete(t.daily_test_rollup))
        test_pks = list(self._conn.execute(select(t.test.c.id).order_by(t.test.c.id)).scalars())
        written = 0
        for start in range(0, len(test_pks), REBUILD_TESTS_PER_CHUNK):
            chunk = test_pks[start : start + REBUILD_TESTS_PER_CHUNK]
            tr = t.test_result.c
            query = self.raw_query().where(tr.test_pk >= chunk[0], tr.test_pk <= chunk[-1]).order_by(tr.id)
            written += self._write_rollups([ObsRow(*row) for row in self._conn.execute(query)])
            if on_progress is not None:
                on_progress(min(start + len(chunk), len(test_pks)), len(test_pks))
        return written, self._rebuild_jobs()

    def _rebuild_jobs(self) -> int:
        self._conn.execute(delete(t.daily_job_rollup))
        rollups = compute_daily_job_rollups(self.job_observations())
        self._add_job_rollups(rollups, sign=1)
        return len(rollups)
