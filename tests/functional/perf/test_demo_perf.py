"""The demo's planted performance step, found end to end: generate, ingest, analyse, list.

The small world (2 days) has only a few rally runs, too few to detect anything, so this
generates a small world over 14 days (~28 rally runs on merged nimbus-compute commits, the
step ~60% of the way) and ingests only the rally builds (build.json + rally.json + logs):
the perf series are all there, and the test stays within a few seconds of ingest.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gatewatch.demo import DemoOptions, DemoTruth, generate_demo, load_truth
from gatewatch.demo.truth import PlantedSeries
from gatewatch.domain.perf import ChangeKind, SeriesKey
from gatewatch.services.ingest import ingest_paths
from gatewatch.services.perf import analyse_all, list_regressions, load_series_view, render_perf_summary
from gatewatch.store import Store, open_store

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
TOLERANCE_COMMITS = 2


def _key(series: PlantedSeries) -> SeriesKey:
    """The stored key of a planted series (the Rally parser names atomic actions ``atomic:<name>``)."""
    metric = series.metric if series.metric == "duration" else f"atomic:{series.metric}"
    return SeriesKey(
        project=series.project, benchmark=series.benchmark, metric=metric, environment=series.environment
    )


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, DemoTruth]:
    root = tmp_path_factory.mktemp("demo-perf")
    out = root / "data"
    for _ in generate_demo(out, DemoOptions(seed=42, small=True, days=14)):
        pass
    store = open_store(f"sqlite:///{root / 'gatewatch.db'}", blob_dir=root / "blobs")
    rally_builds = sorted(str(p.parent) for p in out.glob("*/*/rally.json"))
    summary = ingest_paths(store, rally_builds)
    assert not summary.rejected
    analyse_all(store, now=NOW)
    return store, load_truth(out / "truth.json")


def test_the_planted_step_is_found_near_its_commit(analysed: tuple[Store, DemoTruth]) -> None:
    store, truth = analysed
    perf = truth.perf
    assert perf is not None
    found = [v for v in list_regressions(store) if v.stored.finding.key == _key(perf.series)]
    assert len(found) == 1, [v.as_dict() for v in found]
    finding = found[0].stored.finding
    assert finding.kind is ChangeKind.REGRESSION
    assert abs(finding.index - perf.commit_index) <= TOLERANCE_COMMITS
    assert finding.magnitude_pct == pytest.approx(perf.magnitude_pct, abs=3.0)
    assert finding.p_value < 0.001


def test_nothing_else_is_reported(analysed: tuple[Store, DemoTruth]) -> None:
    store, truth = analysed
    perf = truth.perf
    assert perf is not None
    stepped = {_key(perf.series), *(_key(s) for s in perf.also_stepped)}
    reported = [v.stored.finding for v in list_regressions(store)]
    assert {f.key for f in reported} <= stepped
    for finding in reported:
        assert finding.kind is ChangeKind.REGRESSION
        assert abs(finding.index - perf.commit_index) <= TOLERANCE_COMMITS
    for series in perf.unchanged:
        assert not load_series_view(store, _key(series)).findings
    with store.unit_of_work(readonly=True) as uow:
        assert len(uow.benchmarks.series_keys()) == 1 + len(perf.also_stepped) + len(perf.unchanged)


def test_outlier_runs_are_outliers_not_change_points(analysed: tuple[Store, DemoTruth]) -> None:
    store, truth = analysed
    perf = truth.perf
    assert perf is not None
    assert perf.outlier_builds, "this seeded world has a 2-3x slower run"
    view = load_series_view(store, _key(perf.series))
    with store.unit_of_work(readonly=True) as uow:
        commit_of = {s.build_uuid: s.commit_sha for s in uow.benchmarks.load_series(view.key)}
    reported = {view.series.commits[o.index] for o in view.outliers}
    assert {commit_of[b] for b in perf.outlier_builds} <= reported
    assert len(view.findings) == 1


def test_the_summary_names_the_regression(analysed: tuple[Store, DemoTruth]) -> None:
    store, truth = analysed
    assert truth.perf is not None
    lines = render_perf_summary(store)
    assert "3 open regression(s)" in lines[0]
    assert any(truth.perf.commit[:12] in line for line in lines[1:])
