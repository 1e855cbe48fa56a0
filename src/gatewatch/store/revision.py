"""Developer tool: write a new migration by diffing the schema against a fresh database.

    PYTHONPATH=src python -m gatewatch.store.revision "add foo column"

It migrates a temporary SQLite database to head, then lets Alembic's
autogenerate compare it with ``schema.metadata``. Review the generated file
(autogenerate misses some changes, e.g. renames) before committing it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from gatewatch.store.store import alembic_config, open_store


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/revision.db", blob_dir=Path(tmp) / "blobs")
        config = alembic_config()
        with store.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.revision(config, message=argv[0], autogenerate=True)
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
