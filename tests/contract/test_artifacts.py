"""Log files and benchmark samples: round trips, series, replacement by name."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewatch.domain.logs import LogFile
from gatewatch.domain.perf import BenchmarkSample, SeriesKey
from gatewatch.errors import StoreError
from gatewatch.store import Store
from support.stores import T0, log_files, make_build, samples

FIXTURE_OK = settings(
    derandomize=True,
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FIXTURE_OK
@given(logs=st.lists(log_files, max_size=4, unique_by=lambda log: log.name))
def test_logs_round_trip_in_save_order(store: Store, logs: list[LogFile]) -> None:
    with store.unit_of_work() as uow:
        build_pk = uow.builds.save(make_build("b1"))
        for log in logs:
            uow.logs.save(build_pk, log)
    with store.unit_of_work(readonly=True) as uow:
        assert uow.logs.for_build("b1") == logs


def test_saving_a_log_name_again_replaces_it(store: Store) -> None:
    first = LogFile(
        name="job-output.txt", blob_sha256="a" * 64, size_bytes=10, line_count=2, tags=("console",)
    )
    second = replace(first, blob_sha256="b" * 64)
    with store.unit_of_work() as uow:
        build_pk = uow.builds.save(make_build("b1"))
        uow.logs.save(build_pk, first)
        uow.logs.save(build_pk, second)
    with store.unit_of_work(readonly=True) as uow:
        assert uow.logs.for_build("b1") == [second]
        assert uow.logs.for_build("other") == []


@FIXTURE_OK
@given(batch=st.lists(samples, max_size=6))
def test_samples_round_trip_per_series(store: Store, batch: list[BenchmarkSample]) -> None:
    with store.unit_of_work() as uow:
        before = {key: uow.benchmarks.load_series(key) for key in uow.benchmarks.series_keys()}
        assert uow.benchmarks.save_many(batch) == len(batch)
    with store.unit_of_work(readonly=True) as uow:
        keys = uow.benchmarks.series_keys()
        assert set(keys) == set(before) | {s.key for s in batch}
        for key in {s.key for s in batch}:
            expected = before.get(key, []) + [s for s in batch if s.key == key]
            assert _same_items(uow.benchmarks.load_series(key), expected)


def _same_items(got: list[BenchmarkSample], expected: list[BenchmarkSample]) -> bool:
    """Equal as multisets (samples of equal time keep save order, but hypothesis mixes times)."""
    rest = list(got)
    for item in expected:
        if item not in rest:
            return False
        rest.remove(item)
    return not rest


def test_series_are_ordered_by_time_and_linked_to_builds(store: Store) -> None:
    key = SeriesKey(project="nova", benchmark="boot", metric="duration", environment="gate-x86")
    other = replace(key, environment="")
    made = [
        BenchmarkSample(
            key=key, value=float(day), unit="s", timestamp=T0 + timedelta(days=day), commit_sha=f"c{day}"
        )
        for day in (3, 1, 2)
    ]
    with store.unit_of_work() as uow:
        build_pk = uow.builds.save(make_build("perf-1"))
        uow.benchmarks.save_many(made[:1], build_pk=build_pk)
        uow.benchmarks.save_many(made[1:])
        uow.benchmarks.save_many([replace(made[0], key=other)])
    with store.unit_of_work(readonly=True) as uow:
        assert uow.benchmarks.series_keys() == [other, key]
        series = uow.benchmarks.load_series(key)
    assert [s.commit_sha for s in series] == ["c1", "c2", "c3"]
    assert [s.build_uuid for s in series] == ["", "", "perf-1"]


@pytest.mark.parametrize(
    ("value", "per_iteration"), [(math.nan, ()), (math.inf, ()), (1.0, (2.0, -math.inf))]
)
def test_non_finite_samples_are_refused_and_nothing_is_stored(
    store: Store, value: float, per_iteration: tuple[float, ...]
) -> None:
    sample = BenchmarkSample(key=SeriesKey(project="p", benchmark="b", metric="m"), value=value, unit="s")
    good = replace(sample, value=1.0)
    with pytest.raises(StoreError, match="not a finite number"), store.unit_of_work() as uow:
        uow.benchmarks.save_many([good, replace(sample, samples=per_iteration)])
    with store.unit_of_work(readonly=True) as uow:
        assert uow.benchmarks.series_keys() == []
