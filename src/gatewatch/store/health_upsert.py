"""Daily test rollups written by SQL arithmetic: one upsert per run, no read-back.

A run's rollups (:func:`compute_daily_test_rollup_table`, numpy) become table rows without
building a record per rollup: days and times are formatted column-wise, and SQLite gets the
driver's own values (``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS.ffffff``, 0/1), exactly what the
columns' bind processors would produce. The upsert folds a new row into a stored one in SQL,
the way :func:`gatewatch.analyse.health.rollups.merge_rollup_pair` folds two rollups (the
contract tests check both give the rebuild): counts add; ``flips`` adds one more when the
stored last counted run and the new first counted run disagree; first/last outcomes and times
take the earlier/later side; duration histograms add bucket-wise (``gw_hist_add`` on SQLite,
registered on every connection; a string aggregate on PostgreSQL). Nothing is read back, so
ingest costs the same whether the day's rows exist or not.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from gatewatch.analyse.health import ObservationColumns
from gatewatch.analyse.health.columns import OUTCOME_CODE
from gatewatch.analyse.health.rollups import ROLLUP_COUNTS, RollupTable
from gatewatch.analyse.health.stats import compute_datetimes
from gatewatch.domain.health import BuildVerdict
from gatewatch.domain.results import TestResult
from gatewatch.store.convert import micros_texts
from gatewatch.store.health_rows import (
    NO_DAY,
    TEST_KEY,
    TEST_VALUES,
    StoredKey,
    dump_hist,
    epoch_seconds,
)

_EPOCH = date(1970, 1, 1)
_TIMES = ("first_at", "last_at", "first_failure_at", "last_failure_at")
_OUTCOMES = {o.value: code for o, code in OUTCOME_CODE.items()}
COLUMNS = (*TEST_KEY, *TEST_VALUES)


def compute_hist_sum(earlier: str | None, later: str | None) -> str:
    """Two stored histograms (``bucket:count,...``) added bucket-wise (SQLite's ``gw_hist_add``).

    Called once per upserted row that meets a stored one, so it stays a few string operations.
    """
    if not earlier or not later:
        return earlier or later or ""
    total: dict[int, int] = {}
    for text in (earlier, later):
        for item in text.split(","):
            bucket, _, count = item.partition(":")
            key = int(bucket)
            total[key] = total.get(key, 0) + int(count)
    return ",".join(f"{bucket}:{total[bucket]}" for bucket in sorted(total))


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Give a new SQLite connection the functions the rollup upsert calls."""
    dbapi_connection.create_function("gw_hist_add", 2, compute_hist_sum, deterministic=True)


def _upsert_sql(dialect: str) -> str:
    table = "daily_test_rollup"
    old = f"{table}."
    counted = f"{old}counted_runs > 0 AND excluded.counted_runs > 0"
    sets = [f"{n} = {old}{n} + excluded.{n}" for n in ROLLUP_COUNTS if n != "flips"]
    sets += [
        f"flips = {old}flips + excluded.flips + "
        f"CASE WHEN {counted} AND {old}last_failed <> excluded.first_failed THEN 1 ELSE 0 END",
        f"first_failed = CASE WHEN {old}counted_runs > 0 THEN {old}first_failed ELSE excluded.first_failed END",
        f"last_failed = CASE WHEN excluded.counted_runs > 0 THEN excluded.last_failed ELSE {old}last_failed END",
        f"duration_count = {old}duration_count + excluded.duration_count",
        f"duration_sum_s = {old}duration_sum_s + excluded.duration_sum_s",
    ]
    for name in _TIMES:
        pick = "min" if name.startswith("first") else "max"
        a, b = f"{old}{name}", f"excluded.{name}"
        if dialect == "postgresql":
            sets.append(f"{name} = {'LEAST' if pick == 'min' else 'GREATEST'}({a}, {b})")
        else:  # SQLite's multi-argument min/max are NULL when an argument is; the text sorts as time
            sets.append(f"{name} = coalesce({pick}({a}, {b}), {a}, {b})")
    if dialect == "postgresql":
        sets.append(
            "duration_hist = (SELECT coalesce(string_agg(h.b::text || ':' || h.c::text, ',' ORDER BY h.b), '') "
            "FROM (SELECT split_part(x, ':', 1)::int AS b, sum(split_part(x, ':', 2)::bigint) AS c "
            f"FROM unnest(string_to_array({old}duration_hist || ',' || excluded.duration_hist, ',')) AS x "
            "WHERE x <> '' GROUP BY 1) AS h)"
        )
        marks = ", ".join(["%s"] * len(COLUMNS))
    else:
        sets.append(f"duration_hist = gw_hist_add({old}duration_hist, excluded.duration_hist)")
        marks = ", ".join("?" * len(COLUMNS))
    return (
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(TEST_KEY)}) DO UPDATE SET {', '.join(sets)}"
    )


_SQL = {name: _upsert_sql(name) for name in ("sqlite", "postgresql")}


def run_columns(
    *,
    results: Sequence[TestResult],
    test_pks: Sequence[int],
    fallback: datetime | None,
    context: tuple[str, tuple[str, str, str], str],
    verdict: str,
) -> ObservationColumns:
    """Observation columns of one new run (one build, one slice, one code), straight from its results.

    ``context`` is (build uuid, (job, branch, pipeline), code key); ``verdict`` the build's
    triage kind as health names it (``infra``, ``known`` or empty).
    """
    tests, test = np.unique(np.fromiter(test_pks, np.int64, count=len(test_pks)), return_inverse=True)
    zeros = np.zeros(len(results), dtype=np.int64)
    times = _epoch_seconds(r.started_at or fallback for r in results)
    durations = [math.nan if r.duration_s is None else r.duration_s for r in results]
    flag = np.full(len(results), True)
    return ObservationColumns(
        test_ids=tuple(str(pk) for pk in tests.tolist()),
        run_keys=("0",),
        codes=(context[2],),
        build_uuids=(context[0],),
        slices=(context[1],),
        test=test.astype(np.int64).reshape(len(results)),
        run=zeros,
        code=zeros,
        build=zeros,
        slice=zeros,
        time_s=np.array(times, dtype=np.float64),
        outcome=np.array([_OUTCOMES[r.outcome.value] for r in results], dtype=np.int8),
        infra=flag if verdict == BuildVerdict.INFRA.value else ~flag,
        known=flag if verdict == BuildVerdict.KNOWN.value else ~flag,
        duration_s=np.array(durations, dtype=np.float64),
    )


def _epoch_seconds(starts: Iterable[datetime | None]) -> list[float]:
    """Epoch seconds of each start (NaN for none), converting each distinct time once."""
    seen: dict[datetime | None, float] = {}
    out = []
    for at in starts:
        value = seen.get(at)
        if value is None:
            value = seen[at] = epoch_seconds(at)
        out.append(value)
    return out


def _sqlite_times(epoch_s: npt.NDArray[np.float64]) -> list[str | None]:
    """SQLite DATETIME text of epoch seconds, rounded to the microsecond as ``datetime.fromtimestamp``."""
    out: list[str | None] = [None] * epoch_s.size
    finite = np.flatnonzero(np.isfinite(epoch_s))
    if finite.size:
        values = epoch_s[finite]
        seconds = np.floor(values)
        micros = seconds.astype(np.int64) * 1_000_000 + np.round((values - seconds) * 1e6).astype(np.int64)
        for index, value in zip(finite.tolist(), micros_texts(micros), strict=True):
            out[index] = value
    return out


def _time_columns(table: RollupTable, *, text: bool) -> list[list[Any]]:
    """The four time columns; a column equal to an earlier one (one run per key) is reused."""
    done: list[tuple[npt.NDArray[np.float64], list[Any]]] = []
    for name in _TIMES:
        values = getattr(table, f"{name}_s")
        same = (column for seen, column in done if np.array_equal(seen, values, equal_nan=True))
        reused = next(same, None)
        if reused is None:
            reused = _sqlite_times(values) if text else compute_datetimes(values.tolist())
        done.append((values, reused))
    return [column for _, column in done]


def _day_values(days: npt.NDArray[np.int64], *, text: bool) -> list[Any]:
    values: dict[int, Any] = {}
    for index in set(days.tolist()):
        day = NO_DAY if index == 0 else _EPOCH + timedelta(days=index - 1)
        values[index] = day.isoformat() if text else day
    return [values[d] for d in days.tolist()]


def rollup_rows(
    table: RollupTable,
    cols: ObservationColumns,
    *,
    dialect: str,
    only: Collection[StoredKey] | None = None,
    leave_out: Collection[StoredKey] = (),
) -> list[tuple[Any, ...]]:
    """Driver rows (``COLUMNS`` order) of ``table``; ``only``/``leave_out`` filter by stored key."""
    if table.size == 0:
        return []
    text = dialect == "sqlite"
    slices = cols.slices or (("", "", ""),)
    days = _day_values(table.day, text=False)
    key_columns = [
        days,
        [int(cols.test_ids[i]) for i in table.test.tolist()],
        *(list(c) for c in zip(*(slices[i] for i in table.slice.tolist()), strict=True)),
    ]
    flags = [table.first_failed.tolist(), table.last_failed.tolist()]
    columns = [
        [d.isoformat() for d in days] if text else days,
        *key_columns[1:],
        *(table.counts[n].tolist() for n in ROLLUP_COUNTS),
        *([[int(v) for v in f] for f in flags] if text else flags),
        *_time_columns(table, text=text),
        table.duration_count.tolist(),
        table.duration_sum_s.tolist(),
        [dump_hist(h) for h in table.hists],
    ]
    rows = list(zip(*columns, strict=True))
    if only is None and not leave_out:
        return rows
    keys = zip(*key_columns, strict=True)
    return [
        row
        for key, row in zip(keys, rows, strict=True)
        if (only is None or key in only) and key not in leave_out
    ]


def write_rollup_rows(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Fold ``rows`` into ``daily_test_rollup`` (insert, or add to the stored row of the key)."""
    if rows:
        conn.exec_driver_sql(_SQL["postgresql" if conn.dialect.name == "postgresql" else "sqlite"], rows)
