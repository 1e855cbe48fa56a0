"""Builds: round trips, upsert by uuid replacing children, listing filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings

from gatewatch.domain.builds import Build, BuildResult
from gatewatch.domain.logs import LogFile
from gatewatch.domain.perf import BenchmarkSample, SeriesKey
from gatewatch.store import Store
from support.stores import T0, builds, make_build, make_run

FIXTURE_OK = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FIXTURE_OK
@given(build=builds)
def test_build_round_trips(store: Store, build: Build) -> None:
    with store.unit_of_work() as uow:
        uow.builds.save(build)
    with store.unit_of_work(readonly=True) as uow:
        assert uow.builds.get(build.uuid) == build


def test_missing_build_is_none(store: Store) -> None:
    with store.unit_of_work(readonly=True) as uow:
        assert uow.builds.get("nope") is None


def test_saving_a_build_again_keeps_its_key_and_replaces_its_children(store: Store) -> None:
    sample = BenchmarkSample(key=SeriesKey(project="p", benchmark="b", metric="m"), value=1.0, unit="s")
    with store.unit_of_work() as uow:
        pk = uow.builds.save(make_build("b1"))
        uow.runs.save(make_run("r-old", count=5), build_pk=pk)
        uow.logs.save(pk, LogFile(name="job-output.txt", blob_sha256="0" * 64, size_bytes=1, line_count=1))
        uow.benchmarks.save_many([sample], build_pk=pk)
    changed = make_build("b1", result=BuildResult.SUCCESS)
    with store.unit_of_work() as uow:
        assert uow.builds.save(changed) == pk
        uow.runs.save(make_run("r-new", count=3), build_pk=pk)
    with store.unit_of_work(readonly=True) as uow:
        assert uow.builds.get("b1") == changed
        assert [r.content_hash for r in uow.runs.get_for_build("b1")] == ["r-new"]
        assert uow.logs.for_build("b1") == []
        counts = uow.stats.counts()
    assert (counts["builds"], counts["runs"], counts["test_results"], counts["samples"]) == (1, 1, 3, 0)


def test_list_filters_by_job_project_result_and_window(store: Store) -> None:
    table = [
        make_build("a", job_name="j1", project="p1", result=BuildResult.SUCCESS, start_time=T0),
        make_build(
            "b", job_name="j1", project="p2", result=BuildResult.FAILURE, start_time=T0 + timedelta(hours=1)
        ),
        make_build(
            "c", job_name="j2", project="p1", result=BuildResult.FAILURE, start_time=T0 + timedelta(hours=2)
        ),
        make_build("d", job_name="j2", project="p1", result=BuildResult.FAILURE, start_time=None, patchset=3),
    ]
    with store.unit_of_work() as uow:
        for build in reversed(table):
            uow.builds.save(build)
    cases = [
        ({}, ["d", "a", "b", "c"]),
        ({"job_name": "j1"}, ["a", "b"]),
        ({"project": "p1"}, ["d", "a", "c"]),
        ({"result": BuildResult.FAILURE}, ["d", "b", "c"]),
        ({"since": T0 + timedelta(minutes=30)}, ["b", "c"]),
        ({"until": T0 + timedelta(hours=1)}, ["a"]),
        ({"project": "p1", "result": BuildResult.FAILURE, "since": T0}, ["c"]),
        ({"limit": 2}, ["d", "a"]),
        ({"change": 12345, "patchset": 3}, ["d"]),
        ({"change": 12345}, ["d", "a", "b", "c"]),
        ({"change": 999}, []),
    ]
    with store.unit_of_work(readonly=True) as uow:
        for filters, expected in cases:
            assert [b.uuid for b in uow.builds.list(**filters)] == expected, filters  # type: ignore[arg-type]


def test_builds_of_one_buildset_share_it(store: Store) -> None:
    first = make_build("x1", buildset_uuid="bs")
    second = make_build("x2", buildset_uuid="bs", job_name="other")
    with store.unit_of_work() as uow:
        uow.builds.save(first)
        uow.builds.save(second)
    with store.unit_of_work(readonly=True) as uow:
        assert uow.builds.get("x1") == first
        assert uow.builds.get("x2") == second
        assert uow.stats.counts()["projects"] == 1


def test_times_are_stored_as_utc_and_naive_ones_taken_as_utc(store: Store) -> None:
    naive = make_build("naive", start_time=datetime(2024, 1, 2, 3, 4, 5, 6), end_time=None)
    plus_two = make_build(
        "plus2", start_time=datetime(2024, 1, 2, 5, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    )
    with store.unit_of_work() as uow:
        uow.builds.save(naive)
        uow.builds.save(plus_two)
    with store.unit_of_work(readonly=True) as uow:
        loaded = [uow.builds.get("naive"), uow.builds.get("plus2")]
    expected = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert [(b.start_time, b.start_time.tzinfo) for b in loaded if b and b.start_time] == [
        (expected, UTC)
    ] * 2
