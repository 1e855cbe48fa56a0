"""Health rollups: daily test and job aggregates kept up to date in the ingest transaction.

``RunRepository.save`` and ``BuildRepository.save`` call in here, so every writer keeps the
rollups exact without knowing about them:

- a new run: its rollups (``compute_daily_test_rollups`` over the run's columns, numpy) are
  read-merged-written with the stored rows of the same keys (``merge_rollup_pair``): one
  SELECT and one executemany upsert per run;
- a new build: its ``DailyJobRollup`` is added (counts add in SQL, ON CONFLICT DO UPDATE);
- a replaced build or run (same uuid / content hash): the old job rollup is subtracted, and
  the test rollup keys the old runs touched are rebuilt from the raw rows left
  (``compute_affected_rollup_keys`` semantics; rollups are not invertible for flips/min/max).

On PostgreSQL concurrent writers of the same (job, branch, pipeline) are serialised by a
transaction-scoped advisory lock, so read-merge-write never loses an update.
Triage verdicts enter through :meth:`HealthRepository.verdict_kinds`; after verdicts change,
``refresh_builds`` (or ``gatewatch health rebuild``) recomputes what they touch.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Dialect, Table, and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from gatewatch.analyse.health import compute_daily_job_rollups, compute_daily_test_rollups
from gatewatch.analyse.health.rollups import merge_rollup_pair
from gatewatch.domain.health import DailyTestRollup
from gatewatch.domain.results import TestResult
from gatewatch.store import schema as t
from gatewatch.store.health_queries import HealthQueries, midnight, pk_in
from gatewatch.store.health_rows import (
    JOB_KEY,
    JOB_VALUES,
    NO_DAY,
    TEST_KEY,
    TEST_VALUES,
    ObsRow,
    StoredKey,
    compute_row_columns,
    daily_test_rollup_from_row,
    daily_test_rollup_row,
    job_rollup_row,
    stored_key,
)

# Triage's verdict kinds as health names them; other kinds are not excluded from failure counts.
_VERDICT_KINDS = {"infra": "infra", "known-bug": "known"}
_VERDICT_BATCH = 500
REBUILD_TESTS_PER_CHUNK = 500
Slice = tuple[str, str, str]


_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert(conn: Connection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE for a rollup table, built once per dialect.

    Test rollups are read-merged-written (the new row replaces the stored one); job rollups
    add in SQL (``builds = builds + excluded.builds``), so subtracting a build is an upsert too.
    """
    cached = _UPSERTS.get((conn.dialect.name, table.name))
    if cached is not None:
        return cached
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    ex = statement.excluded
    if table is t.daily_test_rollup:
        upsert = statement.on_conflict_do_update(
            index_elements=list(TEST_KEY), set_={n: ex[n] for n in TEST_VALUES}
        )
    else:
        values = {n: table.c[n] + ex[n] for n in (*JOB_VALUES, "duration_sum_s")}
        upsert = statement.on_conflict_do_update(index_elements=list(JOB_KEY), set_=values)
    _UPSERTS[(conn.dialect.name, table.name)] = upsert
    return upsert


def _processed(
    table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]], dialect: Dialect
) -> list[Any]:
    """``rows`` with each column's bind processor applied, column by column (as store.bulk does)."""
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    by_column = list(zip(*rows, strict=True))
    for index, processor in enumerate(processors):
        if processor is not None:
            by_column[index] = tuple(map(processor, by_column[index]))
    return list(zip(*by_column, strict=True))


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
        rows = [
            ObsRow(
                pk,
                run_pk,
                r.outcome.value,
                r.started_at or fallback,
                r.duration_s,
                uuid,
                *slice_,
                change,
                patchset,
                sha,
            )
            for pk, r in zip(test_pks, results, strict=True)
        ]
        rollups = compute_daily_test_rollups(compute_row_columns(rows, self.verdict_kinds([uuid])))
        if skip:
            rollups = tuple(r for r in rollups if stored_key(r) not in skip)
        self._lock(slice_)
        stored = self._stored(slice_, {r.day or NO_DAY for r in rollups}, [int(r.test_id) for r in rollups])
        merged = [merge_rollup_pair(old, r) if (old := stored.get(stored_key(r))) else r for r in rollups]
        self._write_test_rollups(merged)

    def _stored(
        self, slice_: Slice, days: set[date], test_pks: Sequence[int]
    ) -> dict[StoredKey, DailyTestRollup]:
        c = t.daily_test_rollup.c
        query = select(t.daily_test_rollup).where(
            c.job_name == slice_[0], c.branch == slice_[1], c.pipeline == slice_[2], c.day.in_(sorted(days))
        )
        query = query.where(pk_in(self._conn, c.test_pk, test_pks))
        found = {}
        for row in self._conn.execute(query):
            r = daily_test_rollup_from_row(row._mapping, str(row.test_pk))
            found[stored_key(r)] = r
        return found

    def _write_test_rollups(self, rollups: Sequence[DailyTestRollup]) -> None:
        if not rollups:
            return
        rows = [daily_test_rollup_row(r) for r in rollups]
        if self._conn.dialect.name != "sqlite":
            self._conn.execute(_upsert(self._conn, t.daily_test_rollup), rows)
            return
        # SQLite: the driver's executemany on tuples (SQLAlchemy's per-row dict processing
        # costs more than the upsert itself), with the columns' bind processors applied.
        columns = (*TEST_KEY, *TEST_VALUES)
        names = ", ".join(columns)
        sql = (
            f"INSERT INTO daily_test_rollup ({names}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(TEST_KEY)}) DO UPDATE SET "
            + ", ".join(f"{n} = excluded.{n}" for n in TEST_VALUES)
        )
        tuples = [tuple(row[c] for c in columns) for row in rows]
        self._conn.exec_driver_sql(sql, _processed(t.daily_test_rollup, columns, tuples, self._conn.dialect))

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
        obs = [ObsRow(*row) for row in self._conn.execute(query)]
        verdicts = self.verdict_kinds({o.build_uuid for o in obs})
        rollups = compute_daily_test_rollups(compute_row_columns(obs, verdicts))
        self._write_test_rollups([r for r in rollups if stored_key(r) in wanted])

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
        self._conn.execute(_upsert(self._conn, t.daily_job_rollup), rows)

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
            obs = [ObsRow(*row) for row in self._conn.execute(query)]
            verdicts = self.verdict_kinds({o.build_uuid for o in obs})
            rollups = compute_daily_test_rollups(compute_row_columns(obs, verdicts))
            self._write_test_rollups(rollups)
            written += len(rollups)
            if on_progress is not None:
                on_progress(min(start + len(chunk), len(test_pks)), len(test_pks))
        return written, self._rebuild_jobs()

    def _rebuild_jobs(self) -> int:
        self._conn.execute(delete(t.daily_job_rollup))
        rollups = compute_daily_job_rollups(self.job_observations())
        self._add_job_rollups(rollups, sign=1)
        return len(rollups)
