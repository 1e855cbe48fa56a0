"""Tell what a file holds from its first bytes (pure); the name only breaks ties.

Content rules, in order (``head`` is the start of the *decompressed* file,
:data:`HEAD_BYTES` is enough):

1. ``0xB3`` followed by flags with version nibble 2 -> SUBUNIT.
2. XML whose first element (after the declaration, comments, PIs and any
   DOCTYPE) is ``testsuites``/``testsuite``/``testcase`` -> JUNIT; other XML
   (HTML consoles, configs) is text -> LOG.
3. JSON: a first line that is an object with ``"Action"`` and ``"Package"`` or
   ``"ImportPath"`` -> GOTEST; an object with ``"uuid"``, ``"job_name"`` and
   ``"result"`` -> BUILD_RECORD; the key signature of a performance tool
   (:func:`detect_benchmark_tool`) -> BENCHMARK; other JSON is text -> LOG
   (e.g. ``job-output.json``), unless the name breaks the tie.
4. Text (no NUL bytes, few control characters) -> LOG; anything else -> UNKNOWN.

Tiebreak: when the content is inconclusive (empty, binary, XML cut before its
root element, or JSON without a known signature) a name
ending in ``.subunit`` -> SUBUNIT, ``build.json`` -> BUILD_RECORD, an ``.xml``
name whose content starts with ``<`` -> JUNIT (so a cut-off result file is
reported as a parse error instead of passing as a log), and ``.txt``/``.log``
-> LOG.
"""

from __future__ import annotations

import enum
import re

HEAD_BYTES = 64 << 10
"""How many leading bytes :func:`detect_format` needs."""
_BOM = b"\xef\xbb\xbf"
_PROLOG = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]*\[.*?\])?[^>]*>)", re.S)
_ELEMENT = re.compile(rb"\s*<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]")
_JUNIT_ROOTS = {b"testsuites", b"testsuite", b"testcase"}
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27))
_BENCHMARK_SIGNATURES: tuple[tuple[str, tuple[bytes, ...]], ...] = (
    ("jmh", (b'"primaryMetric"', b'"benchmark"')),
    ("pytest-benchmark", (b'"machine_info"', b'"benchmarks"')),
    ("google-benchmark", (b'"context"', b'"benchmarks"')),
    ("hyperfine", (b'"results"', b'"command"', b'"mean"')),
    ("asv", (b'"commit_hash"', b'"env_name"', b'"results"')),
    ("rally", (b'"load_duration"', b'"full_duration"')),
    ("rally", (b'"rally_version"',)),
    ("rally", (b'"workloads"', b'"subtasks"')),
)


class FileKind(enum.StrEnum):
    """What a file holds, as far as ingest cares."""

    JUNIT = "junit"
    SUBUNIT = "subunit"
    GOTEST = "gotest"
    BUILD_RECORD = "build_record"
    BENCHMARK = "benchmark"
    LOG = "log"
    UNKNOWN = "unknown"


def _xml_root(head: bytes) -> bytes | None:
    pos = 0
    while True:
        match = _PROLOG.match(head, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
    element = _ELEMENT.match(head, pos)
    return element.group(2) if element else None


def detect_benchmark_tool(head: bytes) -> str | None:
    """The performance tool whose JSON ``head`` looks like (``jmh``, ``rally``...), or None."""
    for tool, keys in _BENCHMARK_SIGNATURES:
        if all(key in head for key in keys):
            return tool
    return None


def _json_kind(head: bytes) -> FileKind:
    first_line = head.split(b"\n", 1)[0]
    is_event = first_line.lstrip().startswith(b"{") and b'"Action"' in first_line
    if is_event and (b'"Package"' in first_line or b'"ImportPath"' in first_line):
        return FileKind.GOTEST
    if head.startswith(b"{") and all(k in head for k in (b'"uuid"', b'"job_name"', b'"result"')):
        return FileKind.BUILD_RECORD
    if detect_benchmark_tool(head) is not None:
        return FileKind.BENCHMARK
    return FileKind.UNKNOWN


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL))
    if controls * 100 > len(head):
        return False
    sample = head[:-4] if len(head) >= HEAD_BYTES else head  # a multi-byte char may be cut at the end
    decoded = sample.decode("utf-8", "replace")
    return decoded.count("\ufffd") * 20 <= max(len(decoded), 1)


def _by_content(head: bytes) -> tuple[FileKind, bool]:
    """The kind the content shows, and whether that is conclusive."""
    if len(head) >= 3 and head[0] == 0xB3 and head[1] & 0xF0 == 0x20:
        return FileKind.SUBUNIT, True
    body = head[len(_BOM) :] if head.startswith(_BOM) else head
    stripped = body.lstrip()
    text = FileKind.LOG if _is_text(body) else FileKind.UNKNOWN
    if stripped.startswith(b"<"):
        root = _xml_root(stripped)
        if root is None:
            return text, False  # XML cut before its root element
        return (FileKind.JUNIT, True) if root in _JUNIT_ROOTS else (text, True)
    if stripped.startswith((b"{", b"[")):
        kind = _json_kind(stripped)
        return (kind, True) if kind is not FileKind.UNKNOWN else (text, False)
    return text, text is FileKind.LOG


def _by_name(name: str, head: bytes) -> FileKind | None:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    for suffix in (".gz", ".xz", ".zst", ".bz2"):
        base = base.removesuffix(suffix)
    if base.endswith(".subunit"):
        return FileKind.SUBUNIT
    if base == "build.json":
        return FileKind.BUILD_RECORD
    if base.endswith(".xml") and head.lstrip(_BOM + b" \t\r\n").startswith(b"<"):
        return FileKind.JUNIT
    if base.endswith((".txt", ".log")):
        return FileKind.LOG
    return None


def detect_format(head: bytes, *, name: str) -> FileKind:
    """The :class:`FileKind` of a file from its first bytes; ``name`` breaks ties."""
    kind, conclusive = _by_content(head)
    if conclusive:
        return kind
    return _by_name(name, head) or kind
