"""Store lifecycle: migrations, transactions, idempotency records, concurrent and killed writers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from gatewatch.errors import StoreError
from gatewatch.store import Store, head_revision, open_store
from gatewatch.store.schema import metadata
from support.stores import SRC_DIR, TESTS_DIR, make_build, make_run


def test_opening_an_empty_database_migrates_it_to_head(empty_store_url: str, tmp_path: Path) -> None:
    with open_store(empty_store_url, blob_dir=tmp_path / "blobs") as store:
        assert store.current_revision() == head_revision() != ""
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            assert compare_metadata(context, metadata) == []
            conn.rollback()


def test_a_sqlite_store_creates_its_directory(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/new/dir/gw.db", blob_dir=tmp_path / "blobs") as store:
        assert store.current_revision() == head_revision()
    assert (tmp_path / "new" / "dir" / "gw.db").is_file()


def test_upgrade_at_head_is_a_no_op(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.builds.save(make_build("kept"))
    store.upgrade()
    with store.unit_of_work(readonly=True) as uow:
        assert uow.builds.get("kept") is not None
    assert store.current_revision() == head_revision()


def test_a_database_from_a_newer_gatewatch_is_refused(empty_store_url: str, tmp_path: Path) -> None:
    with open_store(empty_store_url, blob_dir=tmp_path) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    with pytest.raises(StoreError, match="from_the_future"):
        open_store(empty_store_url, blob_dir=tmp_path)


def test_an_unreachable_store_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(StoreError, match="cannot create the directory"):
        open_store(f"sqlite:///{tmp_path}/a-file/x.db", blob_dir=tmp_path)
    (tmp_path / "not-a-db.db").write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="cannot open"):
        open_store(f"sqlite:///{tmp_path}/not-a-db.db", blob_dir=tmp_path)
    with pytest.raises(StoreError, match="invalid store URL"):
        open_store("::nonsense::", blob_dir=tmp_path)
    with pytest.raises(StoreError, match="unsupported store backend"):
        open_store("mysql://localhost/x", blob_dir=tmp_path)


def _write_then_fail(store: Store) -> None:
    with store.unit_of_work() as uow:
        build_pk = uow.builds.save(make_build("b1"))
        uow.runs.save(make_run("r1", count=100), build_pk=build_pk)
        uow.ingests.record("h1", source="x", kind="build")
        raise RuntimeError("parser blew up half way")


def test_an_exception_rolls_back_the_whole_unit_of_work(store: Store) -> None:
    with pytest.raises(RuntimeError, match="half way"):
        _write_then_fail(store)
    with store.unit_of_work(readonly=True) as uow:
        assert set(uow.stats.counts().values()) == {0}
        assert not uow.ingests.has("h1")


def test_ingest_records_make_units_idempotent(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert not uow.ingests.has("h1")
        uow.ingests.record("h1", source="a.xml", kind="run")
        uow.ingests.record("h1", source="again.xml", kind="run")
        assert uow.ingests.has("h1")
        assert not uow.ingests.has("h2")
    with store.unit_of_work(readonly=True) as uow:
        assert uow.stats.counts()["ingests"] == 1


def test_concurrent_writers_all_land(empty_store_url: str, tmp_path: Path) -> None:
    """Four processes open a fresh store at once (racing to migrate it) and write builds, some the same."""
    workers, per_worker = 4, 3
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    procs = [
        context.Process(
            target=_write_builds, args=(empty_store_url, str(tmp_path / "blobs"), n, per_worker, barrier)
        )
        for n in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
    assert [proc.exitcode for proc in procs] == [0] * workers
    with open_store(empty_store_url, blob_dir=tmp_path / "blobs") as store, store.unit_of_work() as uow:
        counts = uow.stats.counts()
        assert all(uow.ingests.has(f"w{n}-{i}") for n in range(workers) for i in range(per_worker))
    total = workers * per_worker + per_worker  # own builds plus the shared ones, each saved once
    assert (counts["builds"], counts["runs"], counts["test_results"]) == (total, total, total * 200)
    assert (counts["projects"], counts["tests"], counts["ingests"]) == (3, 200, total)


def _write_builds(*args: object) -> None:
    from support.stores import write_builds

    write_builds(*args)  # type: ignore[arg-type]


def test_a_writer_killed_mid_transaction_leaves_nothing(store_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC_DIR), str(TESTS_DIR)])}
    with subprocess.Popen(
        [sys.executable, "-m", "support.stores", "hold", store_url, str(tmp_path / "blobs")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == b"READY\n"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
    with open_store(store_url, blob_dir=tmp_path / "blobs") as store:
        with store.unit_of_work() as uow:
            assert uow.builds.get("killed") is None
            assert set(uow.stats.counts().values()) == {0}
            uow.builds.save(make_build("after"))
        with store.unit_of_work(readonly=True) as uow:
            assert uow.builds.get("after") is not None
