"""Runs (one test-suite execution) and their test results, saved in bulk.

Saving a run of 20,000 results costs a handful of statements, not 20,000:
text is checked for NUL/surrogates with one regex scan per result, test ids
are resolved with ``SELECT ... WHERE test_key IN (...)`` in chunks, the
missing ones inserted in bulk with ``ON CONFLICT DO NOTHING`` (safe against a
concurrent writer adding the same test), and the results go in through
``bulk.executemany_fast`` (driver executemany on SQLite, COPY on PostgreSQL).

A result repeats ``suite``/``classname``/``name`` only when they differ from
its ``test`` row (NULL otherwise), which keeps the hot table narrow.
A run's ``content_hash`` is unique: saving a run whose hash is already stored
replaces the stored run (last save wins), so a re-ingest never duplicates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select

from gatewatch.domain.results import Outcome, ResultFormat, Run, TestResult
from gatewatch.store import schema as t
from gatewatch.store.builds import insert_returning_id
from gatewatch.store.bulk import executemany_fast
from gatewatch.store.convert import (
    UNSTORABLE,
    chunks,
    clean_text,
    dump_pairs,
    dump_strings,
    load_pairs,
    load_strings,
)
from gatewatch.store.health import HealthRepository
from gatewatch.store.health_rows import StoredKey

IN_CHUNK = 900  # under SQLite's historical 999 bound-parameter limit
SAVE_CHUNK = 50_000
"""Results inserted, and folded into the health rollups, per step: saving a run of a million
tests holds the rows of one step at a time, not of the whole run."""
KEYS_PER_QUERY = 50_000
TEST_COLUMNS = ("test_key", "test_id", "suite", "classname", "name")  # unique key first (lock order)


# A stored test as the driver returns it: (test_key, id, suite, classname, name).
_Test = tuple[str, int, str, str, str]


def test_key(test_id: str) -> str:
    """The indexed identity of a test: sha256 of its (cleaned) id."""
    return hashlib.sha256(test_id.encode("utf-8")).hexdigest()


def clean_results(results: Sequence[TestResult]) -> Sequence[TestResult]:
    """``results`` with every text field storable (one regex scan over all of them, then per result)."""
    texts = "\n".join(
        "".join((r.test_id, r.suite, r.classname, r.name, r.message, r.traceback, r.worker)) for r in results
    )
    if UNSTORABLE.search(texts) is None:
        return results
    cleaned = []
    for r in results:
        joined = "".join((r.test_id, r.suite, r.classname, r.name, r.message, r.traceback, r.worker))
        if UNSTORABLE.search(joined) is None:
            cleaned.append(r)
        else:
            cleaned.append(
                replace(
                    r,
                    test_id=clean_text(r.test_id),
                    suite=clean_text(r.suite),
                    classname=clean_text(r.classname),
                    name=clean_text(r.name),
                    message=clean_text(r.message),
                    traceback=clean_text(r.traceback),
                    worker=clean_text(r.worker),
                )
            )
    return cleaned


def partition_by_test(
    results: Sequence[TestResult], test_pks: Sequence[int], size: int
) -> Iterator[tuple[Sequence[TestResult], Sequence[int]]]:
    """``(results, test_pks)`` in parts of about ``size``, every attempt of a test in the same part.

    A run's rollups are per test (each test's attempts form its run), so folding the parts one
    after another gives exactly the rollups of the whole run. Within a part, stream order is kept.
    """
    if len(results) <= size:
        yield results, test_pks
        return
    parts = -(-len(results) // size)
    buckets: list[list[int]] = [[] for _ in range(parts)]
    for index, pk in enumerate(test_pks):
        buckets[pk % parts].append(index)
    for bucket in buckets:
        if bucket:
            yield [results[i] for i in bucket], [test_pks[i] for i in bucket]


def resolve_tests(conn: Connection, results: Sequence[TestResult], keys: Sequence[str]) -> dict[str, _Test]:
    """Test rows by key for cleaned ``results`` (``keys[i]`` is the key of ``results[i]``).

    Missing tests are inserted with ON CONFLICT DO NOTHING (a concurrent writer
    may add the same test between our SELECT and INSERT), then selected; on SQLite,
    whose write transactions are exclusive, they get the next ids directly.
    """
    first: dict[str, TestResult] = {}
    for key, result in zip(keys, results, strict=True):
        first.setdefault(key, result)
    found = _select_tests(conn, list(first))
    missing = [(key, first[key]) for key in first if key not in found]
    if not missing:
        return found
    rows = [(key, r.test_id, r.suite, r.classname, r.name) for key, r in missing]
    if conn.dialect.name == "sqlite":
        # BEGIN IMMEDIATE: no other writer until commit, so the missing tests are still
        # missing and take the next ids; no second SELECT to learn them.
        start = int(conn.execute(select(func.coalesce(func.max(t.test.c.id), 0))).scalar_one()) + 1
        with_ids = [(*row, pk) for pk, row in enumerate(rows, start)]
        executemany_fast(conn, t.test, (*TEST_COLUMNS, "id"), with_ids)
        found.update((row[0], (row[0], row[5], row[2], row[3], row[4])) for row in with_ids)
        return found
    executemany_fast(conn, t.test, TEST_COLUMNS, rows, ignore_conflicts=True)
    found.update(_select_tests(conn, [key for key, _ in missing]))
    return found


def _select_tests(conn: Connection, keys: Sequence[str]) -> dict[str, _Test]:
    """Tests by key, straight from the driver cursor (no Row objects for 20,000 rows).

    The keys travel as ONE parameter (a PostgreSQL array, a JSON list on
    SQLite), so neither side parses or plans thousands of placeholders.
    """
    if conn.dialect.name == "postgresql":
        sql = "SELECT test_key, id, suite, classname, name FROM test WHERE test_key = ANY(%s)"
    else:  # probing the index once per key beats building IN's temporary set (2-6x here)
        sql = (
            "SELECT test.test_key, test.id, test.suite, test.classname, test.name "
            "FROM json_each(?) AS wanted CROSS JOIN test ON test.test_key = wanted.value"
        )
    found: dict[str, _Test] = {}
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for batch in chunks(keys, KEYS_PER_QUERY):
            param = list(batch) if conn.dialect.name == "postgresql" else json.dumps(list(batch))
            cursor.execute(sql, (param,))
            found.update((row[0], row) for row in cursor.fetchall())
    finally:
        cursor.close()
    return found


RESULT_COLUMNS = (
    "run_id",
    "test_pk",
    "attempt",
    "outcome",
    "duration_s",
    "started_at",
    "timestamp",
    "suite",
    "classname",
    "name",
    "message",
    "traceback",
    "worker",
    "properties",
)


def _result_rows(
    results: Sequence[TestResult],
    keys: Sequence[str],
    *,
    run_pk: int,
    tests: dict[str, _Test],
    fallback: datetime | None,
) -> list[tuple[Any, ...]]:
    """Rows for ``RESULT_COLUMNS``; suite/classname/name are NULL when equal to the test row's."""
    rows = []
    for key, r in zip(keys, results, strict=True):
        test = tests[key]
        rows.append(
            (
                run_pk,
                test[1],
                r.attempt,
                r.outcome.value,
                r.duration_s if r.duration_s == r.duration_s else None,  # NaN -> NULL on both engines
                r.started_at,
                r.started_at or fallback,
                None if r.suite == test[2] else r.suite,
                None if r.classname == test[3] else r.classname,
                None if r.name == test[4] else r.name,
                r.message,
                r.traceback,
                r.worker,
                dump_pairs(r.properties) if r.properties else None,
            )
        )
    return rows


class RunRepository:
    """Save and load ``Run`` records with their results."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def save(self, run: Run, *, build_pk: int | None) -> int:
        """Insert ``run`` and all its results (replacing a run with the same hash); returns its pk."""
        health = HealthRepository(self._conn)
        dirty = self._delete_hash(run.content_hash) if run.content_hash else frozenset()
        fallback = run.started_at or self._build_start(build_pk)
        values = {
            "build_id": build_pk,
            "content_hash": run.content_hash or None,
            "format": ResultFormat(run.format).value,
            "source": clean_text(run.source),
            "name": clean_text(run.name),
            "started_at": run.started_at,
            "ended_at": run.ended_at,
            "test_count": len(run.results),
            "failure_count": run.failure_count,
            "properties": dump_pairs(run.properties),
            "warnings": dump_strings(run.warnings),
        }
        run_pk = insert_returning_id(self._conn, t.run, values)
        if run_pk is None:  # a concurrent writer saved the same content hash meanwhile: replace it
            dirty |= self._delete_hash(run.content_hash)
            run_pk = int(self._conn.execute(insert(t.run).values(values).returning(t.run.c.id)).scalar_one())
        if run.results:
            results, test_pks = self._save_results(run.results, run_pk=run_pk, fallback=fallback)
            for part, part_pks in partition_by_test(results, test_pks, SAVE_CHUNK):
                health.add_run(
                    run_pk=run_pk,
                    build_pk=build_pk,
                    results=part,
                    test_pks=part_pks,
                    fallback=fallback,
                    skip=dirty,
                )
        health.rebuild_keys(dirty)  # the keys the replaced run counted in, from the rows stored now
        return run_pk

    def _save_results(
        self, results: Sequence[TestResult], *, run_pk: int, fallback: datetime | None
    ) -> tuple[Sequence[TestResult], list[int]]:
        """Insert the results in stream order, ``SAVE_CHUNK`` at a time; (cleaned results, test pks)."""
        cleaned: list[TestResult] = []
        test_pks: list[int] = []
        for raw in chunks(results, SAVE_CHUNK):
            step = clean_results(raw)
            keys = [test_key(r.test_id) for r in step]
            tests = resolve_tests(self._conn, step, keys)
            rows = _result_rows(step, keys, run_pk=run_pk, tests=tests, fallback=fallback)
            executemany_fast(self._conn, t.test_result, RESULT_COLUMNS, rows)
            del rows
            test_pks.extend(tests[key][1] for key in keys)
            cleaned.extend(step)
        return cleaned, test_pks

    def _delete_hash(self, content_hash: str) -> frozenset[StoredKey]:
        """Delete the runs with ``content_hash``; returns the health rollup keys they counted in."""
        query = select(t.run.c.id).where(t.run.c.content_hash == content_hash).with_for_update()
        old = list(self._conn.execute(query).scalars())
        dirty = HealthRepository(self._conn).affected_keys(old)
        if old:
            self._conn.execute(delete(t.test_result).where(t.test_result.c.run_id.in_(old)))
            self._conn.execute(delete(t.run).where(t.run.c.id.in_(old)))
        return dirty

    def _build_start(self, build_pk: int | None) -> datetime | None:
        if build_pk is None:
            return None
        start: datetime | None = self._conn.execute(
            select(t.build.c.start_time).where(t.build.c.id == build_pk)
        ).scalar()
        return start

    def get(self, run_pk: int) -> Run | None:
        """The run with primary key ``run_pk``, or None."""
        runs = self._load(select(t.run).where(t.run.c.id == run_pk))
        return runs[0] if runs else None

    def get_for_build(self, uuid: str) -> list[Run]:
        """The runs of the build ``uuid``, in the order they were saved."""
        query = (
            select(t.run)
            .join(t.build, t.build.c.id == t.run.c.build_id)
            .where(t.build.c.uuid == clean_text(uuid))
            .order_by(t.run.c.id)
        )
        return self._load(query)

    def _load(self, query: Any) -> list[Run]:
        run_rows = list(self._conn.execute(query))
        results: dict[int, list[TestResult]] = {row.id: [] for row in run_rows}
        for batch in chunks(list(results), IN_CHUNK):
            query = _select_results().where(t.test_result.c.run_id.in_(batch)).order_by(t.test_result.c.id)
            for row in self._conn.execute(query):
                results[row.run_id].append(result_from_row(row))
        return [_run_from_row(row, tuple(results[row.id])) for row in run_rows]


def _select_results() -> Any:
    return select(
        t.test_result,
        t.test.c.test_id,
        t.test.c.suite.label("test_suite"),
        t.test.c.classname.label("test_classname"),
        t.test.c.name.label("test_name"),
    ).join(t.test, t.test.c.id == t.test_result.c.test_pk)


def result_from_row(row: Row[Any]) -> TestResult:
    m = row._mapping
    return TestResult(
        test_id=m["test_id"],
        suite=m["test_suite"] if m["suite"] is None else m["suite"],
        classname=m["test_classname"] if m["classname"] is None else m["classname"],
        name=m["test_name"] if m["name"] is None else m["name"],
        outcome=Outcome(m["outcome"]),
        attempt=m["attempt"],
        duration_s=m["duration_s"],
        started_at=m["started_at"],
        message=m["message"],
        traceback=m["traceback"],
        worker=m["worker"],
        properties=load_pairs(m["properties"]),
    )


def _run_from_row(row: Row[Any], results: tuple[TestResult, ...]) -> Run:
    m = row._mapping
    return Run(
        format=ResultFormat(m["format"]),
        source=m["source"],
        content_hash=m["content_hash"] or "",
        results=results,
        name=m["name"],
        started_at=m["started_at"],
        ended_at=m["ended_at"],
        properties=load_pairs(m["properties"]),
        warnings=load_strings(m["warnings"]),
    )


HistoryRow = tuple[TestResult, str | None, int]  # (result, build uuid or None, run pk)


class TestRepository:
    """Test results across runs (what health and triage read)."""

    __test__ = False  # not a pytest test class

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def pks(self, test_ids: Sequence[str]) -> dict[str, int]:
        """The primary keys of the stored tests among ``test_ids`` (one query, unknown ids left out)."""
        by_key = {test_key(clean_text(tid)): tid for tid in test_ids}
        return {by_key[key]: row[1] for key, row in _select_tests(self._conn, list(by_key)).items()}

    def history(
        self, test_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[HistoryRow]:
        """Every attempt of ``test_id`` as (result, build uuid or None, run pk), oldest first.

        The window is ``since <= timestamp < until`` on the attempt's start (else
        its run's, else its build's); attempts without any time are left out
        when a window is given. Served by the (test, timestamp) index.
        """
        pk = self._conn.execute(
            select(t.test.c.id).where(t.test.c.test_key == test_key(clean_text(test_id)))
        ).scalar()
        if pk is None:
            return []
        query = _select_history(since, until).where(t.test_result.c.test_pk == pk)
        return self._rows(query)

    def results(
        self,
        *,
        job_name: str | None = None,
        project: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[HistoryRow]:
        """Attempts of every test in a window, optionally of one job and/or project, oldest first.

        The same rows and window rule as ``history``; for roll-ups over many
        tests (pass rates per job, flaky-test lists).
        """
        query = _select_history(since, until)
        if job_name is not None:
            query = query.where(t.build.c.job_name == job_name)
        if project is not None:
            project_ids = select(t.project.c.id).where(t.project.c.name == project)
            query = query.where(t.build.c.project_id.in_(project_ids))
        return self._rows(query.limit(limit))

    def _rows(self, query: Any) -> list[HistoryRow]:
        return [(result_from_row(row), row.build_uuid, row.run_id) for row in self._conn.execute(query)]


def _select_history(since: datetime | None, until: datetime | None) -> Any:
    tr = t.test_result
    query = (
        _select_results()
        .add_columns(t.build.c.uuid.label("build_uuid"))
        .join(t.run, t.run.c.id == tr.c.run_id)
        .outerjoin(t.build, t.build.c.id == t.run.c.build_id)
    )
    if since is not None:
        query = query.where(tr.c.timestamp >= since)
    if until is not None:
        query = query.where(tr.c.timestamp < until)
    return query.order_by(tr.c.timestamp.asc().nulls_first(), tr.c.id)
