"""The narrow raw read's conversions agree with the ORM path they replace."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.store.health_raw import (
    RunContexts,
    compute_epoch_seconds,
    compute_first_appearance,
    parse_stored_time,
)
from gatewatch.store.schema import sqlite_datetime_text

moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@settings(derandomize=True, max_examples=200)
@given(st.lists(st.one_of(st.none(), moments), max_size=30))
def test_epoch_seconds_of_stored_text_equal_datetime_timestamp(stamps: list[datetime | None]) -> None:
    text = [None if s is None else sqlite_datetime_text(s) for s in stamps]
    got = compute_epoch_seconds(text, text=True)
    expected = [math.nan if s is None else s.timestamp() for s in stamps]
    assert np.array_equal(got, np.array(expected, dtype=np.float64), equal_nan=True)
    assert np.array_equal(compute_epoch_seconds(stamps, text=False), got, equal_nan=True)


@settings(derandomize=True, max_examples=200)
@given(st.lists(st.integers(-5, 50), max_size=40))
def test_first_appearance_order_is_that_of_a_dict(values: list[int]) -> None:
    index: dict[int, int] = {}
    codes = [index.setdefault(v, len(index)) for v in values]
    uniq, inverse = compute_first_appearance(np.array(values, dtype=np.int64))
    assert uniq.tolist() == list(index)
    assert inverse.tolist() == codes


def test_stored_times_parse_to_aware_utc() -> None:
    at = datetime(2026, 10, 1, 5, 30, 4, 484531, tzinfo=UTC)
    assert parse_stored_time("2026-10-01 05:30:04.484531") == at
    assert parse_stored_time(at.astimezone(timezone(timedelta(hours=2)))) == at
    assert parse_stored_time(None) is None


def test_runs_without_context_are_marked() -> None:
    contexts = RunContexts(
        run_id=np.array([3, 7], dtype=np.int64), build_uuid=("a", "b"), slice=(("j", "", ""),) * 2,
        code=("c:1,1", "c:2,1"), verdict=("", "infra"),
    )  # fmt: skip
    assert contexts.positions(np.array([7, 3, 5, 9, 1], dtype=np.int64)).tolist() == [1, 0, -1, -1, -1]
