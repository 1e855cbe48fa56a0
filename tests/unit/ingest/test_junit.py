"""parse_junit: every real sample, producer quirks, and hostile or broken input."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from gatewatch.domain.results import Outcome, ResultFormat
from gatewatch.errors import IngestError
from gatewatch.ingest.junit import SUITE_SEPARATOR, parse_junit
from support.ingest_samples import SAMPLES, sample_bytes

P, F, E, S, XF = Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.SKIP, Outcome.XFAIL

# file -> (records, outcome counts, highest attempt number); derived by reading each file.
SAMPLE_TABLE: dict[str, tuple[int, dict[Outcome, int], int]] = {
    "bazel/suite-logs.xml": (1, {E: 1}, 1),
    "cargo-nextest/basic.xml": (3, {P: 2, F: 1}, 1),
    "catch2/report.xml": (1, {F: 1}, 1),
    "container-structure-test/test.xml": (3, {P: 3}, 1),
    "cpp-tst/disabled.xml": (31, {P: 6, F: 19, E: 1, S: 5}, 1),
    "crafted-edge-cases/repeated-testcase-retries.xml": (3, {P: 1, F: 1, E: 1}, 3),
    "crafted-edge-cases/testsuite-in-testsuite.xml": (5, {P: 5}, 1),
    "crafted-edge-cases/unsupported-unicode.xml": (7, {P: 1, S: 2, F: 2, E: 2}, 1),
    "crafted-edge-cases/with-xml-entities.xml": (4, {S: 2, F: 1, E: 1}, 1),
    "cunit/testFailure.xml": (4, {P: 3, F: 1}, 1),
    "jest-junit/jest-junit.xml": (6, {P: 1, F: 4, S: 1}, 1),
    "marathon-android/marathon_junit_report-flakyFailure.xml": (2, {F: 1, P: 1}, 2),
    "maven-surefire/TEST-action.surefire.report.calc.CalcUtilsTest.xml": (2, {F: 2}, 1),
    "maven-surefire-flaky/surefire-report-flakyFailure.xml": (2, {F: 1, P: 1}, 2),
    "mocha-junit-reporter/mocha.xml": (1, {P: 1}, 1),
    "nette-tester/BootstrapFormRenderer-report.xml": (4, {P: 4}, 1),
    "perl-tap-junit/result.xml": (1, {P: 1}, 1),
    "phpunit/phpunit.xml": (12, {P: 10, F: 2}, 1),
    "pytest/junit.gloo.elastic.xml": (14, {P: 10, S: 4}, 1),
    "pytest/python-xunit-pytest.xml": (10, {P: 6, S: 1, F: 2, XF: 1}, 1),
    "python-unittest-xmlrunner/python-xunit-unittest.xml": (8, {P: 4, F: 1, E: 1, S: 1, XF: 1}, 1),
    "scalatest-sbt/TEST-uk.co.gresearch.spark.diff.DiffOptionsSuite.xml": (5, {P: 5}, 1),
    "swift-test-xunit/swift-xunit.xml": (3, {P: 2, F: 1}, 1),
    "testng-junitreport/TEST-org.apache.pulsar.AddMissingPatchVersionTest.xml": (2, {S: 1, F: 1}, 2),
    "xunit-net/xunit.xml": (2, {P: 2}, 1),
}


def test_table_covers_every_xml_sample_except_the_truncated_one() -> None:
    found = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.xml")}
    assert found - set(SAMPLE_TABLE) == {"crafted-edge-cases/truncated-pytest.xml"}


@pytest.mark.parametrize(("relative", "expected"), sorted(SAMPLE_TABLE.items()))
def test_sample_parses_to_expected_counts(
    relative: str, expected: tuple[int, dict[Outcome, int], int]
) -> None:
    data = sample_bytes(relative)
    run = parse_junit(data, source=relative)
    records, outcomes, max_attempt = expected
    assert run.format is ResultFormat.JUNIT
    assert run.content_hash == hashlib.sha256(data).hexdigest()
    assert len(run.results) == records
    assert Counter(r.outcome for r in run.results) == Counter(outcomes)
    assert max(r.attempt for r in run.results) == max_attempt
    pairs = [(r.test_id, r.attempt) for r in run.results]
    assert len(pairs) == len(set(pairs)), "(test_id, attempt) must be unique within a run"


def _parse(relative: str):  # type: ignore[no-untyped-def]
    return parse_junit(sample_bytes(relative), source=relative)


def test_surefire_flaky_failure_is_a_failed_attempt_before_the_pass() -> None:
    run = _parse("maven-surefire-flaky/surefire-report-flakyFailure.xml")
    first, second = run.results
    assert (first.attempt, first.outcome, second.attempt, second.outcome) == (1, F, 2, P)
    assert "MicrosoftTeamsCrudTest.java:58" in first.traceback
    assert first.message.startswith("Expected: <false>")
    assert second.duration_s == pytest.approx(0.683)


def test_two_flaky_failures_then_pass_are_attempts_fail_fail_pass() -> None:
    xml = b"""<testsuite><testcase classname="C" name="t" time="1">
      <flakyFailure message="one"><stackTrace>trace 1</stackTrace></flakyFailure>
      <flakyError message="two"/>
    </testcase></testsuite>"""
    run = parse_junit(xml, source="x.xml")
    assert [(r.attempt, r.outcome, r.message) for r in run.results] == [
        (1, F, "one"),
        (2, E, "two"),
        (3, P, ""),
    ]


def test_rerun_failures_follow_the_first_failure_and_empty_ones_still_fail() -> None:
    xml = b"""<testsuite><testcase classname="C" name="t">
      <failure message="first">boom</failure><rerunFailure/><rerunError message="again"/>
    </testcase></testsuite>"""
    run = parse_junit(xml, source="x.xml")
    assert [(r.attempt, r.outcome, r.message) for r in run.results] == [
        (1, F, "first"),
        (2, F, ""),
        (3, E, "again"),
    ]


def test_empty_rerun_record_on_a_passing_test_is_not_a_pass() -> None:
    xml = b'<testsuite><testcase classname="C" name="t"><rerunFailure></rerunFailure></testcase></testsuite>'
    run = parse_junit(xml, source="x.xml")
    assert [(r.attempt, r.outcome) for r in run.results] == [(1, F), (2, P)]


def test_testng_retry_is_skip_then_fail() -> None:
    run = _parse("testng-junitreport/TEST-org.apache.pulsar.AddMissingPatchVersionTest.xml")
    assert [(r.attempt, r.outcome) for r in run.results] == [(1, S), (2, F)]
    assert run.results[1].message == "expected [1.2.1] but found [1.2.0]"
    assert run.started_at is not None
    assert run.started_at.tzinfo is not None


def test_nested_suites_give_a_suite_path() -> None:
    run = _parse("crafted-edge-cases/testsuite-in-testsuite.xml")
    by_name = {r.name: r.suite for r in run.results}
    assert by_name["TestCase3"] == SUITE_SEPARATOR.join(["Project Test Suite", "TestSuite2", "TestSuite2.1"])
    assert by_name["TestCase5"] == "Project Test Suite"


def test_nanosecond_times_are_detected_and_converted() -> None:
    run = _parse("container-structure-test/test.xml")
    assert run.results[0].duration_s == pytest.approx(0.999638317)
    assert any("nanoseconds" in w for w in run.warnings)


def test_scientific_notation_times() -> None:
    assert _parse("cunit/testFailure.xml").results[0].duration_s == pytest.approx(1.7e-05)
    assert _parse("perl-tap-junit/result.xml").results[0].duration_s == pytest.approx(4.50611114501953e-05)


@pytest.mark.parametrize(
    ("relative", "declared"),
    [("mocha-junit-reporter/mocha.xml", "15515"), ("xunit-net/xunit.xml", "173")],
)
def test_header_counts_that_disagree_are_warned_about(relative: str, declared: str) -> None:
    run = _parse(relative)
    assert any(f"tests={declared}" in w for w in run.warnings)


def test_consistent_headers_give_no_warning() -> None:
    assert _parse("cpp-tst/disabled.xml").warnings == ()


def test_pytest_xfail_and_skip() -> None:
    run = _parse("pytest/python-xunit-pytest.xml")
    outcome = {r.name: r.outcome for r in run.results}
    assert outcome["test_expected_failure"] is XF
    assert outcome["test_always_skip"] is S
    assert ("custom_prop", "custom_val") in run.properties
    record = next(r for r in run.results if r.name == "test_with_record_property")
    assert ("example_key", "1") in record.properties


def test_bom_entities_and_astral_unicode() -> None:
    assert _parse("xunit-net/xunit.xml").results[0].name == "mytestapp.Tests.AttriubteTests.SetTestNoFeature"
    names = [r.name for r in _parse("crafted-edge-cases/with-xml-entities.xml").results]
    assert names[0] == 'Test with "quotes" in the test name'
    assert names[3] == "Test with < and > in the test name"
    unicode = _parse("crafted-edge-cases/unsupported-unicode.xml")
    assert "𒍺𡓿𠄉" in unicode.results[0].name
    assert "𒍺𡓿𠄉" in unicode.results[1].message


def test_disabled_status_is_a_skip() -> None:
    run = _parse("cpp-tst/disabled.xml")
    assert {r.outcome for r in run.results if r.name.startswith("disabled")} == {S}


def test_swift_skipped_test_cannot_be_told_from_a_pass() -> None:
    # swift --xunit-output writes no <skipped/> and no count for skips: the file reads as a pass.
    run = _parse("swift-test-xunit/swift-xunit.xml")
    assert {r.name: r.outcome for r in run.results}["test_always_skip"] is P


def test_failure_without_message_takes_the_first_text_line() -> None:
    run = _parse("jest-junit/jest-junit.xml")
    failing = next(r for r in run.results if r.name == "Failing test")
    assert failing.message == "Error: expect(received).toBeTruthy()"
    assert "main.test.js:10:21" in failing.traceback


def test_truncated_xml_reports_line_and_column() -> None:
    with pytest.raises(IngestError) as caught:
        _parse("crafted-edge-cases/truncated-pytest.xml")
    assert caught.value.path == "crafted-edge-cases/truncated-pytest.xml"
    assert caught.value.line == 11
    assert caught.value.column is not None


@pytest.mark.parametrize("relative", ["pytest/python-xunit-pytest.xml", "cargo-nextest/basic.xml"])
def test_every_cut_of_a_file_is_reported_as_truncated(relative: str) -> None:
    data = sample_bytes(relative).rstrip()
    for cut in range(1, len(data) - 1, 5):
        with pytest.raises(IngestError) as caught:
            parse_junit(data[:cut], source=relative)
        assert caught.value.message.startswith("truncated XML"), (cut, caught.value.message)
        assert caught.value.line is not None


def test_malformed_middle_is_not_called_truncated() -> None:
    with pytest.raises(IngestError) as caught:
        parse_junit(b'<testsuite><testcase name="a\xff"/></testsuite>', source="x.xml")
    assert caught.value.message.startswith("malformed XML")
    assert caught.value.hint == ""


@pytest.mark.parametrize(
    "body",
    [
        '<testsuite><testcase name="&e;"/></testsuite>',
        '<testsuite><testcase name="t"><failure>&e;</failure></testcase></testsuite>',
    ],
    ids=["in-attribute", "in-text"],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_external_entity_is_refused_and_never_read(tmp_path: Path, body: str, encoding: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xml = (
        f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE t [<!ENTITY e SYSTEM "file://{secret}">]>'
        + body
    ).encode(encoding)
    with pytest.raises(IngestError) as caught:
        parse_junit(xml, source="evil.xml")
    assert "DTD" in caught.value.message
    assert "TOP-SECRET-CONTENT" not in str(caught.value)


def _billion_laughs() -> bytes:
    entities = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    body = '<testsuite><testcase name="&l9;"/></testsuite>'
    return f'<?xml version="1.0"?><!DOCTYPE t [{"".join(entities)}]>{body}'.encode()


@pytest.mark.parametrize(
    "prefix",
    [b"", b"<!-- a comment first -->\n", b"<!--" + b"x" * 100_000 + b"-->"],
    ids=["plain", "after-comment", "beyond-the-byte-check"],  # the last is caught after a safe parse
)
def test_billion_laughs_is_refused(prefix: bytes) -> None:
    data = _billion_laughs()
    assert data.count(b"<!ENTITY") == 10
    with pytest.raises(IngestError, match="DTD"):
        parse_junit(data.replace(b"<!DOCTYPE", prefix + b"<!DOCTYPE", 1), source="lol.xml")


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'<testsuite><testcase name="a\xff\xfe"/></testsuite>', 1),
        (b'<testsuite>\n<testcase name="a\x00"/></testsuite>', 2),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1),
        (b"", None),
    ],
    ids=["invalid-utf8", "nul-byte", "binary-garbage", "empty"],
)
def test_bad_bytes_raise_ingest_error_with_position(data: bytes, line: int | None) -> None:
    with pytest.raises(IngestError) as caught:
        parse_junit(data, source="bad.xml")
    if line is not None:
        assert caught.value.line == line


def test_a_huge_text_node_is_refused_with_a_hint() -> None:
    output = b"x" * (11 << 20)  # libxml2 refuses text nodes over 10 MB unless huge_tree is on
    data = b'<testsuite><testcase name="t"><system-out>' + output + b"</system-out></testcase></testsuite>"
    with pytest.raises(IngestError) as caught:
        parse_junit(data, source="big.xml")
    assert "10 MB" in caught.value.hint


def test_non_junit_xml_root_is_refused() -> None:
    with pytest.raises(IngestError, match="root element is <html>"):
        parse_junit(b"<html><body/></html>", source="page.xml")


def test_failing_case_keeps_bounded_system_output() -> None:
    run = _parse("cargo-nextest/basic.xml")
    failing = next(r for r in run.results if r.outcome is F)
    props = dict(failing.properties)
    assert "test test_failure ... FAILED" in props["system-out"]
    passing = next(r for r in run.results if r.outcome is P)
    assert "system-out" not in dict(passing.properties)


def test_streamed_structure_suite_paths_counts_properties_and_start_times() -> None:
    data = (
        b'<testsuites name="all" timestamp="2026-10-01T10:00:00">'
        b'<properties><property name="a" value="1"/></properties>'
        b'<testsuite name="s1" tests="2" failures="0" timestamp="2026-10-01T09:00:00">'
        b'<properties><property name="b" value="2"/></properties>'
        b'<testcase classname="c" name="t1" time="2"/>'
        b'<testsuite name="inner" tests="1"><testcase classname="c" name="t2"><failure>x</failure></testcase>'
        b"</testsuite></testsuite></testsuites>"
    )
    run = parse_junit(data, source="s.xml")
    assert [(r.test_id, r.suite, r.outcome) for r in run.results] == [
        ("c.t1", "s1", P),
        ("c.t2", f"s1{SUITE_SEPARATOR}inner", F),
    ]
    assert run.properties == (("a", "1"), ("b", "2"))
    assert run.started_at is not None
    assert run.started_at.hour == 9
    assert run.name == "all"
    # s1 declares failures=0 but holds the failing testcase of its nested suite
    assert [w for w in run.warnings if "'s1'" in w] == [
        "suite 's1' (line 1) declares failures=0 but holds 1; the testcases found are used"
    ]


def test_testcases_outside_suites_are_not_read_and_a_lone_testcase_root_is() -> None:
    hidden = (
        b'<testsuite name="r"><properties><testcase name="in-properties"/></properties>'
        b'<testcase name="t"><testcase name="in-testcase"/></testcase>'
        b'<foo><testsuite name="x"><testcase name="in-foo"/></testsuite></foo></testsuite>'
    )
    assert [r.test_id for r in parse_junit(hidden, source="h.xml").results] == ["t"]
    lone = (
        b'<testcase classname="c" name="solo" time="2"><properties><property name="p" value="v"/>'
        b"</properties><failure>boom\nline2</failure></testcase>"
    )
    run = parse_junit(lone, source="l.xml")
    ((result),) = run.results
    assert (result.test_id, result.outcome, result.message) == ("c.solo", F, "boom")
    assert run.properties == (("p", "v"),)


def test_a_nanosecond_time_anywhere_converts_every_whole_number_time() -> None:
    data = (
        b'<testsuite name="r" time="9000000000"><testcase name="a" time="2000000000"/>'
        b'<testcase name="b" time="1.5"/><testcase name="c" time="3"/></testsuite>'
    )
    run = parse_junit(data, source="n.xml")
    assert [r.duration_s for r in run.results] == [2.0, 1.5, 3e-9]
    assert run.warnings[0].startswith("whole-number times >= 1e6 found")
