"""Parse the timestamps result producers and CI systems write (pure).

``fromisoformat`` (Python >= 3.11) reads ISO 8601 with any number of
fractional digits; this adds what producers write beyond it: a trailing
`` UTC``/`` GMT`` (TestNG), and naive times, which are taken as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

_SUFFIXES = (" UTC", " GMT", " Z")


def parse_timestamp(text: str) -> datetime | None:
    """An aware datetime for ``text`` (naive times are UTC), or None if unparseable."""
    value = text.strip()
    if not value:
        return None
    for suffix in _SUFFIXES:
        if value.endswith(suffix):
            value = value[: -len(suffix)] + "+00:00"
            break
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed
