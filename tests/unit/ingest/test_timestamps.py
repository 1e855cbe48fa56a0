"""parse_timestamp: the time formats result producers and Zuul write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gatewatch.ingest.timestamps import parse_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T10:00:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2021-03-07T10:36:56 UTC", datetime(2021, 3, 7, 10, 36, 56, tzinfo=UTC)),
        (
            "2025-04-22T08:59:55.364618802-05:00",
            datetime(2025, 4, 22, 8, 59, 55, 364618, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("2020-09-04T16:18:04.966371", datetime(2020, 9, 4, 16, 18, 4, 966371, tzinfo=UTC)),
        ("2024-12-02 20:06:10.512+00:00", datetime(2024, 12, 2, 20, 6, 10, 512000, tzinfo=UTC)),
        ("  2024-01-01  ", datetime(2024, 1, 1, tzinfo=UTC)),
        ("", None),
        ("yesterday", None),
        ("2024-13-01T00:00:00", None),
    ],
)
def test_parse_timestamp(text: str, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected
