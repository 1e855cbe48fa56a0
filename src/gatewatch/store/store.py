"""The store: an engine, its migrations, units of work and the log blob store.

``open_store(url, blob_dir=...)`` opens (and migrates to head) a SQLite file or
a PostgreSQL database. A service owns each transaction::

    with store.unit_of_work() as uow:   # commits on exit, rolls back on exception
        build_pk = uow.builds.save(build)
        uow.runs.save(run, build_pk=build_pk)

Migrations are serialised across processes: on SQLite by the ``BEGIN
IMMEDIATE`` write lock, on PostgreSQL by a transaction-scoped advisory lock;
the current revision is read inside that lock, so concurrent ``open_store``
calls on a fresh database migrate it exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from gatewatch.errors import StoreError
from gatewatch.store.artifacts import BenchmarkRepository, LogRepository
from gatewatch.store.blobs import BlobStore
from gatewatch.store.builds import BuildRepository
from gatewatch.store.engine import BEGIN_OPTION, create_store_engine
from gatewatch.store.gate import GateRepository
from gatewatch.store.health import HealthRepository
from gatewatch.store.perf import PerfRepository
from gatewatch.store.records import IngestRepository, StatsRepository
from gatewatch.store.runs import RunRepository, TestRepository
from gatewatch.store.triage import TriageRepository

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 0x6761746577  # "gatew": the advisory lock key held while migrating


@dataclass(slots=True)
class UnitOfWork:
    """The repositories of one transaction; they never commit themselves."""

    ingests: IngestRepository
    builds: BuildRepository
    runs: RunRepository
    tests: TestRepository
    logs: LogRepository
    benchmarks: BenchmarkRepository
    stats: StatsRepository
    triage: TriageRepository
    health: HealthRepository
    gate: GateRepository
    perf: PerfRepository

    @classmethod
    def bind(cls, connection: Connection) -> UnitOfWork:
        return cls(
            ingests=IngestRepository(connection),
            builds=BuildRepository(connection),
            runs=RunRepository(connection),
            tests=TestRepository(connection),
            logs=LogRepository(connection),
            benchmarks=BenchmarkRepository(connection),
            stats=StatsRepository(connection),
            triage=TriageRepository(connection),
            health=HealthRepository(connection),
            gate=GateRepository(connection),
            perf=PerfRepository(connection),
        )


def alembic_config() -> Config:
    """The Alembic configuration, built in code (no alembic.ini on disk)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration revision shipped with this version of gatewatch."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return head or ""


class Store:
    """A SQL database plus a content-addressed log blob store."""

    def __init__(self, engine: Engine, *, blobs: BlobStore) -> None:
        self.engine = engine
        self.blobs = blobs

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def current_revision(self) -> str:
        """The migration revision the database is at ('' for an empty database)."""
        with self.engine.connect() as conn:
            conn.execution_options(**{BEGIN_OPTION: "DEFERRED"})
            revision = MigrationContext.configure(conn).get_current_revision()
            conn.rollback()
        return revision or ""

    def upgrade(self) -> None:
        """Migrate the database to the newest revision (a no-op when already there)."""
        config = alembic_config()
        with _store_errors("migrate"), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextmanager
    def unit_of_work(self, *, readonly: bool = False) -> Iterator[UnitOfWork]:
        """One transaction: commits when the block ends, rolls back if it raises.

        ``readonly=True`` starts a deferred transaction on SQLite, so a reader
        never waits behind a writer; writing in it may then fail with "locked".
        """
        with self.engine.connect() as conn:
            conn.execution_options(**{BEGIN_OPTION: "DEFERRED" if readonly else "IMMEDIATE"})
            with conn.begin():
                yield UnitOfWork.bind(conn)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str, *, blob_dir: Path) -> Store:
    """Open the store at ``url``, migrating it to the newest schema if needed."""
    engine = create_store_engine(url)
    store = Store(engine, blobs=BlobStore(blob_dir))
    try:
        with _store_errors("open"):
            if store.current_revision() != head_revision():
                store.upgrade()
    except BaseException:
        store.close()
        raise
    return store


@contextmanager
def _store_errors(action: str) -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        raise StoreError(
            f"cannot {action} the store: {exc.orig}",
            hint="check the store URL, that the server is running and that the file is writable",
        ) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot {action} the store: {exc}") from exc
    except CommandError as exc:
        raise StoreError(
            f"cannot {action} the store: {exc}",
            hint="the database was migrated by a newer gatewatch; upgrade gatewatch",
        ) from exc
