"""Engines for SQLite and PostgreSQL, tuned for many concurrent ingest processes.

SQLite: WAL journal (readers never block the writer), ``synchronous=NORMAL``
(durable at checkpoints, safe in WAL mode), foreign keys on, a 60 s busy
timeout, and write transactions opened with ``BEGIN IMMEDIATE``: a writer takes
the write lock when its transaction starts, so two processes never both read
and then fail to upgrade to a write lock ("database is locked"); the second
simply waits for the first (up to the busy timeout). Read-only units of work
use a deferred ``BEGIN`` so they never wait for a writer.

PostgreSQL: psycopg 3, default READ COMMITTED isolation.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from gatewatch.errors import StoreError
from gatewatch.store.health_upsert import register_sqlite_functions

BUSY_TIMEOUT_S = 60.0
BEGIN_OPTION = "gatewatch_begin"  # execution option: "IMMEDIATE" (default) or "DEFERRED"


def create_store_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``).

    A SQLite file's directory is created if missing; ``postgresql://`` means psycopg 3.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"invalid store URL {url!r}", hint="use sqlite:///path.db or postgresql+psycopg://..."
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            _make_parent(Path(parsed.database))
        return _sqlite_engine(url)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise StoreError(f"unsupported store backend {backend!r} in {url!r}", hint="use sqlite or postgresql")


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the directory of the SQLite store {path}: {exc.strerror}",
            hint="choose a writable path for the store",
        ) from exc


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
        # transaction handling would defer it and cannot say IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")

    return engine


def _switch_to_wal(cursor: Any) -> None:
    """Put the database in WAL mode, retrying while another process holds a lock.

    Switching the journal mode needs an exclusive lock, and SQLite answers
    "database is locked" at once instead of calling the busy handler when the
    lock cannot be taken (for instance while another process migrates a fresh
    store), so the switch is retried here for up to the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
