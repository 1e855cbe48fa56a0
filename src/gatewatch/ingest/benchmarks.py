"""Benchmark results: detect the producer from the content and parse it into samples.

Formats: Rally task report JSON (1.x) and legacy ``rally task results``; pytest-benchmark
JSON; Google Benchmark JSON; asv results JSON; hyperfine JSON; JMH JSON; and a generic CSV
in the style of Apache Otava's CSV importer (a time column, a commit column, one numeric
column per metric; ``name[unit]`` or ``name (unit)`` headers give units). The JSON
producers are parsed in ``bench_json.py`` and ``bench_rally.py``; this module decodes,
detects, and reports malformed input as ``IngestError`` with file and position (JSON
line/column from the decoder, CSV line, or the JSON path of a missing/mistyped field).

Pure: bytes in, ``BenchmarkSample`` records out; the build's defaults come in a
``BenchContext``.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gatewatch.domain.perf import BenchmarkSample
from gatewatch.errors import IngestError
from gatewatch.ingest.bench_common import BenchContext, Origin, parse_time
from gatewatch.ingest.bench_json import (
    parse_asv,
    parse_google_benchmark,
    parse_hyperfine,
    parse_jmh,
    parse_pytest_benchmark,
)
from gatewatch.ingest.bench_rally import parse_rally_legacy, parse_rally_report

__all__ = ["BenchContext", "BenchFormat", "detect_format", "looks_like_benchmark", "parse_benchmarks"]


class BenchFormat(enum.StrEnum):
    """The benchmark producers gatewatch reads."""

    RALLY = "rally"
    RALLY_LEGACY = "rally-legacy"
    PYTEST_BENCHMARK = "pytest-benchmark"
    GOOGLE_BENCHMARK = "google-benchmark"
    ASV = "asv"
    HYPERFINE = "hyperfine"
    JMH = "jmh"
    CSV = "csv"


PARSERS: dict[BenchFormat, Callable[[Any, Origin], list[BenchmarkSample]]] = {
    BenchFormat.RALLY: parse_rally_report,
    BenchFormat.RALLY_LEGACY: parse_rally_legacy,
    BenchFormat.PYTEST_BENCHMARK: parse_pytest_benchmark,
    BenchFormat.GOOGLE_BENCHMARK: parse_google_benchmark,
    BenchFormat.ASV: parse_asv,
    BenchFormat.HYPERFINE: parse_hyperfine,
    BenchFormat.JMH: parse_jmh,
}

TIME_COLUMNS = ("time", "timestamp", "date", "datetime", "created_at")
COMMIT_COLUMNS = ("commit", "commit_sha", "sha", "revision", "git_commit", "hash")
ATTRIBUTE_COLUMNS = ("branch", "version", "build", "build_uuid", "environment", "machine", "host", "job")
JSON_MARKERS = (
    ('"jmhVersion"',),
    ('"primaryMetric"',),
    ('"machine_info"',),
    ('"commit_info"',),
    ('"format_version"', '"tasks"'),
    ('"rally_version"',),
    ('"subtasks"', '"workloads"'),
    ('"key"', '"kw"'),
    ('"result_columns"',),
    ('"commit_hash"', '"results"'),
    ('"context"', '"benchmarks"'),
    ('"context"', '"library_build_type"'),
    ('"results"', '"command"', '"mean"'),
)
UNIT_IN_HEADER = re.compile(r"^(?P<name>.*?)\s*(?:\[(?P<a>[^\]]*)\]|\((?P<b>[^)]*)\))\s*$")


def looks_like_benchmark(head: bytes) -> bool:
    """Whether the first bytes of a file look like one of the formats above (a cheap sniff)."""
    text = head[:65536].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith(("{", "[")):
        return any(all(marker in text for marker in group) for group in JSON_MARKERS)
    first = text.split("\n", 1)[0].strip().lower()
    columns = [c.strip().strip('"') for c in first.split(",")]
    return len(columns) >= 2 and any(c in TIME_COLUMNS for c in columns)


def parse_benchmarks(data: bytes, *, source: str, context: BenchContext) -> list[BenchmarkSample]:
    """All samples in one benchmark file, whatever its producer (see module docstring)."""
    text = _decode(data, source)
    stripped = text.lstrip()
    origin = Origin(context=context, source=source)
    if not stripped.startswith(("{", "[")):
        return _parse_csv(text, origin)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"malformed JSON: {exc.msg}",
            path=source,
            line=exc.lineno,
            column=exc.colno,
            hint="is it truncated?",
        ) from None
    return PARSERS[detect_format(doc, source=source)](doc, origin)


def detect_format(doc: Any, *, source: str = "") -> BenchFormat:
    """The producer of a decoded JSON document, from its structure."""
    if isinstance(doc, list):
        first = doc[0] if doc and isinstance(doc[0], dict) else {}
        if "key" in first and "result" in first:
            return BenchFormat.RALLY_LEGACY
        if "primaryMetric" in first or "jmhVersion" in first:
            return BenchFormat.JMH
    elif isinstance(doc, dict):
        found = _detect_object(doc)
        if found is not None:
            return found
    raise IngestError(
        "not a known benchmark format",
        path=source,
        hint="expected Rally, pytest-benchmark, Google Benchmark, asv, hyperfine or JMH JSON, or CSV",
    )


def _detect_object(doc: dict[str, Any]) -> BenchFormat | None:
    if "tasks" in doc and ("info" in doc or "subtasks" in str(doc.get("tasks"))[:10000]):
        return BenchFormat.RALLY
    if "benchmarks" in doc and ("machine_info" in doc or "commit_info" in doc):
        return BenchFormat.PYTEST_BENCHMARK
    if "benchmarks" in doc and "context" in doc:
        return BenchFormat.GOOGLE_BENCHMARK
    if isinstance(doc.get("results"), list):
        return BenchFormat.HYPERFINE
    if isinstance(doc.get("results"), dict) and ("commit_hash" in doc or "result_columns" in doc):
        return BenchFormat.ASV
    return None


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            "not UTF-8 text", path=source, offset=exc.start, hint="benchmark results are JSON or CSV text"
        ) from None


def _parse_csv(text: str, origin: Origin) -> list[BenchmarkSample]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise IngestError("empty CSV: no header row", path=origin.source, line=1)
    header = [cell.strip() for cell in rows[0]]
    lowered = [h.lower() for h in header]
    time_col = next((i for i, h in enumerate(lowered) if h in TIME_COLUMNS), None)
    if time_col is None:
        raise IngestError(
            f"CSV has no time column (one of {', '.join(TIME_COLUMNS)})",
            path=origin.source,
            line=1,
            hint="Otava-style CSV: time, commit, then one column per metric",
        )
    commit_col = next((i for i, h in enumerate(lowered) if h in COMMIT_COLUMNS), None)
    metrics = [
        i for i, h in enumerate(lowered) if i not in (time_col, commit_col) and h not in ATTRIBUTE_COLUMNS
    ]
    benchmark = origin.source.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "csv"
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise IngestError(
                f"row has {len(row)} fields, header has {len(header)}", path=origin.source, line=line
            )
        here = Origin(
            context=origin.context,
            source=origin.source,
            commit_sha=row[commit_col].strip() if commit_col is not None else "",
            timestamp=_csv_time(row[time_col], origin.source, line),
        )
        out.extend(_csv_metrics(row, header, metrics, here, benchmark=benchmark, line=line))
    return out


def _csv_time(cell: str, source: str, line: int) -> datetime | None:
    try:
        return parse_time(float(cell) if _is_number(cell) else cell.strip(), source=source, path="")
    except IngestError as exc:
        raise IngestError(exc.message, path=source, line=line, hint="use ISO 8601 or Unix seconds") from None


def _csv_metrics(
    row: list[str], header: list[str], metrics: list[int], here: Origin, *, benchmark: str, line: int
) -> list[BenchmarkSample]:
    out = []
    for i in metrics:
        cell = row[i].strip()
        if not cell:
            continue
        if not _is_number(cell):
            raise IngestError(
                f"column {header[i]!r}: {cell!r} is not a number", path=here.source, line=line, column=i + 1
            )
        match = UNIT_IN_HEADER.match(header[i])
        name, unit = (match["name"], match["a"] or match["b"] or "") if match else (header[i], "")
        out.append(here.sample(benchmark=benchmark, metric=name, value=float(cell), unit=unit))
    return out


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return not math.isinf(float(cell)) or cell.strip().lower() in ("inf", "-inf", "infinity", "-infinity")
