"""Raw test results of a few tests as observation columns, read in two narrow queries.

What the flaky list and one test's report need from raw rows (runs grouped by code, the run
sequence) is read as:

1. the attempts: ``test_result`` rows of the given tests in the window (its index on
   (test_pk, timestamp) finds them), timestamps as the stored text, not parsed per row by
   the ORM;
2. the context of each distinct run once (build, job, branch, pipeline, change, patchset,
   commit, triage verdict), instead of joining four tables on every attempt: the runs of the
   flagged tests are shared (each build runs all of them).

Rows are then filtered by (job, test) pairs and turned into ``ObservationColumns`` with the
same vocabularies, in the same first-appearance order, as ``health_rows.compute_row_columns``
over ``HealthQueries.raw_query`` rows ordered by ``test_result.id``: the tests compare both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, String, func, select, type_coerce

from gatewatch.analyse.health import ObservationColumns, compute_columns
from gatewatch.domain.health import BuildVerdict
from gatewatch.store import schema as t
from gatewatch.store.health_rows import OUTCOME_BY_VALUE

VERDICT_KINDS = {"infra": BuildVerdict.INFRA.value, "known-bug": BuildVerdict.KNOWN.value}
CHUNK_ROWS = 512
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class RawSelection:
    """The window and the branch/pipeline filters of a raw read."""

    since: datetime | None = None
    until: datetime | None = None
    branch: str | None = None
    pipeline: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Attempts:
    """Stored attempts as arrays, sorted by ``test_result.id`` (ingest order)."""

    test_pk: IntArray
    run_id: IntArray
    outcome: npt.NDArray[np.int8]
    time_s: FloatArray
    duration_s: FloatArray

    @property
    def size(self) -> int:
        return int(self.test_pk.size)

    def take(self, rows: IntArray) -> Attempts:
        return Attempts(
            test_pk=self.test_pk[rows],
            run_id=self.run_id[rows],
            outcome=self.outcome[rows],
            time_s=self.time_s[rows],
            duration_s=self.duration_s[rows],
        )


def stored_time(conn: Connection, column: Any) -> Any:
    """``column`` as stored: the text on SQLite (parsed by :func:`parse_stored_time`, several
    times faster than the ORM's per-row conversion), the datetime elsewhere."""
    return type_coerce(column, String) if conn.dialect.name == "sqlite" else column


def parse_stored_time(value: str | datetime | None) -> datetime | None:
    """What ``UTCDateTime`` returns for a stored value: an aware UTC datetime (or None)."""
    if value is None:
        return None
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def compute_epoch_seconds(stamps: Sequence[Any], *, text: bool) -> FloatArray:
    """Epoch seconds of stored timestamps, NaN for none: what ``UTCDateTime`` then
    ``datetime.timestamp`` give. SQLite text (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC) is parsed by
    numpy (microseconds / 1e6 is exactly ``timestamp()``); PostgreSQL returns datetimes."""
    if text:
        parsed = np.array(stamps, dtype="datetime64[us]")
        seconds: FloatArray = parsed.astype(np.int64) / 1e6
        return np.where(np.isnat(parsed), np.nan, seconds)
    return np.array(
        [math.nan if s is None else (s if s.tzinfo else s.replace(tzinfo=UTC)).timestamp() for s in stamps],
        dtype=np.float64,
    )


def fetch_attempts(conn: Connection, where_pk: Any, selection: RawSelection) -> Attempts:
    """The selected attempts (``where_pk`` on ``test_result.test_pk``) in the window."""
    tr = t.test_result.c
    text = conn.dialect.name == "sqlite"
    stamp = stored_time(conn, tr.timestamp)
    stmt = select(tr.id, tr.test_pk, tr.run_id, tr.outcome, stamp, tr.duration_s).where(where_pk)
    if selection.since is not None:
        stmt = stmt.where(tr.timestamp >= selection.since)
    if selection.until is not None:
        stmt = stmt.where(tr.timestamp < selection.until)
    parts = [_attempt_part(chunk, text=text) for chunk in conn.execute(stmt).partitions(CHUNK_ROWS)]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Attempts(test_pk=empty, run_id=empty, outcome=np.zeros(0, dtype=np.int8), time_s=np.zeros(0),
                        duration_s=np.zeros(0))  # fmt: skip
    ids, pks, runs, outcomes, times, durations = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    order = np.argsort(ids, kind="stable")
    return Attempts(
        test_pk=pks[order],
        run_id=runs[order],
        outcome=outcomes[order],
        time_s=times[order],
        duration_s=durations[order],
    )


def _attempt_part(rows: Sequence[Any], *, text: bool) -> tuple[npt.NDArray[Any], ...]:
    """One chunk of attempt rows as arrays (rows are dropped chunk by chunk: holding ~10^4
    row objects at once would cost a full garbage collection every few queries)."""
    ids, pks, runs, outcomes, stamps, durations = zip(*rows, strict=True)
    return (
        np.array(ids, dtype=np.int64),
        np.array(pks, dtype=np.int64),
        np.array(runs, dtype=np.int64),
        np.array([OUTCOME_BY_VALUE[o] for o in outcomes], dtype=np.int8),
        compute_epoch_seconds(stamps, text=text),
        np.array(durations, dtype=np.float64).reshape(len(rows)),
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RunContexts:
    """Build context of runs, sorted by run id: (job, branch, pipeline), code, build, verdict."""

    run_id: IntArray
    build_uuid: tuple[str, ...]
    slice: tuple[tuple[str, str, str], ...]
    code: tuple[str, ...]
    verdict: tuple[str, ...]

    def positions(self, run_ids: IntArray) -> IntArray:
        """Index of each run in these contexts, -1 for runs without one (filtered out)."""
        pos = np.searchsorted(self.run_id, run_ids)
        pos = np.minimum(pos, max(self.run_id.size - 1, 0))
        found = self.run_id[pos] == run_ids if self.run_id.size else np.zeros(run_ids.size, dtype=np.bool_)
        return np.where(found, pos, -1).astype(np.int64)


def _code_name(change: int | None, patchset: int | None, commit_sha: str, run_id: int) -> str:
    if change is not None and patchset is not None:
        return f"c:{change},{patchset}"
    return f"sha:{commit_sha}" if commit_sha else f"run:{run_id}"


def fetch_run_contexts(
    conn: Connection, where_run: Any, selection: RawSelection, job: str | None = None
) -> RunContexts:
    """Build context of each selected run that passes the branch/pipeline/job filters."""
    r, b, p, v = t.run.c, t.build.c, t.pipeline.c, t.triage_verdict.c
    texts = (func.coalesce(c, "") for c in (b.uuid, b.job_name, b.branch, p.name))
    stmt = (
        select(r.id, *texts, b.change_number, b.patchset_number, func.coalesce(b.commit_sha, ""), v.kind)
        .select_from(t.run)
        .outerjoin(t.build, b.id == r.build_id)
        .outerjoin(t.pipeline, p.id == b.pipeline_id)
        .outerjoin(t.triage_verdict, v.build_id == b.id)
        .where(where_run)
        .order_by(r.id)
    )
    for col, value in ((b.branch, selection.branch), (p.name, selection.pipeline), (b.job_name, job)):
        if value is not None:
            stmt = stmt.where(col == value)
    run_ids: list[int] = []
    uuids: list[str] = []
    slices: list[tuple[str, str, str]] = []
    codes: list[str] = []
    verdicts: list[str] = []
    shared: dict[tuple[str, str, str], tuple[str, str, str]] = {}  # a few distinct slices
    for chunk in conn.execute(stmt).partitions(CHUNK_ROWS):  # see _attempt_part
        for row in chunk:
            run_id, uuid, job_name, branch, pipeline, change, patchset, sha, kind = tuple(row)
            run_ids.append(run_id)
            uuids.append(uuid)
            key = (job_name, branch, pipeline)
            slices.append(shared.setdefault(key, key))
            codes.append(_code_name(change, patchset, sha, run_id))
            verdicts.append(VERDICT_KINDS.get(kind or "", ""))
    return RunContexts(
        run_id=np.array(run_ids, dtype=np.int64),
        build_uuid=tuple(uuids),
        slice=tuple(slices),
        code=tuple(codes),
        verdict=tuple(verdicts),
    )


def compute_first_appearance(values: IntArray) -> tuple[IntArray, IntArray]:
    """(distinct values in order of first appearance, index of each value among them)."""
    uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return uniq[order].astype(np.int64), rank[inverse.reshape(-1)].astype(np.int64)


def _factorise(values: Sequence[Any]) -> tuple[tuple[Any, ...], IntArray]:
    index: dict[Any, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), np.int64, count=len(values))
    return tuple(index), codes


def compute_attempt_columns(
    attempts: Attempts, contexts: RunContexts, test_ids: Mapping[int, str]
) -> ObservationColumns:
    """Columns of ``attempts`` whose run has a context (the others are filtered out)."""
    known = contexts.positions(attempts.run_id) >= 0
    if not known.all():
        attempts = attempts.take(np.flatnonzero(known))
    if attempts.size == 0:
        return compute_columns(())
    tests, test = compute_first_appearance(attempts.test_pk)
    runs, run = compute_first_appearance(attempts.run_id)
    ctx = contexts.positions(runs)
    codes, run_code = _factorise([contexts.code[c] for c in ctx.tolist()])
    builds, run_build = _factorise([contexts.build_uuid[c] for c in ctx.tolist()])
    slices, run_slice = _factorise([contexts.slice[c] for c in ctx.tolist()])
    kinds = np.array([contexts.verdict[c] for c in ctx.tolist()], dtype=object)[run]
    return ObservationColumns(
        test_ids=tuple(test_ids[pk] for pk in tests.tolist()),
        run_keys=tuple(str(r) for r in runs.tolist()),
        codes=codes,
        build_uuids=builds,
        slices=slices,
        test=test,
        run=run,
        code=run_code[run],
        build=run_build[run],
        slice=run_slice[run],
        time_s=attempts.time_s,
        outcome=attempts.outcome,
        infra=np.asarray(kinds == BuildVerdict.INFRA.value, dtype=np.bool_).reshape(attempts.size),
        known=np.asarray(kinds == BuildVerdict.KNOWN.value, dtype=np.bool_).reshape(attempts.size),
        duration_s=attempts.duration_s,
    )


def split_by_job(
    attempts: Attempts, contexts: RunContexts, wanted: Mapping[str, Sequence[int]]
) -> dict[str, Attempts]:
    """The attempts of each job's wanted tests (job -> test pks)."""
    where = contexts.positions(attempts.run_id)
    jobs, job_of_context = _factorise([s[0] for s in contexts.slice])
    job = np.where(where >= 0, job_of_context[np.maximum(where, 0)] if where.size else where, -1)
    out = {}
    for name, pks in wanted.items():
        j = jobs.index(name) if name in jobs else -2
        out[name] = attempts.take(np.flatnonzero((job == j) & np.isin(attempts.test_pk, list(pks))))
    return out
