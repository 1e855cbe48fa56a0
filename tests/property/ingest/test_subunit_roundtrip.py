"""parse_subunit(render_subunit(x)) == x for generated results (ERROR has no subunit status)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.domain.results import Outcome, TestResult
from gatewatch.errors import IngestError
from gatewatch.ingest.subunit import _when, parse_subunit, render_subunit, split_test_id

_ident = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
_test_ids = st.builds(
    lambda parts, leaf: ".".join([*parts, leaf]), st.lists(_ident, min_size=0, max_size=3), _ident
)
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
_tags = st.lists(st.text(alphabet="abcdefghij-", min_size=1, max_size=8), max_size=3, unique=True)
_starts = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@st.composite
def _result(draw: st.DrawFn, test_id: str) -> TestResult:
    outcome = draw(st.sampled_from([o for o in Outcome if o is not Outcome.ERROR]))
    started = draw(st.none() | _starts)
    duration = None
    if started is not None:
        duration = draw(st.none() | st.integers(0, 10**10).map(lambda us: us / 10**6))
    tags = [t for t in draw(_tags) if not t.startswith("worker-")]
    props: list[tuple[str, str]] = [("tags", " ".join(sorted(tags)))] if tags else []
    if outcome.is_failure:  # the parser lists tags first, then attachments by name
        names = sorted(draw(st.sets(st.sampled_from(["stderr", "stdout"]))))
        props += [(f"attachment:{n}", draw(_text.filter(bool))) for n in names]
    classname, name = split_test_id(test_id)
    return TestResult(
        test_id=test_id,
        classname=classname,
        name=name,
        outcome=outcome,
        started_at=started,
        duration_s=duration,
        message=draw(_text),
        traceback=draw(_text),
        worker=draw(st.sampled_from(["", "worker-0", "worker-7"])),
        properties=tuple(props),
    )


@st.composite
def _results(draw: st.DrawFn) -> list[TestResult]:
    ids = draw(st.lists(_test_ids, min_size=0, max_size=8))
    seen: dict[str, int] = {}
    results = []
    for test_id in ids:  # a repeated id is a rerun: the next attempt
        seen[test_id] = seen.get(test_id, 0) + 1
        result = draw(_result(test_id))
        results.append(_with_attempt(result, seen[test_id]))
    return results


def _with_attempt(result: TestResult, attempt: int) -> TestResult:
    fields = {f: getattr(result, f) for f in result.__dataclass_fields__}
    return TestResult(**{**fields, "attempt": attempt})


@settings(derandomize=True, max_examples=100, deadline=None)
@given(_results(), st.integers(1, 64))
def test_render_then_parse_is_identity(results: list[TestResult], chunk_bytes: int) -> None:
    stream = render_subunit(results, chunk_bytes=chunk_bytes)
    assert list(parse_subunit(stream, source="x").results) == results


@settings(derandomize=True, max_examples=100, deadline=None)
@given(_results(), st.data())
def test_any_cut_inside_a_packet_is_reported_not_swallowed(
    results: list[TestResult], data: st.DataObject
) -> None:
    stream = render_subunit(results)
    cut = data.draw(st.integers(0, len(stream)))
    if cut in _packet_starts(stream) or cut == len(stream):
        run = parse_subunit(stream[:cut], source="x")
        assert len(run.results) <= len(results)
        return
    with pytest.raises(IngestError) as caught:
        parse_subunit(stream[:cut], source="x")
    assert caught.value.offset is not None
    assert caught.value.offset <= cut


def _packet_starts(stream: bytes) -> set[int]:
    starts, pos = set(), 0
    while pos < len(stream):
        starts.add(pos)
        length = stream[pos + 3]
        kind = length & 0xC0
        if kind == 0:
            pos += length
        elif kind == 0x40:
            pos += ((length & 0x3F) << 8) | stream[pos + 4]
        else:
            pos += ((length & 0x3F) << 16) | (stream[pos + 4] << 8) | stream[pos + 5]
    return starts


@given(st.integers(0, 2**32 - 1), st.integers(0, 0x3FFFFFFF))
def test_cached_seconds_give_the_same_time(seconds: int, nanos: int) -> None:
    cache: dict[int, datetime] = {}
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=nanos // 1000)
    assert _when((seconds, nanos), cache) == expected
    assert _when((seconds, nanos), cache) == expected  # the second call reads the cache
