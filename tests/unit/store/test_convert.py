"""Text cleaning, property (de)serialisation and bulk datetime text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.store.convert import chunks, clean_text, datetime_texts, dump_pairs, load_pairs
from gatewatch.store.schema import sqlite_datetime_text


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [
        ("plain", "plain"),
        ("", ""),
        ("a\x00b\x00", "a\ufffdb\ufffd"),
        ("\ud83d", "\ufffd"),
        ("\udcff tail", "\ufffd tail"),
        ("🐍 astral stays", "🐍 astral stays"),
        ("\ufffd already", "\ufffd already"),
    ],
)
def test_clean_text_replaces_nul_and_lone_surrogates(given_text: str, expected: str) -> None:
    assert clean_text(given_text) == expected


@settings(derandomize=True)
@given(st.text(st.characters() | st.characters(categories=["Cs"])))
def test_clean_text_output_always_encodes_and_has_no_nul(text: str) -> None:
    cleaned = clean_text(text)
    assert "\x00" not in cleaned
    assert len(cleaned) == len(text)
    cleaned.encode("utf-8")


@settings(derandomize=True)
@given(st.lists(st.tuples(st.text(), st.text())).map(tuple))
def test_pairs_round_trip_keeping_order_and_repeats(pairs: tuple[tuple[str, str], ...]) -> None:
    assert load_pairs(dump_pairs(pairs)) == tuple((clean_text(k), clean_text(v)) for k, v in pairs)


@pytest.mark.parametrize(
    ("size", "expected"), [(2, [[0, 1], [2, 3], [4]]), (5, [[0, 1, 2, 3, 4]]), (9, [[0, 1, 2, 3, 4]])]
)
def test_chunks_cover_every_item_once(size: int, expected: list[list[int]]) -> None:
    assert [list(c) for c in chunks(list(range(5)), size)] == expected


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(),  # naive: stored as UTC
            st.datetimes(
                timezones=st.sampled_from(
                    [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
                )
            ),
        ),
        max_size=12,
    )
)
def test_bulk_datetime_texts_equal_the_bind_processor(values: list[datetime | None]) -> None:
    assert datetime_texts(values) == tuple(sqlite_datetime_text(v) for v in values)
