"""Fixtures of the store contract suite: every test runs on SQLite and on a real PostgreSQL.

The PostgreSQL server is started once per session (tests/support/postgres.py).
``store_url`` is one database migrated to head at session start and emptied
(TRUNCATE ... RESTART IDENTITY) before each test: much cheaper than a database
per test (CREATE DATABASE checkpoints and copies ~8 MB). ``empty_store_url`` is
a brand-new empty database, for the few tests that migrate or damage the schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gatewatch.store import Store, open_store
from gatewatch.store.schema import metadata
from support.postgres import PostgresServer, postgres_or_skip

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SHARED = "gw_shared"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer(bin_dir=postgres_or_skip()).start()
    try:
        url = server.create_database(name=SHARED)
        open_store(url, blob_dir=Path(server.root) / "unused-blobs").close()
        yield server
    finally:
        server.stop()


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'gatewatch.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    if not migrated:
        return server.create_database()
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with psycopg.connect(server.dsn(SHARED), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return server.url(SHARED)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh store already migrated to head."""
    return _url(request.param, request, tmp_path, migrated=True)


@pytest.fixture(params=BACKENDS)
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, completely empty database."""
    return _url(request.param, request, tmp_path, migrated=False)


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(store_url, blob_dir=tmp_path / "blobs")
    yield opened
    opened.close()
