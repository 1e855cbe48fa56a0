"""Rollup rows written by SQL arithmetic: the rows of a new run equal the record path's rows
(processed by the columns' own bind processors), SQLite times match the driver's text to the
microsecond, and the SQL fold of two rows equals ``merge_rollup_pair`` on a real SQLite."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.dialects import sqlite

from gatewatch.analyse.health.rollups import (
    compute_daily_test_rollup_table,
    compute_daily_test_rollups,
    merge_rollup_pair,
    rollup_key,
)
from gatewatch.analyse.health.stats import merge_histograms
from gatewatch.domain.results import Outcome, TestResult
from gatewatch.store import open_store
from gatewatch.store import schema as t
from gatewatch.store.health_rows import daily_test_rollup_row, dump_hist, load_hist
from gatewatch.store.health_upsert import (
    COLUMNS,
    _sqlite_times,
    compute_hist_sum,
    rollup_rows,
    run_columns,
    write_rollup_rows,
)
from gatewatch.store.schema import sqlite_datetime_text

T0 = datetime(2026, 10, 1, 23, 59, 58, tzinfo=UTC)
CONTEXT = ("b1", ("unit", "master", "gate"), "c:10,1")


def _results(outcomes: str, *, shift_s: float = 0.0) -> list[TestResult]:
    """p pass, f fail, s skip; a digit repeats the previous test as a retry (attempt 2)."""
    out: list[TestResult] = []
    for i, letter in enumerate(outcomes):
        if letter.isdigit():
            out.append(TestResult(test_id=out[-1].test_id, outcome=Outcome.PASS, attempt=2, duration_s=0.2))
            continue
        outcome = {"p": Outcome.PASS, "f": Outcome.FAIL, "s": Outcome.SKIP}[letter]
        at = T0 + timedelta(seconds=shift_s + i * 1.5)
        out.append(TestResult(test_id=f"t{i}", outcome=outcome, duration_s=0.01 * (i + 1), started_at=at))
    return out


def _columns(results: list[TestResult], verdict: str = "") -> Any:
    pks = {test_id: 100 + n for n, test_id in enumerate(dict.fromkeys(r.test_id for r in results))}
    return run_columns(
        results=results,
        test_pks=[pks[r.test_id] for r in results],
        fallback=T0 - timedelta(hours=1),
        context=CONTEXT,
        verdict=verdict,
    )


def _record_rows(results: list[TestResult], verdict: str = "") -> list[tuple[Any, ...]]:
    """The same rollups through records and SQLAlchemy's bind processors (the reference)."""
    return sorted(_processed_row(r) for r in compute_daily_test_rollups(_columns(results, verdict)))


@pytest.mark.parametrize("outcomes", ["p", "pfs", "f1p", "ssss", "pf1fs1"])
@pytest.mark.parametrize("verdict", ["", "infra", "known"])
def test_run_rows_equal_the_record_path(outcomes: str, verdict: str) -> None:
    cols = _columns(_results(outcomes), verdict)
    rows = rollup_rows(compute_daily_test_rollup_table(cols), cols, dialect="sqlite")
    assert sorted(rows) == _record_rows(_results(outcomes), verdict)


def test_filters_keep_and_leave_out_stored_keys() -> None:
    cols = _columns(_results("pfp"))
    table = compute_daily_test_rollup_table(cols)
    every = rollup_rows(table, cols, dialect="postgresql")
    keys = [tuple(row[:5]) for row in every]
    assert len(keys) == 3
    assert rollup_rows(table, cols, dialect="postgresql", only={keys[1]}) == [every[1]]
    assert rollup_rows(table, cols, dialect="postgresql", leave_out={keys[0]}) == every[1:]


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
            st.just(float("nan")),
        ),
        max_size=20,
    )
)
def test_sqlite_times_equal_the_driver_text(epochs: list[float]) -> None:
    expected = [
        None if math.isnan(e) else sqlite_datetime_text(datetime.fromtimestamp(e, tz=UTC)) for e in epochs
    ]
    assert _sqlite_times(np.array(epochs, dtype=np.float64)) == expected


@pytest.mark.parametrize(
    ("a", "b", "total"),
    [
        ("", "", ""),
        ("3:1", "", "3:1"),
        (None, "2:4", "2:4"),
        ("1:2,5:1", "5:3,7:1", "1:2,5:4,7:1"),
        ("9:1", "1:1", "1:1,9:1"),
    ],
)
def test_histograms_add_bucket_wise(a: str | None, b: str, total: str) -> None:
    assert compute_hist_sum(a, b) == total


def _processed_row(rollup: Any) -> tuple[Any, ...]:
    row = daily_test_rollup_row(rollup)
    dialect = sqlite.dialect()
    values = []
    for name in COLUMNS:
        processor = t.daily_test_rollup.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        values.append(processor(row[name]) if processor else row[name])
    return tuple(values)


@pytest.mark.parametrize(("first", "second"), [("pfs", "fpp"), ("f1f", "ppf"), ("ss", "fp"), ("pf", "ss")])
def test_sql_fold_equals_merge_rollup_pair(tmp_path: Path, first: str, second: str) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'gw.db'}", blob_dir=tmp_path / "blobs")
    runs = [_results(first), _results(second, shift_s=0.5)]
    with store.unit_of_work() as uow:
        conn = uow.health._conn
        conn.execute(
            insert(t.test), [{"id": 100 + i, "test_key": f"k{i}", "test_id": f"t{i}"} for i in range(9)]
        )
        for results in runs:
            cols = _columns(results)
            write_rollup_rows(
                conn, rollup_rows(compute_daily_test_rollup_table(cols), cols, dialect="sqlite")
            )
        stored = sorted(conn.exec_driver_sql(f"SELECT {', '.join(COLUMNS)} FROM daily_test_rollup").all())
    store.close()
    merged: dict[Any, Any] = {}
    for results in runs:
        for rollup in compute_daily_test_rollups(_columns(results)):
            old = merged.get(rollup_key(rollup))
            merged[rollup_key(rollup)] = rollup if old is None else merge_rollup_pair(old, rollup)
    assert [tuple(row) for row in stored] == sorted(_processed_row(r) for r in merged.values())


_HIST = st.dictionaries(st.integers(0, 200), st.integers(1, 10**6), max_size=6).map(
    lambda d: tuple(sorted(d.items()))
)


@given(_HIST, _HIST)
def test_histogram_sum_equals_merge_histograms(
    a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]
) -> None:
    assert load_hist(compute_hist_sum(dump_hist(a), dump_hist(b))) == merge_histograms(a, b)
