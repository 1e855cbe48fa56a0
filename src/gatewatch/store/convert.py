"""Conversions between domain values and column values.

Text: PostgreSQL rejects NUL (``\\x00``) in text columns and neither engine can
encode a lone surrogate (``\\ud800``; parsers may produce one from broken
UTF-16 or ``surrogateescape``). Every string the store writes therefore goes
through ``clean_text``, which replaces each such character with U+FFFD, on
SQLite as well, so both engines store and return the same text. Every other
character (astral planes included) is kept as is.

Properties (``tuple[tuple[str, str], ...]``) are stored as a JSON list of
``[key, value]`` pairs, so order and repeated keys survive a round trip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"

Pairs = tuple[tuple[str, str], ...]
T = TypeVar("T")


def clean_text(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (fast when clean)."""
    if UNSTORABLE.search(text) is None:
        return text
    return UNSTORABLE.sub(REPLACEMENT, text)


def dump_pairs(pairs: Pairs) -> list[list[str]]:
    """Properties as a JSON-ready list of ``[key, value]`` lists."""
    return [[clean_text(k), clean_text(v)] for k, v in pairs]


def load_pairs(value: Any) -> Pairs:
    """The inverse of ``dump_pairs`` (None and [] both mean no properties)."""
    if not value:
        return ()
    return tuple((str(k), str(v)) for k, v in value)


def dump_strings(items: Iterable[str]) -> list[str]:
    return [clean_text(s) for s in items]


def load_strings(value: Sequence[Any] | None) -> tuple[str, ...]:
    return tuple(str(s) for s in value or ())


def chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    """``items`` in slices of at most ``size`` (bounded IN lists and batches)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros_texts(micros: npt.NDArray[np.int64]) -> list[str]:
    """SQLite DATETIME text (``YYYY-MM-DD HH:MM:SS.ffffff``) of epoch microseconds, column-wise."""
    iso = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us").tolist()
    return "\n".join(iso).replace("T", " ").split("\n") if iso else []  # three C passes, not one per value


def datetime_texts(values: Sequence[datetime | None]) -> tuple[str | None, ...]:
    """What the SQLite bind processor of ``UTCDateTime`` gives for each value (naive means UTC), in bulk."""
    present = [i for i, v in enumerate(values) if v is not None]
    micros = np.fromiter(
        ((_aware(values[i]) - _EPOCH) // _MICROSECOND for i in present), dtype=np.int64, count=len(present)
    )
    out: list[str | None] = [None] * len(values)
    for index, text in zip(present, micros_texts(micros), strict=True):
        out[index] = text
    return tuple(out)


def _aware(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
