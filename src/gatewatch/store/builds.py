"""Builds and their dimensions (project, pipeline, change, patchset, buildset).

A build's identity is its ``uuid``: saving a build that exists updates its row
in place (same primary key) and first deletes everything hanging off it (runs
with their results, log files, benchmark samples), so re-ingesting a build
whose results changed replaces them instead of adding to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gatewatch.domain.builds import Build, BuildResult
from gatewatch.store import schema as t
from gatewatch.store.convert import clean_text, dump_pairs, load_pairs
from gatewatch.store.health import HealthRepository


def insert_ignoring_conflicts(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (concurrent writers may race to add a row)."""
    if not rows:
        return
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


def insert_returning_id(conn: Connection, table: Table, values: dict[str, Any]) -> int | None:
    """Insert one row and return its id, or None if it hit a unique constraint (ON CONFLICT DO NOTHING).

    On PostgreSQL the INSERT waits for a concurrent transaction holding the same
    key, so after None a SELECT sees that transaction's committed row.
    """
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(table).values(values).on_conflict_do_nothing().returning(table.c.id)
    pk = conn.execute(statement).scalar()
    return None if pk is None else int(pk)


class Dimensions:
    """Get-or-create for the small lookup tables, cached for one transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._cache: dict[tuple[str, tuple[Any, ...]], int] = {}

    def _get_or_create(self, table: Table, keys: dict[str, Any], extra: dict[str, Any] | None = None) -> int:
        cache_key = (table.name, tuple(sorted(keys.items())))
        if (pk := self._cache.get(cache_key)) is not None:
            return pk
        where = [table.c[k] == v for k, v in keys.items()]
        pk = self._conn.execute(select(table.c.id).where(*where)).scalar()
        if pk is None:
            insert_ignoring_conflicts(self._conn, table, [{**keys, **(extra or {})}])
            pk = self._conn.execute(select(table.c.id).where(*where)).scalar_one()
        self._cache[cache_key] = pk
        return int(pk)

    def project(self, name: str) -> int:
        return self._get_or_create(t.project, {"name": clean_text(name)})

    def pipeline(self, name: str) -> int | None:
        return self._get_or_create(t.pipeline, {"name": clean_text(name)}) if name else None

    def change_and_patchset(self, build: Build, project_id: int) -> tuple[int | None, int | None]:
        if build.change is None:
            return None, None
        change_id = self._get_or_create(t.change, {"project_id": project_id, "number": build.change})
        if build.patchset is None:
            return change_id, None
        extra = {"commit_sha": clean_text(build.commit_sha)}
        return change_id, self._get_or_create(
            t.patchset, {"change_id": change_id, "number": build.patchset}, extra
        )

    def buildset(self, build: Build, ids: dict[str, int | None]) -> int | None:
        if not build.buildset_uuid:
            return None
        extra = {
            "event_id": clean_text(build.event_id),
            "pipeline_id": ids["pipeline_id"],
            "project_id": ids["project_id"],
            "change_id": ids["change_id"],
            "patchset_id": ids["patchset_id"],
            "ref": clean_text(build.ref),
        }
        return self._get_or_create(t.buildset, {"uuid": clean_text(build.buildset_uuid)}, extra)


def delete_build_children(conn: Connection, build_pk: int) -> None:
    """Delete the runs (and their results), logs and samples of one build."""
    run_ids = select(t.run.c.id).where(t.run.c.build_id == build_pk)
    conn.execute(delete(t.test_result).where(t.test_result.c.run_id.in_(run_ids)))
    conn.execute(delete(t.run).where(t.run.c.build_id == build_pk))
    conn.execute(delete(t.log_file).where(t.log_file.c.build_id == build_pk))
    conn.execute(delete(t.benchmark_sample).where(t.benchmark_sample.c.build_id == build_pk))


def build_pk_of(conn: Connection, uuid: str, *, lock: bool = False) -> int | None:
    """The build's primary key; ``lock`` holds its row until commit (PostgreSQL ``FOR UPDATE``).

    The lock serialises concurrent re-saves of one build, so one transaction's
    delete of the old children never races another's insert of new ones.
    (SQLite needs no row lock: ``BEGIN IMMEDIATE`` serialises all writers.)
    """
    query = select(t.build.c.id).where(t.build.c.uuid == clean_text(uuid))
    pk = conn.execute(query.with_for_update() if lock else query).scalar()
    return None if pk is None else int(pk)


class BuildRepository:
    """Save and load ``Build`` records."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dims = Dimensions(conn)

    def save(self, build: Build, *, content_hash: str = "") -> int:
        """Insert or replace the build with ``build.uuid``; returns its primary key."""
        values = self._row(build, content_hash)
        pk = build_pk_of(self._conn, build.uuid, lock=True)
        health = HealthRepository(self._conn)
        if pk is None:
            pk = insert_returning_id(self._conn, t.build, values)
            if pk is not None:
                health.add_build(pk)
                return pk
            # A concurrent writer inserted the same uuid and committed: replace its build.
            pk = build_pk_of(self._conn, build.uuid, lock=True)
            assert pk is not None
        run_ids = list(self._conn.execute(select(t.run.c.id).where(t.run.c.build_id == pk)).scalars())
        dirty = health.affected_keys(run_ids)
        health.add_build(pk, sign=-1)
        delete_build_children(self._conn, pk)
        self._conn.execute(update(t.build).where(t.build.c.id == pk).values(values))
        health.add_build(pk)
        health.rebuild_keys(dirty)
        return pk

    def _row(self, build: Build, content_hash: str) -> dict[str, Any]:
        ids: dict[str, int | None] = {"project_id": self._dims.project(build.project)}
        ids["pipeline_id"] = self._dims.pipeline(build.pipeline)
        ids["change_id"], ids["patchset_id"] = self._dims.change_and_patchset(build, ids["project_id"] or 0)
        buildset_id = self._dims.buildset(build, ids)
        return {
            "uuid": clean_text(build.uuid),
            "buildset_id": buildset_id,
            "project_id": ids["project_id"],
            "job_name": clean_text(build.job_name),
            "pipeline_id": ids["pipeline_id"],
            "branch": clean_text(build.branch),
            "change_number": build.change,
            "patchset_number": build.patchset,
            "patchset_id": ids["patchset_id"],
            "ref": clean_text(build.ref),
            "commit_sha": clean_text(build.commit_sha),
            "result": build.result.value,
            "voting": build.voting,
            "node_label": clean_text(build.node_label),
            "start_time": build.start_time,
            "end_time": build.end_time,
            "duration_s": build.duration_s,
            "attempt": build.attempt,
            "log_url": clean_text(build.log_url),
            "event_id": clean_text(build.event_id),
            "content_hash": content_hash,
            "properties": dump_pairs(build.properties),
        }

    def get(self, uuid: str) -> Build | None:
        """The build with ``uuid``, or None."""
        row = self._conn.execute(_select_builds().where(t.build.c.uuid == clean_text(uuid))).first()
        return None if row is None else build_from_row(row)

    def list(
        self,
        *,
        job_name: str | None = None,
        project: str | None = None,
        result: BuildResult | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        change: int | None = None,
        patchset: int | None = None,
        limit: int | None = None,
    ) -> list[Build]:
        """Builds matching every given filter, oldest first (``since`` <= start_time < ``until``)."""
        query = _select_builds()
        if change is not None:
            query = query.where(t.build.c.change_number == change)
        if patchset is not None:
            query = query.where(t.build.c.patchset_number == patchset)
        if job_name is not None:
            query = query.where(t.build.c.job_name == job_name)
        if project is not None:
            query = query.where(t.project.c.name == project)
        if result is not None:
            query = query.where(t.build.c.result == BuildResult(result).value)
        if since is not None:
            query = query.where(t.build.c.start_time >= since)
        if until is not None:
            query = query.where(t.build.c.start_time < until)
        query = query.order_by(t.build.c.start_time.asc().nulls_first(), t.build.c.id).limit(limit)
        return [build_from_row(row) for row in self._conn.execute(query)]


def _select_builds() -> Select[Any]:
    return (
        select(
            t.build,
            t.project.c.name.label("project_name"),
            t.pipeline.c.name.label("pipeline_name"),
            t.buildset.c.uuid.label("buildset_uuid"),
        )
        .join(t.project, t.project.c.id == t.build.c.project_id)
        .outerjoin(t.pipeline, t.pipeline.c.id == t.build.c.pipeline_id)
        .outerjoin(t.buildset, t.buildset.c.id == t.build.c.buildset_id)
    )


def build_from_row(row: Row[Any]) -> Build:
    m = row._mapping
    return Build(
        uuid=m["uuid"],
        project=m["project_name"],
        job_name=m["job_name"],
        result=BuildResult(m["result"]),
        voting=bool(m["voting"]),
        pipeline=m["pipeline_name"] or "",
        branch=m["branch"],
        change=m["change_number"],
        patchset=m["patchset_number"],
        ref=m["ref"],
        commit_sha=m["commit_sha"],
        buildset_uuid=m["buildset_uuid"] or "",
        event_id=m["event_id"],
        node_label=m["node_label"],
        start_time=m["start_time"],
        end_time=m["end_time"],
        attempt=m["attempt"],
        log_url=m["log_url"],
        properties=load_pairs(m["properties"]),
    )
