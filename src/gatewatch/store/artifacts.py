"""Log files of builds (metadata; the text is in the blob store) and benchmark samples."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select

from gatewatch.domain.logs import LogFile
from gatewatch.domain.perf import BenchmarkSample, Direction, SeriesKey
from gatewatch.errors import StoreError
from gatewatch.store import schema as t
from gatewatch.store.convert import clean_text, dump_strings, load_strings


class LogRepository:
    """Which logs a build has; a build's log names are unique (saving a name again replaces it)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def save(self, build_pk: int, log: LogFile) -> None:
        name = clean_text(log.name)
        lf = t.log_file
        self._conn.execute(delete(lf).where(lf.c.build_id == build_pk, lf.c.name == name))
        values = {
            "build_id": build_pk,
            "name": name,
            "tags": dump_strings(log.tags),
            "blob_sha256": log.blob_sha256,
            "size_bytes": log.size_bytes,
            "line_count": log.line_count,
        }
        self._conn.execute(insert(lf).values(values))

    def for_build(self, uuid: str) -> list[LogFile]:
        """The logs of build ``uuid`` in the order they were saved."""
        lf = t.log_file
        query = (
            select(lf)
            .join(t.build, t.build.c.id == lf.c.build_id)
            .where(t.build.c.uuid == clean_text(uuid))
            .order_by(lf.c.id)
        )
        return [
            LogFile(
                name=row.name,
                blob_sha256=row.blob_sha256,
                size_bytes=row.size_bytes,
                line_count=row.line_count,
                tags=load_strings(row.tags),
            )
            for row in self._conn.execute(query)
        ]


class BenchmarkRepository:
    """Benchmark samples, grouped into series by ``SeriesKey``.

    Values must be finite: SQLite turns NaN into NULL and PostgreSQL's JSON
    rejects ``Infinity``, so a non-finite sample raises ``StoreError`` instead
    of being stored differently on each engine.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def save_many(self, samples: Iterable[BenchmarkSample], *, build_pk: int | None = None) -> int:
        """Insert every sample (linked to ``build_pk`` if given); returns how many."""
        rows = [_sample_row(s, build_pk) for s in samples]
        if rows:
            self._conn.execute(insert(t.benchmark_sample), rows)
        return len(rows)

    def series_keys(self) -> list[SeriesKey]:
        """Every series that has at least one sample, sorted."""
        bs = t.benchmark_sample
        cols = (bs.c.project, bs.c.benchmark, bs.c.metric, bs.c.environment)
        query = select(*cols).distinct().order_by(*cols)
        return [
            SeriesKey(project=p, benchmark=b, metric=m, environment=e)
            for p, b, m, e in self._conn.execute(query)
        ]

    def load_series(self, key: SeriesKey) -> list[BenchmarkSample]:
        """The samples of one series, oldest first (undated samples first, in save order)."""
        bs = t.benchmark_sample
        query = (
            select(bs, t.build.c.uuid.label("linked_uuid"))
            .outerjoin(t.build, t.build.c.id == bs.c.build_id)
            .where(
                bs.c.project == clean_text(key.project),
                bs.c.benchmark == clean_text(key.benchmark),
                bs.c.metric == clean_text(key.metric),
                bs.c.environment == clean_text(key.environment),
            )
            .order_by(bs.c.timestamp.asc().nulls_first(), bs.c.id)
        )
        return [_sample_from_row(row) for row in self._conn.execute(query)]


def _sample_row(sample: BenchmarkSample, build_pk: int | None) -> dict[str, Any]:
    if not all(math.isfinite(v) for v in (sample.value, *sample.samples)):
        raise StoreError(
            f"benchmark sample of {sample.key.render()} at {sample.commit_sha or '?'} is not a finite number",
            hint="drop NaN/infinite measurements when parsing; the store keeps only finite values",
        )
    return {
        "project": clean_text(sample.key.project),
        "benchmark": clean_text(sample.key.benchmark),
        "metric": clean_text(sample.key.metric),
        "environment": clean_text(sample.key.environment),
        "unit": clean_text(sample.unit),
        "direction": Direction(sample.direction).value,
        "value": sample.value,
        "samples": list(sample.samples),
        "commit_sha": clean_text(sample.commit_sha),
        "timestamp": sample.timestamp,
        "build_uuid": clean_text(sample.build_uuid),
        "build_id": build_pk,
    }


def _sample_from_row(row: Row[Any]) -> BenchmarkSample:
    m = row._mapping
    return BenchmarkSample(
        key=SeriesKey(
            project=m["project"], benchmark=m["benchmark"], metric=m["metric"], environment=m["environment"]
        ),
        value=m["value"],
        unit=m["unit"],
        direction=Direction(m["direction"]),
        samples=tuple(float(v) for v in m["samples"]),
        commit_sha=m["commit_sha"],
        timestamp=m["timestamp"],
        build_uuid=m["build_uuid"] or m["linked_uuid"] or "",
    )
