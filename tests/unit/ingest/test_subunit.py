"""parse_subunit / render_subunit: the stestr samples, python-subunit agreement, broken streams."""

from __future__ import annotations

import io
import struct
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from subunit import ByteStreamToStreamResult, StreamResultToBytes
from testtools import StreamToDict

from gatewatch.domain.results import Outcome, ResultFormat, TestResult
from gatewatch.errors import IngestError
from gatewatch.ingest.subunit import parse_subunit, render_subunit, split_test_id
from support.ingest_samples import sample_bytes

STREAMS = "subunit-v2-stestr/"
_STATUS = {
    "success": Outcome.PASS,
    "fail": Outcome.FAIL,
    "skip": Outcome.SKIP,
    "xfail": Outcome.XFAIL,
    "uxsuccess": Outcome.XPASS,
}


def _reference(data: bytes) -> list[dict[str, Any]]:
    """The tests python-subunit + testtools see in ``data``."""
    tests: list[dict[str, Any]] = []
    sink = StreamToDict(tests.append)
    sink.startTestRun()
    ByteStreamToStreamResult(io.BytesIO(data)).run(sink)
    sink.stopTestRun()
    return tests


@pytest.mark.parametrize(
    ("name", "count", "outcomes"),
    [
        ("failure.subunit", 63, {Outcome.PASS: 62, Outcome.FAIL: 1}),
        ("successful.subunit", 21, {Outcome.PASS: 20, Outcome.SKIP: 1}),
        ("all_skips.subunit", 7, {Outcome.SKIP: 7}),
    ],
)
def test_stestr_samples(name: str, count: int, outcomes: dict[Outcome, int]) -> None:
    run = parse_subunit(sample_bytes(STREAMS + name), source=name)
    assert run.format is ResultFormat.SUBUNIT
    assert len(run.results) == count
    assert Counter(r.outcome for r in run.results) == Counter(outcomes)
    assert all(r.worker.startswith("worker-") for r in run.results)
    assert run.started_at is not None
    assert run.ended_at is not None
    assert run.started_at <= run.ended_at


def test_failure_keeps_traceback_and_output_attachments() -> None:
    run = parse_subunit(sample_bytes(STREAMS + "failure.subunit"), source="failure.subunit")
    (failed,) = [r for r in run.results if r.outcome is Outcome.FAIL]
    assert failed.test_id.endswith("TestSubunitTrace.test_trace_with_all_skips")
    assert failed.traceback.startswith("Traceback (most recent call last):")
    assert "No such file or directory" in failed.traceback
    assert failed.duration_s is not None
    assert failed.duration_s > 0


def test_skip_reason_becomes_message() -> None:
    run = parse_subunit(sample_bytes(STREAMS + "successful.subunit"), source="s")
    (skipped,) = [r for r in run.results if r.outcome is Outcome.SKIP]
    assert skipped.message == "Skipped because of testrepository lp bug #1411804"


def test_class_fixture_ids_split_and_zero_durations() -> None:
    run = parse_subunit(sample_bytes(STREAMS + "all_skips.subunit"), source="s")
    first = run.results[0]
    assert (first.classname, first.name) == (
        "tempest.api.data_processing.test_data_sources.DataSourceTest",
        "setUpClass",
    )
    assert first.message == "Sahara support is required"
    assert first.duration_s == 0.0


@pytest.mark.parametrize("name", ["failure.subunit", "successful.subunit", "all_skips.subunit"])
def test_agrees_with_python_subunit_on_samples(name: str) -> None:
    data = sample_bytes(STREAMS + name)
    _assert_same_as_reference(data)


def _assert_same_as_reference(data: bytes) -> None:
    ours = parse_subunit(data, source="x").results
    reference = _reference(data)
    assert len(ours) == len(reference)
    for mine, theirs in zip(
        sorted(ours, key=lambda r: r.test_id), sorted(reference, key=lambda t: t["id"]), strict=True
    ):
        assert mine.test_id == theirs["id"]
        assert mine.outcome is _STATUS[theirs["status"]]
        assert mine.worker == next((t for t in sorted(theirs["tags"]) if t.startswith("worker-")), "")
        stamps = [t for t in theirs["timestamps"] if t is not None]
        if stamps:
            assert mine.started_at == stamps[0]
        if len(stamps) == 2:
            assert mine.duration_s == pytest.approx((stamps[1] - stamps[0]).total_seconds(), abs=1e-6)
        details = theirs["details"]
        if "traceback" in details:
            assert mine.traceback == _text(details["traceback"])
        if "reason" in details:
            assert mine.message == _text(details["reason"])


def _text(content: Any) -> str:
    return b"".join(content.iter_bytes()).decode("utf-8")


def _result(index: int, outcome: Outcome, **extra: Any) -> TestResult:
    test_id = f"pkg.mod.Class{index % 3}.test_{index}"
    classname, name = split_test_id(test_id)
    return TestResult(test_id=test_id, classname=classname, name=name, outcome=outcome, **extra)


def test_agrees_with_python_subunit_on_a_generated_stream() -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    results = [
        _result(
            i,
            [Outcome.PASS, Outcome.FAIL, Outcome.SKIP, Outcome.XFAIL, Outcome.XPASS][i % 5],
            started_at=start + timedelta(seconds=i),
            duration_s=i / 1000,
            worker=f"worker-{i % 4}",
            traceback="Traceback\n  boom\n" * (i % 2) * 50_000,  # multi-chunk attachments
            message="reason" if i % 5 == 2 else "",
        )
        for i in range(40)
    ]
    _assert_same_as_reference(render_subunit(results, chunk_bytes=4096))


def test_round_trip_keeps_every_field() -> None:
    start = datetime(2023, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    original = [
        _result(
            1,
            Outcome.FAIL,
            started_at=start,
            duration_s=1.5,
            traceback="tb",
            worker="worker-2",
            properties=(("tags", "slow smoke"), ("attachment:stdout", "out")),
        ),
        _result(2, Outcome.SKIP, message="not today"),
        _result(1, Outcome.PASS, attempt=2, started_at=start, duration_s=0.25),
    ]
    assert parse_subunit(render_subunit(original), source="x").results == tuple(original)


def test_route_codes_keep_interleaved_workers_apart() -> None:
    out = io.BytesIO()
    writer = StreamResultToBytes(out)
    # Two workers run the same test id at once under different route codes.
    for status, route, second in [
        ("inprogress", "0", 10),
        ("inprogress", "1", 11),
        ("success", "1", 12),
        ("fail", "0", 15),
    ]:
        when = datetime.fromtimestamp(second, UTC)
        writer.status(test_id="t.T.test", test_status=status, route_code=route, timestamp=when)
    run = parse_subunit(out.getvalue(), source="x")
    assert [(r.outcome, r.attempt, r.duration_s) for r in run.results] == [
        (Outcome.PASS, 1, 1.0),
        (Outcome.FAIL, 2, 5.0),
    ]
    assert [dict(r.properties)["route_code"] for r in run.results] == ["1", "0"]


def test_file_chunks_of_one_attachment_are_joined() -> None:
    out = io.BytesIO()
    writer = StreamResultToBytes(out)
    writer.status(test_id="t.T.test", test_status="inprogress")
    for index, chunk in enumerate([b"Traceback:\n", b"  line 1\n", b"Error: x"]):
        writer.status(test_id="t.T.test", file_name="traceback", file_bytes=chunk, eof=index == 2)
    writer.status(test_id="t.T.test", test_status="fail")
    (result,) = parse_subunit(out.getvalue(), source="x").results
    assert result.traceback == "Traceback:\n  line 1\nError: x"


def test_listing_time_is_not_the_start_time() -> None:
    out = io.BytesIO()
    writer = StreamResultToBytes(out)
    for status, second in [("exists", 1), ("inprogress", 100), ("success", 103)]:
        writer.status(test_id="t.T.test", test_status=status, timestamp=datetime.fromtimestamp(second, UTC))
    (result,) = parse_subunit(out.getvalue(), source="x").results
    assert (result.started_at, result.duration_s) == (datetime.fromtimestamp(100, UTC), 3.0)


def _raw_packet(test_id: bytes, status: int) -> bytes:
    """A hand-built v2 packet (to carry bytes python-subunit's writer cannot produce)."""
    body = bytes((len(test_id),)) + test_id
    length = 1 + 2 + 1 + len(body) + 4
    head = b"\xb3" + struct.pack(">H", 0x2000 | 0x0800 | 0x0100 | status) + bytes((length,)) + body
    return head + struct.pack(">I", zlib.crc32(head))


def test_test_left_in_progress_is_an_error() -> None:
    data = render_subunit([_result(1, Outcome.PASS)])
    first_packet = data[: data.index(b"\xb3", 1)]
    (result,) = parse_subunit(first_packet, source="x").results
    assert result.outcome is Outcome.ERROR
    assert "never finished" in result.message


@pytest.mark.parametrize("cut", [1, 5, 20, -1])
def test_truncated_stream_raises_with_offset(cut: int) -> None:
    data = sample_bytes(STREAMS + "successful.subunit")
    second = data.index(b"\xb3", 1)
    truncated = data[: second + cut] if cut > 0 else data[:cut]
    with pytest.raises(IngestError) as caught:
        parse_subunit(truncated, source="cut.subunit")
    assert caught.value.offset is not None
    assert caught.value.path == "cut.subunit"
    assert "truncated" in caught.value.message


def test_corrupt_packet_fails_its_checksum() -> None:
    data = bytearray(sample_bytes(STREAMS + "successful.subunit"))
    data[30] ^= 0xFF
    with pytest.raises(IngestError, match="CRC32") as caught:
        parse_subunit(bytes(data), source="x")
    assert caught.value.offset == 0


@pytest.mark.parametrize(
    "data",
    [b"hello world\n", b"\x00\x01\x02\x03" * 10, "é".encode("latin-1") * 5],
    ids=["text", "nul", "latin1"],
)
def test_non_subunit_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(IngestError, match="not a subunit v2 packet") as caught:
        parse_subunit(data, source="x")
    assert caught.value.offset == 0


def test_invalid_utf8_in_test_id_is_replaced_not_fatal() -> None:
    (result,) = parse_subunit(_raw_packet(b"a.B.test_\xff", 3), source="x").results
    assert result.test_id == "a.B.test_\ufffd"


def test_listed_only_tests_are_left_out_with_a_warning() -> None:
    run = parse_subunit(_raw_packet(b"a.B.test_listed", 1) + _raw_packet(b"a.B.test_ran", 3), source="x")
    assert [r.test_id for r in run.results] == ["a.B.test_ran"]
    assert run.warnings == ("1 test(s) were listed (status 'exists') but never ran",)


def test_empty_stream_is_an_empty_run() -> None:
    assert parse_subunit(b"", source="x").results == ()


@pytest.mark.parametrize(
    ("test_id", "expected"),
    [
        ("a.b.C.test_x", ("a.b.C", "test_x")),
        ("a.b.C.test_x[id-1,smoke]", ("a.b.C", "test_x[id-1,smoke]")),
        ("a.C.test[v1.2]", ("a.C", "test[v1.2]")),
        ("setUpClass (a.b.C)", ("a.b.C", "setUpClass")),
        ("plain", ("", "plain")),
    ],
)
def test_split_test_id(test_id: str, expected: tuple[str, str]) -> None:
    assert split_test_id(test_id) == expected
