"""Domain-record factories, Hypothesis strategies and child-process workers for store tests.

The workers (``write_builds``, ``hold_open_unit_of_work``) run in other
processes: multiprocessing (spawn) imports them as ``support.stores``, and the
kill test runs ``python -m support.stores hold URL BLOB_DIR``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from gatewatch.domain.builds import Build, BuildResult
from gatewatch.domain.logs import LogFile
from gatewatch.domain.perf import BenchmarkSample, Direction, SeriesKey
from gatewatch.domain.results import Outcome, ResultFormat, Run, TestResult
from gatewatch.store import open_store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SRC_DIR = Path(__file__).resolve().parents[2] / "src"
TESTS_DIR = Path(__file__).resolve().parents[1]


def make_build(uuid: str = "b1", **fields: Any) -> Build:
    values: dict[str, Any] = {
        "project": "openstack/nova",
        "job_name": "tempest-full",
        "result": BuildResult.FAILURE,
        "pipeline": "gate",
        "branch": "master",
        "change": 12345,
        "patchset": 2,
        "commit_sha": "a" * 40,
        "buildset_uuid": "bs-" + uuid,
        "start_time": T0,
        "end_time": T0 + timedelta(minutes=90),
    }
    values.update(fields)
    return Build(uuid=uuid, **values)


def make_results(
    count: int, *, prefix: str = "tests.unit.test_x.T.test_", fail_every: int = 50
) -> tuple[TestResult, ...]:
    return tuple(
        TestResult(
            test_id=f"{prefix}{i}",
            classname="tests.unit.test_x.T",
            name=f"test_{i}",
            outcome=Outcome.FAIL if i % fail_every == 0 else Outcome.PASS,
            duration_s=0.01 * (i % 7),
            started_at=T0 + timedelta(seconds=i),
            traceback="Traceback (most recent call last):\n  boom" if i % fail_every == 0 else "",
            worker=f"worker-{i % 4}",
        )
        for i in range(count)
    )


def make_run(content_hash: str = "run-1", *, count: int = 10, **fields: Any) -> Run:
    values: dict[str, Any] = {
        "format": ResultFormat.SUBUNIT,
        "source": "testrepository.subunit",
        "results": make_results(count),
        "started_at": T0,
        "ended_at": T0 + timedelta(minutes=30),
    }
    values.update(fields)
    return Run(content_hash=content_hash, **values)


# --- Hypothesis strategies ------------------------------------------------------------------------
# Text excludes NUL (the store replaces it; tested separately) but keeps astral characters.
text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=30)
zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 1, 1), timezones=zones)
finite = st.floats(allow_nan=False, allow_infinity=False)
pairs = st.lists(st.tuples(text, text), max_size=3).map(tuple)
small_int = st.integers(min_value=1, max_value=2**31 - 1)

builds = st.builds(
    Build,
    uuid=st.uuids().map(lambda u: u.hex),
    project=text.filter(bool),
    job_name=text,
    result=st.sampled_from(BuildResult),
    voting=st.booleans(),
    pipeline=text,
    branch=text,
    change=st.none() | small_int,
    patchset=st.none() | small_int,
    ref=text,
    commit_sha=text,
    buildset_uuid=text,
    event_id=text,
    node_label=text,
    start_time=st.none() | moments,
    end_time=st.none() | moments,
    attempt=st.integers(1, 10),
    log_url=text,
    properties=pairs,
)

test_results = st.builds(
    TestResult,
    test_id=st.sampled_from(["a.b.test_one", "a.b.test_two", "ü.test_🐍"]) | text,
    suite=text,
    classname=text,
    name=text,
    outcome=st.sampled_from(Outcome),
    attempt=st.integers(1, 5),
    duration_s=st.none() | finite,
    started_at=st.none() | moments,
    message=text,
    traceback=text,
    worker=text,
    properties=pairs,
)

runs = st.builds(
    Run,
    format=st.sampled_from(ResultFormat),
    source=text,
    content_hash=st.uuids().map(lambda u: u.hex),
    results=st.lists(test_results, max_size=8).map(tuple),
    name=text,
    started_at=st.none() | moments,
    ended_at=st.none() | moments,
    properties=pairs,
    warnings=st.lists(text, max_size=3).map(tuple),
)

log_files = st.builds(
    LogFile,
    name=text,
    blob_sha256=st.binary(min_size=32, max_size=32).map(bytes.hex),
    size_bytes=st.integers(0, 2**40),
    line_count=st.integers(0, 2**35),
    tags=st.lists(text, max_size=3).map(tuple),
)

series_keys = st.builds(
    SeriesKey, project=st.sampled_from(["p1", "p2"]), benchmark=text, metric=text, environment=text
)

samples = st.builds(
    BenchmarkSample,
    key=series_keys,
    value=finite,
    unit=text,
    direction=st.sampled_from(Direction),
    samples=st.lists(finite, max_size=5).map(tuple),
    commit_sha=text,
    timestamp=st.none() | moments,
    build_uuid=text,
)


# --- child-process workers ------------------------------------------------------------------------
def write_builds(url: str, blob_dir: str, worker: int, count: int, barrier: Any) -> None:
    """Open the store (maybe migrating it), wait for the others, then save builds.

    Each worker saves ``count`` builds of its own and the same ``count``
    "shared-*" builds as every other worker (same uuids, run hashes and tests),
    interleaved, to exercise the upsert and ON CONFLICT paths under contention.
    """
    barrier.wait()
    store = open_store(url, blob_dir=Path(blob_dir))
    for i in range(count):
        for uuid in (f"w{worker}-{i}", f"shared-{i}"):
            with store.unit_of_work() as uow:
                build_pk = uow.builds.save(make_build(uuid, project=f"project-{i % 3}"))
                uow.runs.save(make_run(uuid, count=200), build_pk=build_pk)
                uow.ingests.record(uuid, source="worker", kind="build")
    store.close()


def hold_open_unit_of_work(url: str, blob_dir: str) -> None:
    """Write a big unit of work, say READY, then block until killed (never commits)."""
    store = open_store(url, blob_dir=Path(blob_dir))
    with store.unit_of_work() as uow:
        build_pk = uow.builds.save(make_build("killed"))
        uow.runs.save(make_run("killed-run", count=10_000), build_pk=build_pk)
        uow.ingests.record("killed", source="kill-test", kind="build")
        print("READY", flush=True)
        sys.stdin.read()
        raise SystemExit("stdin closed before the kill: rolling back")


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold_open_unit_of_work(sys.argv[2], sys.argv[3])
