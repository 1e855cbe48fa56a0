"""Result-ingest benchmark: gatewatch against subunit2sql, side by side in one run.

Input (seeded): one subunit v2 stream of N tests (default 20,000) with 2% failures
carrying tracebacks, 1% skips and worker tags, written by python-subunit's
encoder, plus a JUnit XML file of the same tests. Contenders, interleaved:

- gatewatch: `ingest_paths` into a fresh SQLite store (parse + one transaction);
- subunit2sql 1.10.0 (with SQLAlchemy 1.3.24, oslo.db 8.6.0, alembic 1.6.5, its own
  venv under bench/.venvs) into a fresh SQLite file; its process is timed from outside,
  and the time of the same command on a one-test stream (interpreter start-up, imports,
  opening the store: ~0.4 s) is measured alongside and subtracted, so its rate is per test;
- the physical limits: parsing alone, and a bare one-transaction executemany of
  the same rows into the same tables with sqlite3 (every row the ingest stored: tests,
  the run, results, the daily health rollups, the ingest record), also with SQLAlchemy
  Core, and of the result tables alone (test, run, test_result) as the narrowest floor.

subunit2sql runs at ~100-170 tests/s here, so by default it gets the first
`--peer-tests` tests of the same stream (its rate is per test and flat).

Usage: python bench/ingest.py [--tests 20000] [--peer-tests 2000] [--reps 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, interleave, median, peer_python, write_record
from gatewatch.ingest.junit import parse_junit
from gatewatch.ingest.subunit import parse_subunit
from gatewatch.services.ingest import ingest_paths
from gatewatch.store import open_store

RESULT_TABLES = ("test", "run", "test_result")  # the narrower floor: the result rows alone
PEER = ["subunit2sql==1.10.0", "SQLAlchemy==1.3.24", "oslo.db==8.6.0", "alembic==1.6.5"]


def make_stream(n: int, seed: int) -> bytes:
    """A stestr-like subunit v2 stream written with python-subunit's encoder."""
    import io

    from subunit.v2 import StreamResultToBytes

    rng = random.Random(seed)
    out = io.BytesIO()
    writer = StreamResultToBytes(out)
    clock = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    for i in range(n):
        test_id = (
            f"tempest.api.compute.servers.test_servers_{i % 97}.ServersTest{i % 13}.test_case_{i}[id-{i:08x}]"
        )
        worker = f"worker-{i % 8}"
        roll = rng.random()
        status = "fail" if roll < 0.02 else "skip" if roll < 0.03 else "success"
        writer.status(test_id=test_id, test_status="inprogress", timestamp=clock, test_tags={worker})
        clock += timedelta(milliseconds=rng.randint(5, 3000))
        if status == "fail":
            tb = (
                "Traceback (most recent call last):\n"
                + "".join(
                    f'  File "/opt/stack/tempest/tempest/lib/x{j}.py", line {j * 7}, in f{j}\n    call()\n'
                    for j in range(12)
                )
                + "AssertionError: 404 != 200\n"
            )
            writer.status(
                test_id=test_id, file_name="traceback", file_bytes=tb.encode(), mime_type="text/x-traceback"
            )
        writer.status(test_id=test_id, test_status=status, timestamp=clock, test_tags={worker})
    return out.getvalue()


def make_junit(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="pytest" tests="{n}">']
    for i in range(n):
        roll = rng.random()
        body = ""
        if roll < 0.02:
            body = (
                '<failure message="assert 1 == 2">Traceback\n  File "x.py", line 3\nAssertionError</failure>'
            )
        elif roll < 0.03:
            body = '<skipped message="not on this platform"/>'
        parts.append(
            f'<testcase classname="pkg.module_{i % 50}.TestThing{i % 7}" name="test_{i}" time="0.{i % 1000:03d}">'
            f"{body}</testcase>"
        )
    parts.append("</testsuite></testsuites>\n")
    return "".join(parts).encode()


def time_gatewatch(path: Path) -> float:
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        store = open_store(f"sqlite:///{tmp}/gw.db", blob_dir=Path(tmp) / "blobs")
        start = time.perf_counter()
        summary = ingest_paths(store, [str(path)])
        elapsed = time.perf_counter() - start
        store.close()
    if summary.rejected or summary.runs != 1:
        raise SystemExit(f"gatewatch ingest failed: {summary.as_dict()}")
    return elapsed


def load_stored_rows(path: Path) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    """Ingest once (untimed) and read back exactly the rows gatewatch stored, per table.

    Every table the ingest wrote to (results, tests, the run, the health rollups, the ingest
    record) except Alembic's: "the same rows" is all of them.
    """
    rows: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {}
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        store = open_store(f"sqlite:///{tmp}/gw.db", blob_dir=Path(tmp) / "blobs")
        ingest_paths(store, [str(path)])
        store.close()
        con = sqlite3.connect(f"{tmp}/gw.db")
        tables = [
            name
            for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
            if name != "alembic_version" and con.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone()
        ]
        for table in tables:
            cursor = con.execute(f'SELECT * FROM "{table}"')  # names from our own schema
            rows[table] = ([d[0] for d in cursor.description], cursor.fetchall())
        con.close()
    return rows


def time_bare_insert(rows: dict[str, tuple[list[str], list[tuple[object, ...]]]]) -> float:
    """The floor: one sqlite3 executemany transaction of the same rows into the same (empty) tables."""
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        store = open_store(f"sqlite:///{tmp}/gw.db", blob_dir=Path(tmp) / "blobs")
        store.close()
        con = sqlite3.connect(f"{tmp}/gw.db", isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        start = time.perf_counter()
        con.execute("BEGIN")
        for table, (columns, values) in rows.items():
            marks = ",".join("?" for _ in columns)
            con.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", values)
        con.execute("COMMIT")
        elapsed = time.perf_counter() - start
        con.close()
    return elapsed


def time_core_insert(rows: dict[str, tuple[list[str], list[tuple[object, ...]]]]) -> float:
    """The conventional bare insert: SQLAlchemy Core executemany of the same rows as dicts, one transaction."""
    import sqlalchemy as sa

    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        store = open_store(f"sqlite:///{tmp}/gw.db", blob_dir=Path(tmp) / "blobs")
        store.close()
        engine = sa.create_engine(f"sqlite:///{tmp}/gw.db")
        # Untyped table clauses: the stored values are already in their database form.
        tables = {name: sa.table(name, *(sa.column(c) for c in cols)) for name, (cols, _) in rows.items()}
        dict_rows = {
            name: [dict(zip(cols, row, strict=True)) for row in values]
            for name, (cols, values) in rows.items()
        }
        start = time.perf_counter()
        with engine.begin() as conn:
            for name, table in tables.items():
                conn.execute(sa.insert(table), dict_rows[name])
        elapsed = time.perf_counter() - start
        engine.dispose()
    return elapsed


def time_subunit2sql(python: Path, stream_path: Path) -> float:
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        db = f"sqlite:///{tmp}/s2s.db"
        bindir = python.parent
        subprocess.run(
            [str(bindir / "subunit2sql-db-manage"), "--database-connection", db, "upgrade", "head"],
            check=True,
            capture_output=True,
        )
        start = time.perf_counter()
        subprocess.run(
            [str(bindir / "subunit2sql"), "--database-connection", db, str(stream_path)],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument(
        "--peer-tests", type=int, default=2_000, help="prefix of the stream given to subunit2sql"
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-peer", action="store_true", help="skip subunit2sql (no ratio is printed)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)

    stream = make_stream(args.tests, args.seed)
    stream_path = WORK / "stream.subunit"
    stream_path.write_bytes(stream)
    peer_path = WORK / "peer.subunit"
    peer_path.write_bytes(make_stream(args.peer_tests, args.seed))
    one_path = WORK / "one.subunit"
    one_path.write_bytes(make_stream(1, args.seed))
    junit_path = WORK / "results.xml"
    junit_path.write_bytes(make_junit(args.tests, args.seed))
    print(
        f"input: subunit v2 stream, {args.tests:,} tests, {len(stream) / 1e6:.1f} MB; JUnit {args.tests:,} tests"
    )

    stored_rows = load_stored_rows(stream_path)
    result_rows = {name: stored_rows[name] for name in RESULT_TABLES}
    print("bare insert tables: " + ", ".join(f"{k} ({len(v[1]):,} rows)" for k, v in stored_rows.items()))
    contenders = {
        "gatewatch subunit": lambda: time_gatewatch(stream_path),
        "bare insert": lambda: time_bare_insert(stored_rows),
        "bare insert (results)": lambda: time_bare_insert(result_rows),
        "bare insert (Core)": lambda: time_core_insert(stored_rows),
        "gatewatch junit": lambda: time_gatewatch(junit_path),
        "parse subunit only": lambda: (parse_subunit(stream, source="b"), None)[1],
        "parse junit only": lambda: (parse_junit(junit_path.read_bytes(), source="b"), None)[1],
    }
    if not args.no_peer:
        python = peer_python("subunit2sql", PEER)
        contenders["subunit2sql"] = lambda: time_subunit2sql(python, peer_path)
        contenders["subunit2sql start-up"] = lambda: time_subunit2sql(python, one_path)
    timings = interleave(contenders, args.reps)
    med = {k: median(v) for k, v in timings.items()}
    counts = dict.fromkeys(med, args.tests)
    counts["subunit2sql"] = args.peer_tests
    if "subunit2sql start-up" in med:
        counts["subunit2sql start-up"] = 1
        print(
            f"subunit2sql: {med['subunit2sql']:.3f} s for {args.peer_tests:,} tests, start-up subtracted below"
        )
        med["subunit2sql"] -= med["subunit2sql start-up"]  # per-test work only
    rate = {k: counts[k] / med[k] for k in med}
    print(f"{'contender':22} {'median s':>10} {'tests/s':>12}")
    for name, seconds in med.items():
        print(f"{name:22} {seconds:10.3f} {rate[name]:12,.0f}")
    ratios = {
        "gatewatch_time_over_bare_insert": med["gatewatch subunit"] / med["bare insert"],
        "gatewatch_time_over_core_insert": med["gatewatch subunit"] / med["bare insert (Core)"],
        "gatewatch_time_over_results_only_insert": med["gatewatch subunit"] / med["bare insert (results)"],
    }
    print(
        f"gatewatch subunit ingest time / bare insert time: {ratios['gatewatch_time_over_bare_insert']:.2f}x"
        " (target <= 2x)"
    )
    print(
        "gatewatch subunit ingest time / bare insert of the result tables alone: "
        f"{ratios['gatewatch_time_over_results_only_insert']:.2f}x"
    )
    print(
        "gatewatch subunit ingest time / SQLAlchemy Core executemany time: "
        f"{ratios['gatewatch_time_over_core_insert']:.2f}x"
    )
    if "subunit2sql" in rate:
        ratios["gatewatch_over_subunit2sql"] = rate["gatewatch subunit"] / rate["subunit2sql"]
        print(
            f"gatewatch / subunit2sql tests/s: {ratios['gatewatch_over_subunit2sql']:.0f}x (target >= 300x)"
        )
    print(f"JUnit ingest: {rate['gatewatch junit']:,.0f} results/s (target >= 20,000)")
    write_record(
        args.json,
        {
            "benchmark": "ingest",
            "seed": args.seed,
            "tests": args.tests,
            "peer_tests": args.peer_tests,
            "peer": PEER,
            "median_s": med,
            "tests_per_s": rate,
            "ratios": ratios,
        },
    )
    shutil.rmtree(WORK / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
