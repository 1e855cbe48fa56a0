"""Alembic environment: migrates the connection ``Store.upgrade`` hands over.

There is no alembic.ini: ``gatewatch.store.store.Store.upgrade`` builds the
Alembic config in code and passes an open connection (already inside the
transaction that holds the migration lock) as ``config.attributes["connection"]``.
To write a new revision during development::

    PYTHONPATH=src python -m gatewatch.store.revision "add foo column"
"""

from __future__ import annotations

from alembic import context

from gatewatch.errors import StoreError
from gatewatch.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise StoreError("store migrations run only through gatewatch.store (Store.upgrade)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
