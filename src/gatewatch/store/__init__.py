"""The store: the only package that talks SQL (SQLAlchemy Core + Alembic) and owns log blobs.

Repositories return domain dataclasses, never rows; they never commit. Entry
points open a store and services own each transaction::

    store = open_store("sqlite:///gw.db", blob_dir=Path("blobs"))  # or postgresql+psycopg://...
    with store.unit_of_work() as uow:          # one transaction; readonly=True for readers
        uow.ingests.has(hash) / uow.ingests.record(hash, source=..., kind=...)
        build_pk = uow.builds.save(build, content_hash="")   # upsert by uuid, replaces children
        uow.builds.get(uuid) / uow.builds.list(job_name=, project=, result=, since=, until=, limit=)
        run_pk = uow.runs.save(run, build_pk=build_pk)        # bulk; same content_hash replaces
        uow.runs.get(run_pk) / uow.runs.get_for_build(uuid)
        uow.tests.history(test_id, since=, until=)            # [(TestResult, build uuid|None, run pk)]
        uow.tests.results(job_name=, project=, since=, until=, limit=)
        uow.logs.save(build_pk, log) / uow.logs.for_build(uuid)
        uow.benchmarks.save_many(samples, build_pk=None) / .series_keys() / .load_series(key)
        uow.stats.counts()
    store.blobs.save_blob(stream) -> BlobInfo; .open_lines(sha) / .open_bytes(sha) / .has(sha)
    store.upgrade(); store.current_revision(); store.close()

Modules: schema (tables and conventions), engine (SQLite/PostgreSQL tuning),
store (Store, UnitOfWork, migrations), builds, runs (runs, results, history),
artifacts (logs, benchmarks), records (idempotency, counts), bulk (driver-speed
inserts), blobs (log blob store), convert (text and JSON conventions),
revision (developer tool to write a migration), migrations/ (Alembic).
"""

from gatewatch.store.blobs import BlobInfo, BlobStore
from gatewatch.store.store import Store, UnitOfWork, head_revision, open_store

__all__ = ["BlobInfo", "BlobStore", "Store", "UnitOfWork", "head_revision", "open_store"]
