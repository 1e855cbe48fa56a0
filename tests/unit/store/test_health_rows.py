"""Health rows: driver rows -> observation columns equal the analysis' own columns of the same
records; histograms and rollups survive the table-row round trip."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from gatewatch.analyse.health import compute_columns, compute_daily_test_rollups
from gatewatch.domain.health import BuildVerdict, TestObservation
from gatewatch.domain.results import Outcome
from gatewatch.store.health_rows import (
    NO_DAY,
    ObsRow,
    compute_row_columns,
    daily_test_rollup_from_row,
    daily_test_rollup_row,
    dump_hist,
    load_hist,
    stored_key,
)

T0 = datetime(2026, 10, 1, 23, 59, tzinfo=UTC)
ROWS = [
    ObsRow(7, 1, "pass", T0, 1.5, "b1", "unit", "master", "check", 10, 1, "abc"),
    ObsRow(7, 1, "fail", T0 + timedelta(minutes=2), None, "b1", "unit", "master", "check", 10, 1, "abc"),
    ObsRow(8, 2, "skip", None, 0.1, "b2", "unit", "master", "gate", None, None, "def"),
    ObsRow(8, 3, "xfail", T0, 0.2, "", "", "", "", None, None, ""),
    ObsRow(7, 4, "error", T0 + timedelta(days=1), 3.0, "b3", "lint", "stable/x", "post", None, None, ""),
]


def _observation(r: ObsRow, verdicts: dict[str, str]) -> TestObservation:
    kind = verdicts.get(r.build_uuid)
    return TestObservation(
        test_id=str(r.test_pk),
        run_key=str(r.run_id),
        outcome=Outcome(r.outcome),
        build_uuid=r.build_uuid,
        job_name=r.job_name,
        branch=r.branch,
        pipeline=r.pipeline,
        change=r.change,
        patchset=r.patchset,
        commit_sha=r.commit_sha,
        started_at=r.timestamp,
        duration_s=r.duration_s,
        build_verdict=BuildVerdict(kind) if kind else None,
    )


@pytest.mark.parametrize("verdicts", [{}, {"b1": "infra"}, {"b2": "known", "b3": "infra"}])
def test_row_columns_equal_the_columns_of_the_same_records(verdicts: dict[str, str]) -> None:
    ours = compute_row_columns(ROWS, verdicts)
    theirs = compute_columns([_observation(r, verdicts) for r in ROWS])
    for name in ("test_ids", "run_keys", "codes", "build_uuids", "slices"):
        assert getattr(ours, name) == getattr(theirs, name), name
    for name in ("test", "run", "code", "build", "slice", "outcome", "infra", "known"):
        assert np.array_equal(getattr(ours, name), getattr(theirs, name)), name
    for name in ("time_s", "duration_s"):
        assert np.array_equal(getattr(ours, name), getattr(theirs, name), equal_nan=True), name


def test_no_rows_give_empty_columns() -> None:
    assert compute_row_columns([], {}).size == 0


@pytest.mark.parametrize("hist", [(), ((0, 1),), ((3, 2), (97, 10), (352, 1))])
def test_histogram_text_round_trip(hist: tuple[tuple[int, int], ...]) -> None:
    assert load_hist(dump_hist(hist)) == hist


def test_rollups_round_trip_through_table_rows() -> None:
    rollups = compute_daily_test_rollups(compute_row_columns(ROWS, {}))
    days = {r.day for r in rollups}
    assert None in days
    assert date(2026, 10, 2) in days
    for r in rollups:
        row = daily_test_rollup_row(r)
        assert row["day"] == (r.day or NO_DAY)
        assert stored_key(r) == (row["day"], int(r.test_id), r.job_name, r.branch, r.pipeline)
        assert daily_test_rollup_from_row(row, r.test_id) == r
