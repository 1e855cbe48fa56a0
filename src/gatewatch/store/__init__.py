"""The store: the only package that talks SQL (SQLAlchemy Core + Alembic) and owns log blobs.

Repositories return domain dataclasses, never rows. Entry points open a store
with ``open_store(url, blob_dir=...)`` and services own each transaction with
``store.unit_of_work()``. Modules: schema (tables), engine (SQLite/PostgreSQL
tuning), store (Store, UnitOfWork, migrations), builds, runs, artifacts (logs,
benchmarks), records (idempotency, counts), blobs (log blob store), convert
(text and JSON conventions).
"""

from gatewatch.store.blobs import BlobInfo, BlobStore
from gatewatch.store.store import Store, UnitOfWork, head_revision, open_store

__all__ = ["BlobInfo", "BlobStore", "Store", "UnitOfWork", "head_revision", "open_store"]
