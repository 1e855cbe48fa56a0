"""Multi-pattern scanning backends: Hyperscan, and RE2 where Hyperscan is missing.

Both compile every pattern once, match case-insensitively on bytes (ASCII
folding, no UTF-8 decoding) in linear time, and report ``(pattern id, end
offset)`` pairs. They may differ in how many ends they report per line
(Hyperscan reports every end, RE2 the leftmost non-overlapping matches), but
never in which (pattern, line) pairs have a match, because no pattern can
match across a newline. Python's ``re`` is never used on user patterns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import re2 as _re2

from gatewatch.errors import QueryError

BackendName = Literal["auto", "hyperscan", "re2"]

_hyperscan: Any
try:  # pragma: no branch - depends on the platform
    import hyperscan as _hyperscan
except ImportError:  # pragma: no cover - exercised where Hyperscan is not built
    _hyperscan = None


class ScanBackend(Protocol):
    """Finds every pattern occurrence in a block of bytes."""

    name: str

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        """``(pattern id, end offset)`` for the matches in ``data``."""
        ...


def hyperscan_available() -> bool:
    return _hyperscan is not None


class HyperscanBackend:
    """One Hyperscan block-mode database of all patterns (caseless)."""

    name = "hyperscan"

    def __init__(self, patterns: Sequence[bytes]) -> None:
        if _hyperscan is None:
            raise QueryError("Hyperscan is not installed", hint="pip install hyperscan, or use RE2")
        self._db: Any = _hyperscan.Database(mode=_hyperscan.HS_MODE_BLOCK)
        self._empty = not patterns
        if self._empty:
            return
        try:
            self._db.compile(
                expressions=list(patterns),
                ids=list(range(len(patterns))),
                elements=len(patterns),
                flags=[_hyperscan.HS_FLAG_CASELESS] * len(patterns),
            )
        except _hyperscan.error as exc:
            raise QueryError(f"Hyperscan cannot compile the patterns: {exc}") from None

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        if self._empty or not data:
            return []
        found: list[tuple[int, int]] = []
        add = found.append

        def on_match(pattern_id: int, _start: int, end: int, _flags: int, _context: object) -> None:
            add((pattern_id, end))

        self._db.scan(data, match_event_handler=on_match)
        return found


class Re2Backend:
    """An RE2 set finds which patterns occur; each found pattern is then located."""

    name = "re2"

    def __init__(self, patterns: Sequence[bytes]) -> None:
        options = _re2.Options()
        options.encoding = _re2.Options.Encoding.LATIN1
        options.case_sensitive = False
        options.max_mem = 256 << 20
        self._set: Any = _re2.Set.SearchSet(options)
        self._compiled: list[Any] = []
        for index, pattern in enumerate(patterns):
            try:
                self._set.Add(pattern)
                self._compiled.append(_re2.compile(pattern, options))
            except Exception as exc:  # re2 raises its own error types
                raise QueryError(f"RE2 cannot compile pattern {index}: {exc}") from None
        self._empty = not patterns
        if not self._empty:
            self._set.Compile()

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        if self._empty or not data:
            return []
        found: list[tuple[int, int]] = []
        for pattern_id in self._set.Match(data) or ():
            found.extend((pattern_id, m.end()) for m in self._compiled[pattern_id].finditer(data))
        return found


def make_backend(patterns: Sequence[bytes], name: BackendName = "auto") -> ScanBackend:
    """The requested backend; ``auto`` is Hyperscan when importable, else RE2."""
    if name == "hyperscan" or (name == "auto" and _hyperscan is not None):
        return HyperscanBackend(patterns)
    return Re2Backend(patterns)
