"""Log files attached to a build, and their lines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFile:
    """A stored log: a content-addressed blob plus the names it is known by.

    ``name`` is the path inside the build's logs (``job-output.txt``,
    ``controller/logs/screen-n-cpu.txt``); ``tags`` are the names fingerprints
    match with ``tags:`` (the file name and aliases such as ``console``).
    """

    name: str
    blob_sha256: str
    size_bytes: int
    line_count: int
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine:
    """One decoded line of a log (1-based ``number``), without its newline."""

    number: int
    text: str
