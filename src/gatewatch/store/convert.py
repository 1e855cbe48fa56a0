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
from typing import Any, TypeVar

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
