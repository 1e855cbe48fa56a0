"""Health rows: raw test results as observation columns, rollups to and from table rows.

The store builds :class:`ObservationColumns` straight from driver rows (no per-result
``TestObservation`` records), so adding a run's rollups in the ingest transaction costs a
few numpy passes. Inside the store a rollup's ``test_id`` is the test's primary key as text
(``"42"``): the rollup tables key tests by ``test_pk``, and the long ids are joined in only
when a query returns them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from gatewatch.analyse.health import ObservationColumns, compute_columns
from gatewatch.analyse.health.columns import OUTCOME_CODE
from gatewatch.domain.health import BuildVerdict, DailyJobRollup, DailyTestRollup
from gatewatch.domain.results import Outcome

NO_DAY = date(1, 1, 1)  # the stored day of runs without a timestamp (a key column cannot be NULL)
OUTCOME_BY_VALUE = {o.value: OUTCOME_CODE[o] for o in Outcome}
TEST_COUNTS = (
    "runs",
    "counted_runs",
    "failed_runs",
    "mixed_runs",
    "attempts",
    "passes",
    "failures",
    "skips",
    "infra_attempts",
    "known_failures",
    "flips",
)
TEST_VALUES = (
    *TEST_COUNTS,
    "first_failed",
    "last_failed",
    "first_at",
    "last_at",
    "first_failure_at",
    "last_failure_at",
    "duration_count",
    "duration_sum_s",
    "duration_hist",
)
TEST_KEY = ("day", "test_pk", "job_name", "branch", "pipeline")
JOB_KEY = ("day", "job_name", "branch", "pipeline")
JOB_VALUES = ("builds", "successes", "failures", "infra_failures", "known_failures", "duration_count")
# (day, test_pk, job_name, branch, pipeline), day NO_DAY for no timestamp
StoredKey = tuple[date, int, str, str, str]


@dataclass(frozen=True, slots=True)
class ObsRow:
    """One stored attempt with its build context (what health reads from raw rows)."""

    test_pk: int
    run_id: int
    outcome: str
    timestamp: datetime | None
    duration_s: float | None
    build_uuid: str
    job_name: str
    branch: str
    pipeline: str
    change: int | None
    patchset: int | None
    commit_sha: str


def code_name(change: int | None, patchset: int | None, commit_sha: str, run_id: int) -> str:
    """The code a stored run tested (as ``analyse.health.columns`` names it)."""
    if change is not None and patchset is not None:
        return f"c:{change},{patchset}"
    return f"sha:{commit_sha}" if commit_sha else f"run:{run_id}"


def _factorise(values: Sequence[Any]) -> tuple[tuple[Any, ...], npt.NDArray[np.int64]]:
    index: dict[Any, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), np.int64, count=len(values))
    return tuple(index), codes


def epoch_seconds(at: datetime | None) -> float:
    """Epoch seconds of a stored time (naive means UTC); NaN for none."""
    if at is None:
        return math.nan
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def compute_row_columns(rows: Sequence[ObsRow], verdicts: Mapping[str, str]) -> ObservationColumns:
    """Observation columns of stored attempts (``test_ids`` are test pks as text)."""
    if not rows:
        return compute_columns(())
    tests, test = _factorise([r.test_pk for r in rows])
    runs, run = _factorise([r.run_id for r in rows])
    codes, code = _factorise([code_name(r.change, r.patchset, r.commit_sha, r.run_id) for r in rows])
    builds, build = _factorise([r.build_uuid for r in rows])
    slices, slice_ = _factorise([(r.job_name, r.branch, r.pipeline) for r in rows])
    times, time_idx = _factorise([r.timestamp for r in rows])
    kinds = np.array([verdicts.get(b, "") for b in builds], dtype=object)[build]
    return ObservationColumns(
        test_ids=tuple(str(pk) for pk in tests),
        run_keys=tuple(str(r) for r in runs),
        codes=codes,
        build_uuids=builds,
        slices=slices,
        test=test,
        run=run,
        code=code,
        build=build,
        slice=slice_,
        time_s=np.array([epoch_seconds(t) for t in times], dtype=np.float64)[time_idx]
        if rows
        else np.zeros(0),
        outcome=np.array([OUTCOME_BY_VALUE[r.outcome] for r in rows], dtype=np.int8),
        infra=np.asarray(kinds == BuildVerdict.INFRA.value, dtype=np.bool_).reshape(len(rows)),
        known=np.asarray(kinds == BuildVerdict.KNOWN.value, dtype=np.bool_).reshape(len(rows)),
        duration_s=np.array(
            [math.nan if r.duration_s is None else r.duration_s for r in rows], dtype=np.float64
        ),
    )


def dump_hist(hist: tuple[tuple[int, int], ...]) -> str:
    """A sparse histogram as compact text: ``bucket:count,...``."""
    return ",".join(f"{b}:{c}" for b, c in hist)


def load_hist(text: str) -> tuple[tuple[int, int], ...]:
    if not text:
        return ()
    pairs = (item.split(":") for item in text.split(","))
    return tuple((int(b), int(c)) for b, c in pairs)


def stored_key(r: DailyTestRollup) -> StoredKey:
    return (r.day or NO_DAY, int(r.test_id), r.job_name, r.branch, r.pipeline)


def daily_test_rollup_row(r: DailyTestRollup) -> dict[str, Any]:
    """The table row of a rollup whose ``test_id`` is a test pk as text."""
    row = {name: getattr(r, name) for name in TEST_VALUES}
    row["duration_hist"] = dump_hist(r.duration_hist)
    row.update(zip(TEST_KEY, stored_key(r), strict=True))
    return row


def daily_test_rollup_from_row(m: Any, test_id: str) -> DailyTestRollup:
    day = m["day"]
    return DailyTestRollup(
        day=None if day == NO_DAY else day,
        test_id=test_id,
        job_name=m["job_name"],
        branch=m["branch"],
        pipeline=m["pipeline"],
        **{name: m[name] for name in TEST_VALUES if name != "duration_hist"},
        duration_hist=load_hist(m["duration_hist"]),
    )


def job_rollup_row(r: DailyJobRollup, *, sign: int = 1) -> dict[str, Any]:
    row: dict[str, Any] = {name: sign * getattr(r, name) for name in JOB_VALUES}
    row["duration_sum_s"] = sign * r.duration_sum_s
    row.update(day=r.day or NO_DAY, job_name=r.job_name, branch=r.branch, pipeline=r.pipeline)
    return row


def job_rollup_from_row(m: Any) -> DailyJobRollup:
    day = m["day"]
    return DailyJobRollup(
        day=None if day == NO_DAY else day,
        job_name=m["job_name"],
        branch=m["branch"],
        pipeline=m["pipeline"],
        **{name: int(m[name]) for name in JOB_VALUES},
        duration_sum_s=float(m["duration_sum_s"]),
    )
