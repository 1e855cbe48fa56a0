"""Pure helpers for CI log files: split, decode, clean lines and name logs with tags.

Decisions:

- Lines end at ``\\n``; a trailing ``\\r`` is removed (CRLF logs). A lone
  ``\\r`` (progress bars) stays inside the line.
- Bytes are decoded as UTF-8; invalid sequences become U+FFFD, so one bad byte
  never drops a line or fails a file.
- NUL bytes are replaced with U+FFFD as well: PostgreSQL text columns cannot
  hold NUL and matchers treat NUL specially, so it never reaches text.
- Lines longer than ``max_line_bytes`` are cut to that length (the rest of the
  line is skipped without being held in memory), so a 1 GB line without a
  newline costs at most ``max_line_bytes`` of memory.
- ANSI escapes (colours, cursor moves, OSC titles) are kept in stored text and
  removed only for matching (:func:`strip_ansi`).

Tags: fingerprints written for elastic-recheck select files with ``tags:``;
the values they use are the console (``console``, ``console.html``,
``job-output.txt``) and devstack service logs by base name (``screen-n-cpu.txt``,
``syslog.txt``, ``grenade.sh.txt``...). :func:`log_tags` gives every log its path,
base name (without a compression suffix) and these aliases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from gatewatch.domain.logs import LogLine

DEFAULT_MAX_LINE_BYTES = 1 << 20
"""Longest line kept (bytes); longer lines are cut."""
_COMPRESSION_SUFFIXES = (".gz", ".xz", ".zst", ".bz2")
_CONSOLE_NAMES = {"job-output.txt", "job-output.json", "console.html", "console.log", "console.txt"}
_CONSOLE_TAGS = ("console", "console.html", "job-output.txt")
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: window titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
)


def decode_line(raw: bytes) -> str:
    """Text of one raw line: CR/LF stripped, invalid UTF-8 and NUL -> U+FFFD."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    text = raw.decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences, for matching."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def split_lines(chunks: Iterable[bytes], *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[bytes]:
    """Raw lines (without ``\\n``) from a sequence of byte chunks, each at most ``max_line_bytes``.

    Feed it ``iter(lambda: stream.read(1 << 20), b"")`` to stream a file of any size.
    """
    pending = bytearray()
    overflow = False
    for chunk in chunks:
        if not chunk:
            continue
        pieces = chunk.split(b"\n")
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            if pending or overflow or last:
                if not overflow:
                    room = max_line_bytes - len(pending)
                    pending += piece[:room]
                    overflow = len(piece) > room
                if last:
                    break
                yield bytes(pending)
                pending.clear()
                overflow = False
            else:
                yield piece[:max_line_bytes]
    if pending or overflow:
        yield bytes(pending)


def iter_log_lines(
    chunks: Iterable[bytes], *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[LogLine]:
    """Decoded :class:`LogLine` records (1-based numbers) from byte chunks."""
    for number, raw in enumerate(split_lines(chunks, max_line_bytes=max_line_bytes), start=1):
        yield LogLine(number=number, text=decode_line(raw))


def strip_compression_suffix(name: str) -> str:
    """``name`` without a trailing ``.gz``/``.xz``/``.zst``/``.bz2`` (the log's own name)."""
    for suffix in _COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def log_tags(name: str) -> tuple[str, ...]:
    """The tags a log is known by: its path, base name (no compression suffix) and aliases.

    ``logs/job-output.txt.gz`` -> (``logs/job-output.txt.gz``, ``job-output.txt``,
    ``console``, ``console.html``); ``controller/logs/screen-n-cpu.txt`` ->
    (that path, ``screen-n-cpu.txt``).
    """
    path = name.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    base = strip_compression_suffix(path.rsplit("/", 1)[-1])
    tags = [path, base]
    if base in _CONSOLE_NAMES:
        tags.extend(_CONSOLE_TAGS)
    elif base.endswith(".html") and base.startswith("screen-"):
        tags.append(base[: -len(".html")] + ".txt")  # os-loganalyze served screen logs as HTML too
    return tuple(dict.fromkeys(t for t in tags if t))
