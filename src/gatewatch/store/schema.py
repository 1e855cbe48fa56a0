"""The SQL schema, as SQLAlchemy Core tables (portable: SQLite and PostgreSQL).

Core, not the ORM: the hot path (saving a run of 20,000 results) is one
executemany, and repositories map rows to domain dataclasses themselves.

Conventions, chosen so the same migrations run on both engines:

- ids are ``BigInteger`` (``INTEGER`` on SQLite, so they alias the rowid and
  auto-increment);
- timestamps are ``UTCDateTime``: stored as UTC, naive inputs taken as UTC,
  always returned timezone-aware;
- enums are stored as their string values in ``String`` columns (no SQL ENUM),
  so adding a value needs no migration;
- free-form metadata lives in ``properties`` JSON columns holding a list of
  ``[key, value]`` pairs (order and repeated keys survive a round trip), not in
  a key/value side table: nothing queries it by key yet, and a JSON column keeps
  the bulk insert a single statement;
- ``test.test_key`` is the sha256 of ``test_id``: the unique index stays small
  even for huge parametrised ids (PostgreSQL's btree refuses entries > ~2.7 kB).

``test_result`` keeps one row per attempt (no UNIQUE on test and run) and
carries ``timestamp`` (the attempt's start, else the run's, else the build's):
the index ``(test_pk, timestamp)`` answers "history of test X over a window"
without touching ``run``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import DateTime, TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return sqlite_datetime_text  # the hot path of bulk inserts: skip two processing layers

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_datetime_text(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text (``YYYY-MM-DD HH:MM:SS.ffffff``) of the UTC time."""
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(sep=" ", timespec="microseconds")[:26]  # drop "+00:00"


def _pk() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


project = Table("project", metadata, _pk(), Column("name", Text, nullable=False, unique=True))

change = Table(
    "change",
    metadata,
    _pk(),
    Column("project_id", Id, ForeignKey("project.id"), nullable=False),
    Column("number", Integer, nullable=False),
    UniqueConstraint("project_id", "number"),
)

patchset = Table(
    "patchset",
    metadata,
    _pk(),
    Column("change_id", Id, ForeignKey("change.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("commit_sha", Text, nullable=False, default=""),
    UniqueConstraint("change_id", "number"),
)

pipeline = Table("pipeline", metadata, _pk(), Column("name", Text, nullable=False, unique=True))

buildset = Table(
    "buildset",
    metadata,
    _pk(),
    Column("uuid", Text, nullable=False, unique=True),
    Column("event_id", Text, nullable=False, default=""),
    Column("pipeline_id", Id, ForeignKey("pipeline.id"), nullable=True),
    Column("project_id", Id, ForeignKey("project.id"), nullable=False),
    Column("change_id", Id, ForeignKey("change.id"), nullable=True),
    Column("patchset_id", Id, ForeignKey("patchset.id"), nullable=True),
    Column("ref", Text, nullable=False, default=""),
)

build = Table(
    "build",
    metadata,
    _pk(),
    Column("uuid", Text, nullable=False, unique=True),
    Column("buildset_id", Id, ForeignKey("buildset.id"), nullable=True),
    Column("project_id", Id, ForeignKey("project.id"), nullable=False),
    Column("job_name", Text, nullable=False),
    Column("pipeline_id", Id, ForeignKey("pipeline.id"), nullable=True),
    Column("branch", Text, nullable=False, default=""),
    Column("change_number", Integer, nullable=True),
    Column("patchset_number", Integer, nullable=True),
    Column("patchset_id", Id, ForeignKey("patchset.id"), nullable=True),
    Column("ref", Text, nullable=False, default=""),
    Column("commit_sha", Text, nullable=False, default=""),
    Column("result", String(32), nullable=False),
    Column("voting", Boolean, nullable=False, default=True),
    Column("node_label", Text, nullable=False, default=""),
    Column("start_time", UTCDateTime, nullable=True),
    Column("end_time", UTCDateTime, nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("attempt", Integer, nullable=False, default=1),
    Column("log_url", Text, nullable=False, default=""),
    Column("event_id", Text, nullable=False, default=""),
    Column("content_hash", Text, nullable=False, default=""),
    Column("properties", JSON, nullable=False),
    Index(None, "job_name", "start_time"),
    Index(None, "project_id", "change_number", "patchset_number"),
    Index(None, "result", "start_time"),
    # covering: the health jobs overview groups builds by job and code (migration 0006)
    Index(
        "ix_build_job_code_summary",
        "job_name",
        "change_number",
        "patchset_number",
        "commit_sha",
        "result",
        "voting",
        "start_time",
        "branch",
        "pipeline_id",
    ),
)

run = Table(
    "run",
    metadata,
    _pk(),
    Column("build_id", Id, ForeignKey("build.id"), nullable=True, index=True),
    Column("content_hash", Text, nullable=True, unique=True),
    Column("format", String(32), nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("name", Text, nullable=False, default=""),
    Column("started_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("test_count", Integer, nullable=False),
    Column("failure_count", Integer, nullable=False),
    Column("properties", JSON, nullable=False),
    Column("warnings", JSON, nullable=False),
)

test = Table(
    "test",
    metadata,
    _pk(),
    Column("test_key", Text, nullable=False, unique=True),
    Column("test_id", Text, nullable=False),
    Column("suite", Text, nullable=False, default=""),
    Column("classname", Text, nullable=False, default=""),
    Column("name", Text, nullable=False, default=""),
)

test_result = Table(
    "test_result",
    metadata,
    _pk(),
    Column("run_id", Id, ForeignKey("run.id"), nullable=False),
    Column("test_pk", Id, ForeignKey("test.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("duration_s", Float, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("timestamp", UTCDateTime, nullable=True),
    Column("suite", Text, nullable=True),
    Column("classname", Text, nullable=True),
    Column("name", Text, nullable=True),
    Column("message", Text, nullable=False),
    Column("traceback", Text, nullable=False),
    Column("worker", Text, nullable=False),
    Column("properties", JSON(none_as_null=True), nullable=True),
    Index(None, "run_id"),
    # covering: health reads a few tests' attempts from the index alone (migration 0006)
    Index(None, "test_pk", "timestamp", "run_id", "outcome", "duration_s"),
)

log_file = Table(
    "log_file",
    metadata,
    _pk(),
    Column("build_id", Id, ForeignKey("build.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("blob_sha256", Text, nullable=False, index=True),
    Column("size_bytes", BigInteger, nullable=False),
    Column("line_count", BigInteger, nullable=False),
    Index(None, "build_id"),
)

benchmark_sample = Table(
    "benchmark_sample",
    metadata,
    _pk(),
    Column("project", Text, nullable=False),
    Column("benchmark", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("environment", Text, nullable=False, default=""),
    Column("unit", Text, nullable=False),
    Column("direction", String(16), nullable=False),
    Column("value", Float, nullable=False),
    Column("samples", JSON, nullable=False),
    Column("commit_sha", Text, nullable=False, default=""),
    Column("timestamp", UTCDateTime, nullable=True),
    Column("build_uuid", Text, nullable=False, default=""),
    Column("build_id", Id, ForeignKey("build.id"), nullable=True, index=True),
    Index("ix_benchmark_sample_series_time", "project", "benchmark", "metric", "environment", "timestamp"),
)

ingest_record = Table(
    "ingest_record",
    metadata,
    Column("content_hash", Text, primary_key=True),
    Column("source", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("ingested_at", UTCDateTime, nullable=False),
)


# --- triage (issue #3): fingerprints, log matches and verdicts --------------------------------------
# A fingerprint row is one version of one bug's definition (bug id + sha256 of its fields); the rows
# of the set last used are ``active``. Matches and verdicts hang off a build and are replaced when the
# build is triaged again; ``fingerprint_set`` (a hash of the active set) says which set produced them.

triage_fingerprint = Table(
    "triage_fingerprint",
    metadata,
    _pk(),
    Column("bug_id", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("definition", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    UniqueConstraint("bug_id", "content_hash"),
)

triage_match = Table(
    "triage_match",
    metadata,
    _pk(),
    Column("build_id", Id, ForeignKey("build.id"), nullable=False),
    Column("bug_id", Text, nullable=False),
    Column("file_name", Text, nullable=False, default=""),
    Column("line_number", BigInteger, nullable=False, default=0),
    Column("text", Text, nullable=False, default=""),
    Index(None, "build_id"),
    Index(None, "bug_id"),
)

triage_verdict = Table(
    "triage_verdict",
    metadata,
    Column("build_id", Id, ForeignKey("build.id"), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("infra_ids", JSON, nullable=False),
    Column("bug_ids", JSON, nullable=False),
    Column("uncounted_bug_ids", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("fingerprint_set", Text, nullable=False),
    Column("classified_at", UTCDateTime, nullable=False),
    Index(None, "kind"),
)


# --- Health rollups (issue #4; owned by store/health.py) -------------------------------------------
# One row per (UTC day, test, job, branch, pipeline) and per (UTC day, job, branch, pipeline),
# kept up to date in the ingest transaction (see gatewatch.store.health). ``day`` is NO_DAY
# (0001-01-01) for runs without a timestamp: a primary key column cannot be NULL on PostgreSQL.

daily_test_rollup = Table(
    "daily_test_rollup",
    metadata,
    Column("day", Date, nullable=False),
    Column("test_pk", Id, ForeignKey("test.id"), nullable=False),
    Column("job_name", Text, nullable=False),
    Column("branch", Text, nullable=False),
    Column("pipeline", Text, nullable=False),
    *(
        Column(name, Integer, nullable=False)
        for name in (
            "runs",
            "counted_runs",
            "failed_runs",
            "mixed_runs",
            "attempts",
            "passes",
            "failures",
            "skips",
            "infra_attempts",
            "known_failures",
            "flips",
        )
    ),
    Column("first_failed", Boolean, nullable=False),
    Column("last_failed", Boolean, nullable=False),
    Column("first_at", UTCDateTime, nullable=True),
    Column("last_at", UTCDateTime, nullable=True),
    Column("first_failure_at", UTCDateTime, nullable=True),
    Column("last_failure_at", UTCDateTime, nullable=True),
    Column("duration_count", Integer, nullable=False),
    Column("duration_sum_s", Float, nullable=False),
    Column("duration_hist", Text, nullable=False),
    PrimaryKeyConstraint("day", "test_pk", "job_name", "branch", "pipeline"),
    Index(None, "test_pk", "day"),
)
# The few rows with failures, for "which tests failed in this window" (partial on both engines).
Index(
    "ix_daily_test_rollup_failing",
    daily_test_rollup.c.day,
    daily_test_rollup.c.job_name,
    daily_test_rollup.c.test_pk,
    sqlite_where=daily_test_rollup.c.failures > 0,
    postgresql_where=daily_test_rollup.c.failures > 0,
)

daily_job_rollup = Table(
    "daily_job_rollup",
    metadata,
    Column("day", Date, nullable=False),
    Column("job_name", Text, nullable=False),
    Column("branch", Text, nullable=False),
    Column("pipeline", Text, nullable=False),
    *(
        Column(name, Integer, nullable=False)
        for name in ("builds", "successes", "failures", "infra_failures", "known_failures", "duration_count")
    ),
    Column("duration_sum_s", Float, nullable=False),
    PrimaryKeyConstraint("day", "job_name", "branch", "pipeline"),
)


# --- gate (issue #6): the merge queue's persisted state, its inbox and its tested commits ---

gate_state = Table(
    "gate_state",
    metadata,
    Column("name", Text, primary_key=True),
    Column("generation", BigInteger, nullable=False),
    Column("state_json", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

gate_change = Table(
    "gate_change",
    metadata,
    Column("change_id", Text, primary_key=True),
    Column("repo", Text, nullable=False),
    Column("ref", Text, nullable=False),
    Column("project", Text, nullable=False),
    Column("branch", Text, nullable=False),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("enqueued_at", UTCDateTime, nullable=False),
)

gate_command = Table(
    "gate_command",
    metadata,
    _pk(),
    Column("kind", String(32), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    Index(None, "done_at"),
)

gate_tested = Table(
    "gate_tested",
    metadata,
    _pk(),
    Column("item_id", Text, nullable=False),
    Column("buildset", BigInteger, nullable=False),
    Column("build_id", Text, nullable=False),
    Column("job", Text, nullable=False),
    Column("repo", Text, nullable=False),
    Column("branch", Text, nullable=False),
    Column("commit_sha", Text, nullable=False),
    Column("expected_base", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Index(None, "item_id", "buildset"),
    Index(None, "commit_sha", "job"),
)

gate_event = Table(
    "gate_event",
    metadata,
    _pk(),
    Column("generation", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("body", JSON, nullable=False),
)


# --- performance analysis (issue #5; migration 0005) ---------------------------------------------
# One row per analysed series: the detector's incremental state (``state`` JSON: values,
# cleaned values, commits, noise SD, change points, outliers) and how many stored samples it
# covers, so ``perf analyse`` skips series without new samples. Change points and outliers
# reference their series; a change point keeps its status (open/acknowledged/fixed) across
# re-analyses.

perf_series = Table(
    "perf_series",
    metadata,
    _pk(),
    Column("project", Text, nullable=False),
    Column("benchmark", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("environment", Text, nullable=False, default=""),
    Column("unit", Text, nullable=False),
    Column("direction", String(16), nullable=False),
    Column("sample_count", Integer, nullable=False),
    Column("point_count", Integer, nullable=False),
    Column("runs_per_commit", Integer, nullable=False),
    Column("state", JSON, nullable=False),
    Column("analysed_at", UTCDateTime, nullable=False),
    UniqueConstraint("project", "benchmark", "metric", "environment"),
)

perf_change_point = Table(
    "perf_change_point",
    metadata,
    _pk(),
    Column("series_id", Id, ForeignKey("perf_series.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("point_index", Integer, nullable=False),
    Column("last_good_commit", Text, nullable=False),
    Column("first_bad_commit", Text, nullable=False),
    Column("suspect_commits", JSON, nullable=False),
    Column("magnitude_pct", Float, nullable=True),
    Column("p_value", Float, nullable=True),
    Column("mean_before", Float, nullable=True),
    Column("mean_after", Float, nullable=True),
    Column("spread_before", Float, nullable=True),
    Column("spread_after", Float, nullable=True),
    Column("unit", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("detected_at", UTCDateTime, nullable=True),
    Column("status_changed_at", UTCDateTime, nullable=True),
    Index(None, "status", "kind"),
)

perf_outlier = Table(
    "perf_outlier",
    metadata,
    _pk(),
    Column("series_id", Id, ForeignKey("perf_series.id"), nullable=False, index=True),
    Column("point_index", Integer, nullable=False),
    Column("commit_sha", Text, nullable=False),
    Column("value", Float, nullable=False),
    Column("expected", Float, nullable=True),
    Column("deviation_pct", Float, nullable=True),
)
