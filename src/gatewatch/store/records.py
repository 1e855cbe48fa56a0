"""Idempotency records of ingested units, and row counts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from gatewatch.store import schema as t
from gatewatch.store.builds import insert_ignoring_conflicts
from gatewatch.store.convert import clean_text


class IngestRepository:
    """Which whole units (files, builds, streams) were ingested, by content hash."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def has(self, content_hash: str) -> bool:
        query = select(t.ingest_record.c.content_hash).where(t.ingest_record.c.content_hash == content_hash)
        return self._conn.execute(query).first() is not None

    def record(self, content_hash: str, *, source: str, kind: str) -> None:
        """Remember that ``content_hash`` was ingested (recording it twice keeps the first record)."""
        row = {
            "content_hash": content_hash,
            "source": clean_text(source),
            "kind": clean_text(kind),
            "ingested_at": datetime.now(UTC),
        }
        insert_ignoring_conflicts(self._conn, t.ingest_record, [row])


STAT_TABLES = {
    "projects": t.project,
    "builds": t.build,
    "runs": t.run,
    "tests": t.test,
    "test_results": t.test_result,
    "log_files": t.log_file,
    "samples": t.benchmark_sample,
    "ingests": t.ingest_record,
}


class StatsRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def counts(self) -> dict[str, int]:
        """Row counts: projects, builds, runs, tests, test_results, log_files, samples, ingests."""
        return {
            name: int(self._conn.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in STAT_TABLES.items()
        }
