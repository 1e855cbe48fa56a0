"""detect_format: content decides, the name only breaks ties."""

from __future__ import annotations

import json

import pytest

from gatewatch.domain.results import Outcome, TestResult
from gatewatch.ingest.detect import HEAD_BYTES, FileKind, detect_benchmark_tool, detect_format
from gatewatch.ingest.subunit import render_subunit
from support.ingest_samples import SAMPLES

_SUBUNIT = render_subunit([TestResult(test_id="a.B.c", outcome=Outcome.PASS)])


@pytest.mark.parametrize("path", sorted(SAMPLES.rglob("*.xml")), ids=lambda p: p.name)
def test_every_junit_sample_is_junit_even_misnamed(path: object) -> None:
    head = path.read_bytes()[:HEAD_BYTES]  # type: ignore[attr-defined]
    assert detect_format(head, name=path.name) is FileKind.JUNIT  # type: ignore[attr-defined]
    if b"<test" in head[:200] or b"<!--" in head[:200]:
        assert detect_format(head, name="whatever.bin") is FileKind.JUNIT


@pytest.mark.parametrize("path", sorted(SAMPLES.rglob("*.subunit")), ids=lambda p: p.name)
def test_subunit_samples(path: object) -> None:
    assert detect_format(path.read_bytes()[:HEAD_BYTES], name="stream") is FileKind.SUBUNIT  # type: ignore[attr-defined]


BENCHMARKS = {
    "jmh": [{"benchmark": "org.x.Bench.run", "mode": "thrpt", "primaryMetric": {"score": 1.0}}],
    "pytest-benchmark": {"machine_info": {}, "commit_info": {}, "benchmarks": [], "version": "4.0.0"},
    "google-benchmark": {"context": {"executable": "./b"}, "benchmarks": [{"name": "BM_x", "real_time": 1}]},
    "hyperfine": {"results": [{"command": "sleep 0.1", "mean": 0.1, "stddev": 0.0}]},
    "asv": {"commit_hash": "abc", "env_name": "py3.11", "results": {}, "version": 2},
    "rally": {"info": {"rally_version": "3.4.0", "format_version": "1.2"}, "tasks": []},
}


@pytest.mark.parametrize(("tool", "document"), sorted(BENCHMARKS.items()))
def test_benchmark_json_is_detected(tool: str, document: object) -> None:
    head = json.dumps(document, indent=2).encode()
    assert detect_format(head, name="results.json") is FileKind.BENCHMARK
    assert detect_benchmark_tool(head) == tool


@pytest.mark.parametrize(
    ("head", "name", "kind"),
    [
        (_SUBUNIT, "x.txt", FileKind.SUBUNIT),
        (b'{"Time":"2025-01-01T00:00:00Z","Action":"start","Package":"p"}\n', "out.txt", FileKind.GOTEST),
        (b'{"ImportPath":"p","Action":"build-output","Output":"x"}\n', "x", FileKind.GOTEST),
        (b'{"uuid": "u", "job_name": "j", "result": "SUCCESS"}', "record", FileKind.BUILD_RECORD),
        (b'{"uuid": "u",', "build.json", FileKind.BUILD_RECORD),
        (b'{"some": "json"}', "job-output.json", FileKind.LOG),
        (b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- c -->\n<testsuites/>", "r", FileKind.JUNIT),
        (b'<?xml version="1.0"?>\n<ns:testsuite xmlns:ns="u"/>', "r", FileKind.JUNIT),
        (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]><testsuite/>', "r", FileKind.JUNIT),
        (b'<?xml version="1.0"?>\n<project/>', "pom.xml", FileKind.LOG),
        (b'<?xml version="1.0" encoding="utf-8"?>\n<testsu', "junit.xml", FileKind.JUNIT),
        (b"<html><body>console</body></html>", "console.html", FileKind.LOG),
        (b"2024-01-01 12:00:00.000 | INFO nova.compute [-] started\n", "screen-n-cpu.txt", FileKind.LOG),
        (b"plain text", "x.xml", FileKind.LOG),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "image.png", FileKind.UNKNOWN),
        (bytes(range(256)) * 4, "blob", FileKind.UNKNOWN),
        (b"garbage \x00\x01 bytes", "stream.subunit", FileKind.SUBUNIT),
        (b"", "job-output.txt", FileKind.LOG),
        (b"", "mystery", FileKind.UNKNOWN),
        ("journal: ünïcödé text ✓\n".encode() * 10, "syslog.txt", FileKind.LOG),
    ],
)
def test_detection_table(head: bytes, name: str, kind: FileKind) -> None:
    assert detect_format(head, name=name) is kind


def test_a_multibyte_character_cut_at_the_head_end_is_still_text() -> None:
    head = ("é" * HEAD_BYTES).encode()[: HEAD_BYTES - 1]
    assert detect_format(head[:HEAD_BYTES], name="x") is FileKind.LOG
