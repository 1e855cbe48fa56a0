"""split_lines gives the same lines however the bytes are chunked, and never exceeds its bound."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.ingest.logs import split_lines

_data = st.binary(max_size=400).map(lambda b: b.replace(b"\x07", b"\n"))


def _reference(data: bytes, limit: int) -> list[bytes]:
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:limit] for line in lines]


@settings(derandomize=True, max_examples=300)
@given(_data, st.lists(st.integers(0, 50), max_size=20), st.integers(1, 40))
def test_chunking_does_not_change_lines(data: bytes, cuts: list[int], limit: int) -> None:
    points = sorted({min(c * 7, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    lines = list(split_lines(chunks, max_line_bytes=limit))
    assert lines == _reference(data, limit)
    assert all(len(line) <= limit for line in lines)
