"""The perf repository on SQLite and PostgreSQL: analysis state, change-point status, outliers."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from gatewatch.analyse.perf import compute_change_points, compute_findings, compute_series, update_analysis
from gatewatch.analyse.perf.series import PreparedSeries
from gatewatch.domain.perf import (
    BenchmarkSample,
    ChangeKind,
    Direction,
    PerfFinding,
    RegressionStatus,
    SeriesKey,
)
from gatewatch.errors import NotFoundError
from gatewatch.store import Store
from gatewatch.store.perf import AnalysisRecord
from support.stores import T0, make_build

KEY = SeriesKey(project="nimbus/compute", benchmark="boot", metric="duration", environment="jammy")


def _samples(values: list[float], *, key: SeriesKey = KEY) -> list[BenchmarkSample]:
    return [
        BenchmarkSample(key=key, value=v, unit="s", commit_sha=f"c{i:03d}", timestamp=T0 + timedelta(hours=i))
        for i, v in enumerate(values)
    ]


def _step(n: int = 60, at: int = 40, *, seed: int = 3) -> list[float]:
    rng = np.random.default_rng(seed)
    level = np.where(np.arange(n) < at, 10.0, 11.0)
    values = level + rng.normal(0, 0.1, n)
    values[12] *= 2.5  # one outlier run
    return [float(v) for v in values]


def _record(series: PreparedSeries, *, sample_count: int) -> AnalysisRecord:
    analysis = compute_change_points(series.values)
    return AnalysisRecord(
        key=series.key,
        unit=series.unit,
        direction=series.direction,
        sample_count=sample_count,
        runs_per_commit=series.runs_per_commit,
        commits=series.commits,
        analysis=analysis,
        findings=tuple(compute_findings(series, analysis)),
    )


def _save(store: Store, values: list[float]) -> PreparedSeries:
    series = compute_series(_samples(values))
    with store.unit_of_work() as uow:
        uow.perf.save_analysis(_record(series, sample_count=len(values)), now=T0)
    return series


def test_analysis_state_round_trips_and_extends_like_the_original(store: Store) -> None:
    values = _step()
    series = _save(store, values[:50])
    with store.unit_of_work(readonly=True) as uow:
        stored = uow.perf.load_analysis(KEY)
        assert uow.perf.analysed_counts() == {KEY: 50}
    assert stored is not None
    original = compute_change_points(series.values)
    assert stored.analysis == original
    assert stored.commits == series.commits
    assert (stored.unit, stored.direction, stored.sample_count) == ("s", Direction.LOWER_IS_BETTER, 50)
    assert update_analysis(stored.analysis, values[50:]) == update_analysis(original, values[50:])


def test_findings_and_outliers_are_listed_with_their_commits(store: Store) -> None:
    _save(store, _step())
    with store.unit_of_work(readonly=True) as uow:
        findings = uow.perf.findings()
        outliers = uow.perf.outliers(KEY)
    assert [(f.finding.kind, f.finding.status) for f in findings] == [
        (ChangeKind.REGRESSION, RegressionStatus.OPEN)
    ]
    assert abs(findings[0].finding.index - 40) <= 1
    assert findings[0].finding.first_bad_commit in findings[0].finding.suspect_commits
    assert [(commit, o.index) for commit, o in outliers] == [("c012", 12)]
    with store.unit_of_work(readonly=True) as uow:
        assert uow.perf.counts() == (1, 1)


def test_status_survives_reanalysis_and_vanished_open_points_are_dropped(store: Store) -> None:
    values = _step()
    _save(store, values)
    with store.unit_of_work() as uow:
        first = uow.perf.findings()[0]
        acked = uow.perf.set_status(first.id, RegressionStatus.ACKNOWLEDGED, now=T0 + timedelta(days=1))
    assert acked.finding.status is RegressionStatus.ACKNOWLEDGED
    assert acked.status_changed_at == T0 + timedelta(days=1)
    _save(store, values)  # same change point found again: same id, status kept
    with store.unit_of_work(readonly=True) as uow:
        again = uow.perf.findings()
    assert [(f.id, f.finding.status) for f in again] == [(first.id, RegressionStatus.ACKNOWLEDGED)]
    with store.unit_of_work() as uow:
        uow.perf.set_status(first.id, RegressionStatus.OPEN, now=T0)
    _save(store, [10.0 + 0.01 * (i % 3) for i in range(60)])  # no change any more
    with store.unit_of_work(readonly=True) as uow:
        assert uow.perf.findings() == []
        assert uow.perf.outliers(KEY) == []


def test_fixed_points_are_kept_as_history(store: Store) -> None:
    _save(store, _step())
    with store.unit_of_work() as uow:
        fixed = uow.perf.set_status(uow.perf.findings()[0].id, RegressionStatus.FIXED, now=T0)
    _save(store, [10.0 + 0.01 * (i % 3) for i in range(60)])
    with store.unit_of_work(readonly=True) as uow:
        assert [f.id for f in uow.perf.findings(statuses=(RegressionStatus.FIXED,))] == [fixed.id]
        assert uow.perf.findings(statuses=(RegressionStatus.OPEN,)) == []


def test_unknown_change_point_id_is_not_found(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(NotFoundError, match="no performance change point"):
        uow.perf.set_status(42, RegressionStatus.FIXED, now=T0)


def test_non_finite_statistics_are_stored_as_null_and_read_as_nan(store: Store) -> None:
    series = _save(store, _step())
    with store.unit_of_work() as uow:
        stored = uow.perf.load_analysis(KEY)
        assert stored is not None
        bad: PerfFinding = replace(
            compute_findings(series, stored.analysis)[0], p_value=math.nan, magnitude_pct=math.inf
        )
        record = replace(_record(series, sample_count=60), findings=(bad,))
        uow.perf.save_analysis(record, now=T0)
        (loaded,) = uow.perf.findings()
    assert math.isnan(loaded.finding.p_value)
    assert math.isnan(loaded.finding.magnitude_pct)


def test_sample_counts_and_suspect_changes_and_builds(store: Store) -> None:
    other = replace(KEY, environment="focal")
    with store.unit_of_work() as uow:
        build_pk = uow.builds.save(make_build("b-rally", commit_sha="c001", change=880139, patchset=2))
        uow.benchmarks.save_many(_samples([1.0, 2.0, 3.0])[1:2], build_pk=build_pk)
        uow.benchmarks.save_many(_samples([1.0, 2.0, 3.0]))
        uow.benchmarks.save_many(_samples([1.0], key=other))
    with store.unit_of_work(readonly=True) as uow:
        assert uow.perf.sample_counts() == {KEY: 4, other: 1}
        assert uow.perf.changes_for_commits(["c001", "c002"]) == {"c001": ["openstack/nova 880139,2"]}
        assert uow.perf.builds_for_commits(KEY, ["c001"]) == {"c001": ["b-rally"]}
        assert uow.perf.builds_for_commits(other, ["c001"]) == {}
