"""Engine tuning: SQLite pragmas, BEGIN IMMEDIATE for writers, URL handling."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from gatewatch.errors import StoreError
from gatewatch.store import open_store
from gatewatch.store.engine import create_store_engine


def test_sqlite_connections_use_wal_normal_sync_foreign_keys_and_a_long_busy_timeout(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path}/gw.db")
    with engine.connect() as conn:
        pragmas = {
            name: conn.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    engine.dispose()
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 60_000}


def test_a_connection_waits_to_switch_to_wal_while_another_process_writes(tmp_path: Path) -> None:
    """SQLite refuses the journal-mode switch at once (no busy handler) while another writer holds a lock.

    Processes racing to open a fresh store hit this; the engine must wait for the lock, not fail.
    """
    path = tmp_path / "gw.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (a)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.3, writer.execute, args=("COMMIT",))
    engine = create_store_engine(f"sqlite:///{path}")
    started = time.monotonic()
    release.start()
    try:
        with engine.connect() as conn:
            mode = conn.execute(text("PRAGMA journal_mode")).scalar()
    finally:
        release.join()
        engine.dispose()
        writer.close()
    assert mode == "wal"
    assert time.monotonic() - started >= 0.25  # it waited for the writer rather than skipping the switch


@pytest.mark.parametrize(("readonly", "other_writer_blocked"), [(False, True), (True, False)])
def test_a_write_unit_of_work_takes_the_write_lock_when_it_begins(
    tmp_path: Path, readonly: bool, other_writer_blocked: bool
) -> None:
    """A writer holds the lock from BEGIN (not from its first write), so writers queue instead of failing."""
    store = open_store(f"sqlite:///{tmp_path}/gw.db", blob_dir=tmp_path / "blobs")
    other = sqlite3.connect(tmp_path / "gw.db", timeout=0, isolation_level=None)
    try:
        with store.unit_of_work(readonly=readonly) as uow:
            uow.stats.counts()  # a read only: a deferred BEGIN would not hold the write lock yet
            blocked = _try_to_begin_writing(other)
        assert blocked == other_writer_blocked
    finally:
        other.close()
        store.close()


def _try_to_begin_writing(conn: sqlite3.Connection) -> bool:
    """True if another connection holds the write lock."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return True
    conn.execute("ROLLBACK")
    return False


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@localhost/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@localhost/db", "postgresql+psycopg"),
        ("sqlite://", "sqlite"),
    ],
)
def test_urls_pick_the_driver(url: str, driver: str) -> None:
    engine = create_store_engine(url)
    assert engine.url.drivername == driver
    engine.dispose()


def test_unsupported_backends_are_refused() -> None:
    with pytest.raises(StoreError, match="unsupported store backend 'mysql'"):
        create_store_engine("mysql://localhost/x")
