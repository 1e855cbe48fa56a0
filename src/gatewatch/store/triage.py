"""Triage records: fingerprint versions, log matches and verdicts per build, and the queries behind them.

A fingerprint is stored once per version: its bug id plus the sha256 of its
definition (``content_hash``). The versions last used are marked ``active``; the
hash of the active set (``fingerprint_set``) is written beside every verdict, so
verdicts made with another set are found (and re-scanned) when fingerprints change.

A build's matches and verdict are replaced as a whole each time it is triaged.
Evidence line text is bounded (``MAX_TEXT_CHARS``) before it is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, delete, func, insert, select, update

from gatewatch.domain.builds import Build, BuildResult
from gatewatch.domain.logs import LogFile
from gatewatch.domain.triage import Fingerprint, Match, Verdict, VerdictKind
from gatewatch.query.filters import BuildFilter, FieldConstraint
from gatewatch.store import schema as t
from gatewatch.store.builds import _select_builds, build_from_row, build_pk_of, insert_ignoring_conflicts
from gatewatch.store.convert import chunks, clean_text, load_strings

MAX_TEXT_CHARS = 1000
FAILED_RESULTS = tuple(r.value for r in BuildResult if r.is_failure)


def fingerprint_hash(fp: Fingerprint) -> str:
    """sha256 of a fingerprint's definition (its source path left out: moving a file changes nothing)."""
    data = asdict(fp)
    data.pop("source", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def fingerprint_set_hash(fps: Iterable[Fingerprint]) -> str:
    """sha256 of a whole set: changes when a fingerprint is added, removed or edited."""
    lines = sorted(f"{fp.bug_id}\0{fingerprint_hash(fp)}" for fp in fps)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _definition(fp: Fingerprint) -> dict[str, Any]:
    data = asdict(fp)
    data["test_ids"] = list(fp.test_ids)
    return data


def _fingerprint(data: dict[str, Any]) -> Fingerprint:
    values = dict(data)
    values["test_ids"] = tuple(values.get("test_ids", ()))
    return Fingerprint(**values)


def _match_row(build_pk: int, m: Match) -> dict[str, Any]:
    return {
        "build_id": build_pk,
        "bug_id": clean_text(m.bug_id),
        "file_name": clean_text(m.file_name),
        "line_number": m.line_number,
        "text": clean_text(m.text[:MAX_TEXT_CHARS]),
    }


class TriageRepository:
    """Fingerprints, matches and verdicts; never commits (the unit of work does)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # --- fingerprints ---------------------------------------------------------------------------
    def save_fingerprints(self, fps: Sequence[Fingerprint]) -> str:
        """Store every version not yet stored, make exactly these active; returns the set hash."""
        tf = t.triage_fingerprint
        ids: list[int] = []
        for fp in fps:
            digest = fingerprint_hash(fp)
            where = (tf.c.bug_id == clean_text(fp.bug_id), tf.c.content_hash == digest)
            pk = self._conn.execute(select(tf.c.id).where(*where)).scalar()
            if pk is None:  # another process may be saving the same version: ignore the conflict
                row = {"bug_id": clean_text(fp.bug_id), "content_hash": digest, "definition": _definition(fp)}
                insert_ignoring_conflicts(self._conn, tf, [row])
                pk = self._conn.execute(select(tf.c.id).where(*where)).scalar_one()
            ids.append(int(pk))
        self._conn.execute(update(tf).values(active=False))
        for part in chunks(ids, 500):
            self._conn.execute(update(tf).where(tf.c.id.in_(part)).values(active=True))
        return fingerprint_set_hash(fps)

    def active_fingerprints(self) -> list[Fingerprint]:
        """The set last saved, by bug id."""
        tf = t.triage_fingerprint
        query = select(tf.c.definition).where(tf.c.active.is_(True)).order_by(tf.c.bug_id)
        return [_fingerprint(row.definition) for row in self._conn.execute(query)]

    # --- verdicts and matches -------------------------------------------------------------------
    def save_result(
        self,
        verdict: Verdict,
        matches: Sequence[Match],
        *,
        fingerprint_set: str,
        classified_at: datetime,
    ) -> None:
        """Replace the matches and verdict of ``verdict.build_uuid`` (which must be stored)."""
        build_pk = build_pk_of(self._conn, verdict.build_uuid)
        if build_pk is None:
            raise LookupError(verdict.build_uuid)
        self.clear(build_pk)
        rows = [_match_row(build_pk, m) for m in matches]
        if rows:
            self._conn.execute(insert(t.triage_match), rows)
        evidence = [
            [
                clean_text(m.bug_id),
                clean_text(m.file_name),
                m.line_number,
                clean_text(m.text[:MAX_TEXT_CHARS]),
            ]
            for m in verdict.evidence
        ]
        row = {
            "build_id": build_pk,
            "kind": verdict.kind.value,
            "infra_ids": list(verdict.infra_ids),
            "bug_ids": list(verdict.bug_ids),
            "uncounted_bug_ids": list(verdict.uncounted_bug_ids),
            "evidence": evidence,
            "fingerprint_set": fingerprint_set,
            "classified_at": classified_at,
        }
        self._conn.execute(insert(t.triage_verdict).values(row))

    def clear(self, build_pk: int) -> None:
        self._conn.execute(delete(t.triage_match).where(t.triage_match.c.build_id == build_pk))
        self._conn.execute(delete(t.triage_verdict).where(t.triage_verdict.c.build_id == build_pk))

    def clear_builds(self, uuids: Sequence[str]) -> None:
        """Drop the matches and verdicts of these builds (a build re-ingested as passed has none)."""
        for part in chunks(list(uuids), 500):
            pks = select(t.build.c.id).where(t.build.c.uuid.in_(part))
            self._conn.execute(delete(t.triage_match).where(t.triage_match.c.build_id.in_(pks)))
            self._conn.execute(delete(t.triage_verdict).where(t.triage_verdict.c.build_id.in_(pks)))

    def verdict(self, uuid: str) -> Verdict | None:
        query = self._select_verdicts().where(t.build.c.uuid == clean_text(uuid))
        row = self._conn.execute(query).first()
        return None if row is None else _verdict(row._mapping)

    def verdicts(self, *, since: datetime | None = None, kind: VerdictKind | None = None) -> list[Verdict]:
        """Verdicts of builds that started at or after ``since``, oldest build first."""
        query = self._select_verdicts()
        if since is not None:
            query = query.where(t.build.c.start_time >= since)
        if kind is not None:
            query = query.where(t.triage_verdict.c.kind == kind.value)
        query = query.order_by(t.build.c.start_time.asc().nulls_first(), t.build.c.id)
        return [_verdict(row._mapping) for row in self._conn.execute(query)]

    def matches(self, uuid: str) -> list[Match]:
        tm = t.triage_match
        query = (
            select(tm)
            .join(t.build, t.build.c.id == tm.c.build_id)
            .where(t.build.c.uuid == clean_text(uuid))
            .order_by(tm.c.file_name, tm.c.line_number, tm.c.bug_id)
        )
        return [
            Match(
                bug_id=r.bug_id,
                build_uuid=uuid,
                file_name=r.file_name,
                line_number=r.line_number,
                text=r.text,
            )
            for r in self._conn.execute(query)
        ]

    def verdict_counts(self) -> dict[str, int]:
        tv = t.triage_verdict
        query = select(tv.c.kind, func.count()).group_by(tv.c.kind)
        return {str(kind): int(n) for kind, n in self._conn.execute(query)}

    def match_lines(self, *, since: datetime | None = None) -> dict[str, int]:
        """Matched lines per bug id, over builds that started at or after ``since``."""
        tm = t.triage_match
        query = select(tm.c.bug_id, func.count()).join(t.build, t.build.c.id == tm.c.build_id)
        if since is not None:
            query = query.where(t.build.c.start_time >= since)
        return {str(b): int(n) for b, n in self._conn.execute(query.group_by(tm.c.bug_id))}

    def latest_build_time(self) -> datetime | None:
        """The newest end (else start) time of any stored build."""
        end = self._conn.execute(select(func.max(t.build.c.end_time))).scalar()
        start = self._conn.execute(select(func.max(t.build.c.start_time))).scalar()
        times: list[datetime] = [v for v in (end, start) if v is not None]
        return max(times) if times else None

    @staticmethod
    def _select_verdicts() -> Select[Any]:
        return select(t.triage_verdict, t.build.c.uuid, t.build.c.job_name).join(
            t.build, t.build.c.id == t.triage_verdict.c.build_id
        )

    # --- what to triage -------------------------------------------------------------------------
    def builds_to_triage(self, *, stale_for: str | None = None, limit: int | None = None) -> list[str]:
        """Failed builds without a verdict; with ``stale_for``, also those judged by another set."""
        tv = t.triage_verdict
        query = (
            select(t.build.c.uuid)
            .outerjoin(tv, tv.c.build_id == t.build.c.id)
            .where(t.build.c.result.in_(FAILED_RESULTS))
        )
        missing = tv.c.build_id.is_(None)
        query = query.where(missing if stale_for is None else missing | (tv.c.fingerprint_set != stale_for))
        query = query.order_by(t.build.c.start_time.asc().nulls_first(), t.build.c.id).limit(limit)
        return [str(uuid) for uuid in self._conn.execute(query).scalars()]

    def logs_of(self, uuids: Sequence[str]) -> dict[str, list[LogFile]]:
        """The log files of each build in ``uuids`` (builds without logs map to [])."""
        lf = t.log_file
        found: dict[str, list[LogFile]] = {u: [] for u in uuids}
        for part in chunks(list(uuids), 500):
            query = (
                select(lf, t.build.c.uuid.label("build_uuid"))
                .join(t.build, t.build.c.id == lf.c.build_id)
                .where(t.build.c.uuid.in_(part))
                .order_by(lf.c.id)
            )
            for r in self._conn.execute(query):
                found[r.build_uuid].append(
                    LogFile(
                        name=r.name,
                        blob_sha256=r.blob_sha256,
                        size_bytes=r.size_bytes,
                        line_count=r.line_count,
                        tags=load_strings(r.tags),
                    )
                )
        return found

    def builds(self, uuids: Sequence[str]) -> list[Build]:
        found: list[Build] = []
        for part in chunks(list(uuids), 500):
            found += [
                build_from_row(r)
                for r in self._conn.execute(_select_builds().where(t.build.c.uuid.in_(part)))
            ]
        return found

    def builds_by_prefix(self, prefix: str, *, limit: int) -> list[Build]:
        """Builds whose uuid starts with ``prefix`` (at most ``limit``)."""
        condition = t.build.c.uuid.like(_like(clean_text(prefix)) + "%", escape="\\")
        query = _select_builds().where(condition).order_by(t.build.c.id).limit(limit)
        return [build_from_row(r) for r in self._conn.execute(query)]

    def candidate_builds(
        self, flt: BuildFilter, *, since: datetime | None = None, limit: int | None = None
    ) -> list[Build]:
        """Builds passing ``flt`` (bound-parameter SQL), newest first."""
        query = _select_builds()
        for constraint in flt.constraints:
            condition = constraint_sql(constraint)
            if condition is not None:
                query = query.where(condition)
        if since is not None:
            query = query.where(t.build.c.start_time >= since)
        query = query.order_by(t.build.c.start_time.desc().nulls_last(), t.build.c.id.desc()).limit(limit)
        return [build_from_row(r) for r in self._conn.execute(query)]


def _verdict(m: Any) -> Verdict:
    return Verdict(
        build_uuid=m["uuid"],
        job_name=m["job_name"],
        kind=VerdictKind(m["kind"]),
        infra_ids=load_strings(m["infra_ids"]),
        bug_ids=load_strings(m["bug_ids"]),
        uncounted_bug_ids=load_strings(m["uncounted_bug_ids"]),
        evidence=tuple(
            Match(bug_id=b, build_uuid=m["uuid"], file_name=f, line_number=int(n), text=x)
            for b, f, n, x in m["evidence"]
        ),
    )


_TEXT_COLUMNS: dict[str, Any] = {
    "build_uuid": t.build.c.uuid,
    "build_name": t.build.c.job_name,
    "build_status": t.build.c.result,
    "build_queue": t.pipeline.c.name,
    "project": t.project.c.name,
    "build_branch": t.build.c.branch,
    "build_ref": t.build.c.ref,
    "build_node": t.build.c.node_label,
    "log_url": t.build.c.log_url,
}
_INT_COLUMNS: dict[str, Any] = {
    "build_change": t.build.c.change_number,
    "build_patchset": t.build.c.patchset_number,
}


def _like(glob: str) -> str:
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def constraint_sql(c: FieldConstraint) -> ColumnElement[bool] | None:
    """SQL for one constraint (None: not expressible, so no SQL filter; the matcher still decides)."""
    if c.field in _TEXT_COLUMNS:
        column = _TEXT_COLUMNS[c.field]
        parts: list[ColumnElement[bool]] = []
        if c.values:
            parts.append(column.in_(c.values))
        parts += [column.like(_like(g), escape="\\") for g in c.globs]
        return _any(parts)
    if c.field == "build_short_uuid" and not c.globs:
        return _any([t.build.c.uuid.like(_like(v) + "%", escape="\\") for v in c.values])
    if c.field in _INT_COLUMNS and not c.globs:
        numbers = [int(v) for v in c.values if v.isdigit()]
        condition: ColumnElement[bool] = _INT_COLUMNS[c.field].in_(numbers)
        return condition
    if c.field == "voting" and not c.globs:
        flags = [v == "1" for v in c.values if v in ("0", "1")]
        return t.build.c.voting.in_(flags)
    return None


def _any(parts: list[ColumnElement[bool]]) -> ColumnElement[bool] | None:
    if not parts:
        return None
    condition = parts[0]
    for part in parts[1:]:
        condition = condition | part
    return condition
