"""parse_gotest: the real go test -json sample, subtests, panics, build failures, bad lines."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from gatewatch.domain.results import Outcome, ResultFormat
from gatewatch.errors import IngestError
from gatewatch.ingest.gotest import PACKAGE_TEST, parse_gotest
from support.ingest_samples import sample_bytes

PKG = "_/home/james_t/git/test-reporter/reports/go"


def _events(*events: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def test_real_sample() -> None:
    run = parse_gotest(sample_bytes("go-test-json/golang-json.json"), source="golang-json.json")
    assert run.format is ResultFormat.GOTEST
    assert len(run.results) == 12
    assert Counter(r.outcome for r in run.results) == Counter(
        {Outcome.PASS: 5, Outcome.FAIL: 6, Outcome.SKIP: 1}
    )
    by_id = {r.test_id: r for r in run.results}
    sub = by_id[f"{PKG}/TestCases/2_+_3_=_4"]
    assert (sub.outcome, sub.duration_s, sub.name) == (Outcome.FAIL, 0.09, "TestCases/2_+_3_=_4")
    assert sub.message == "calculator_test.go:67: expected 2 + 3 = 4, got 5"
    assert by_id[f"{PKG}/TestCases"].outcome is Outcome.FAIL  # parent of failing subtests
    panic = by_id[f"{PKG}/TestPanicInsideTest"]
    assert "panic" in panic.traceback
    assert by_id[f"{PKG}/TestSkipped"].message == "calculator_test.go:45: skipping test"
    assert by_id[f"{PKG}/TestPassing"].traceback == ""
    assert all(r.started_at is not None for r in run.results)
    assert PACKAGE_TEST not in {r.name for r in run.results}  # the package failed because tests did


def test_build_failure_becomes_one_package_error() -> None:
    data = _events(
        {
            "ImportPath": "example.com/p [example.com/p.test]",
            "Action": "build-output",
            "Output": "p.go:3:1: syntax error\n",
        },
        {"ImportPath": "example.com/p [example.com/p.test]", "Action": "build-fail"},
        {"Action": "start", "Package": "example.com/p"},
        {"Action": "output", "Package": "example.com/p", "Output": "FAIL\texample.com/p [build failed]\n"},
        {
            "Action": "fail",
            "Package": "example.com/p",
            "Elapsed": 0,
            "FailedBuild": "example.com/p [example.com/p.test]",
        },
    )
    (result,) = parse_gotest(data, source="x").results
    assert (result.test_id, result.outcome) == (f"example.com/p/{PACKAGE_TEST}", Outcome.ERROR)
    assert "[build failed]" in result.traceback


def test_build_failure_printed_as_text_becomes_one_package_error() -> None:
    # Older go versions print compiler errors and the FAIL line as plain text, with no JSON verdict.
    data = b"# example.com/q\nq.go:3:1: syntax error\nFAIL\texample.com/q [build failed]\n"
    data += _events({"Action": "pass", "Package": "example.com/p", "Test": "TestOK"})
    run = parse_gotest(data, source="x")
    assert [(r.test_id, r.outcome) for r in run.results] == [
        ("example.com/p/TestOK", Outcome.PASS),
        (f"example.com/q/{PACKAGE_TEST}", Outcome.ERROR),
    ]
    only_text = parse_gotest(b"FAIL\texample.com/q [setup failed]\n", source="x")
    assert [r.outcome for r in only_text.results] == [Outcome.ERROR]


def test_panic_that_kills_the_binary_fails_the_running_test() -> None:
    data = _events(
        {"Action": "run", "Package": "p", "Test": "TestA"},
        {"Action": "output", "Package": "p", "Test": "TestA", "Output": "panic: boom\n"},
        {"Action": "output", "Package": "p", "Output": "FAIL\tp\t0.01s\n"},
        {"Action": "fail", "Package": "p", "Elapsed": 0.01},
    )
    (result,) = parse_gotest(data, source="x").results
    assert (result.test_id, result.outcome) == ("p/TestA", Outcome.FAIL)
    assert "panic: boom" in result.traceback


def test_cut_off_stream_leaves_unfinished_tests_as_errors() -> None:
    data = _events({"Action": "run", "Package": "p", "Test": "TestA"})
    (result,) = parse_gotest(data, source="x").results
    assert result.outcome is Outcome.ERROR


def test_non_json_lines_are_skipped_with_a_warning() -> None:
    data = b"# example.com/p\nvet: something\n" + _events({"Action": "pass", "Package": "p", "Test": "TestA"})
    run = parse_gotest(data, source="x")
    assert [r.outcome for r in run.results] == [Outcome.PASS]
    assert run.warnings == ("2 non-JSON line(s) skipped",)


def test_repeated_test_is_a_new_attempt() -> None:
    data = _events(
        {"Action": "fail", "Package": "p", "Test": "TestA"},
        {"Action": "pass", "Package": "p", "Test": "TestA"},
    )
    assert [(r.attempt, r.outcome) for r in parse_gotest(data, source="x").results] == [
        (1, Outcome.FAIL),
        (2, Outcome.PASS),
    ]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'{"Action": "pass", "Package": "p", "Test": "A"}\n{"Action": "pa', 2),
        (b'{"Action": "pass", "Test": "A"}\n{"no": "action"}\n', 2),
    ],
    ids=["truncated", "not-an-event"],
)
def test_broken_json_reports_the_line(data: bytes, line: int) -> None:
    with pytest.raises(IngestError) as caught:
        parse_gotest(data, source="go.json")
    assert (caught.value.path, caught.value.line) == ("go.json", line)


def test_invalid_utf8_in_output_is_replaced() -> None:
    data = b'{"Action": "output", "Package": "p", "Test": "A", "Output": "x\xff\\n"}\n'
    data += b'{"Action": "fail", "Package": "p", "Test": "A"}\n'
    (result,) = parse_gotest(data, source="x").results
    assert result.traceback == "x\ufffd\n"


@pytest.mark.parametrize("data", [b"", b"just text\n", b"\x00\x01\x02"], ids=["empty", "text", "binary"])
def test_input_without_events_is_refused(data: bytes) -> None:
    with pytest.raises(IngestError, match="no go test JSON events"):
        parse_gotest(data, source="x")
