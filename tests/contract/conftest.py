"""Fixtures of the store contract suite: every test runs on SQLite and on a real PostgreSQL.

The PostgreSQL server is started once per session (tests/support/postgres.py);
a database migrated to head is kept as a template and each test gets a fresh
copy of it (``store_url``) or a fresh empty database (``empty_store_url``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewatch.store import Store, open_store
from support.postgres import PostgresServer, postgres_or_skip

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TEMPLATE = "gw_template"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer(bin_dir=postgres_or_skip()).start()
    try:
        url = server.create_database(name=TEMPLATE)
        open_store(url, blob_dir=Path(server.root) / "unused-blobs").close()
        yield server
    finally:
        server.stop()


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'gatewatch.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database(template=TEMPLATE if migrated else "template0")


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
