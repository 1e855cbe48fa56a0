"""The log blob store: content addressing, streaming, line splitting, failure safety."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.errors import NotFoundError, StoreError
from gatewatch.store.blobs import CHUNK_BYTES, BlobStore


@pytest.mark.parametrize(
    ("content", "lines"),
    [
        (b"", []),
        (b"one", ["one"]),
        (b"one\n", ["one"]),
        (b"one\ntwo", ["one", "two"]),
        (b"one\r\ntwo\r\n", ["one", "two"]),
        (b"\n\n", ["", ""]),
        (b"progress 10%\rprogress 20%\n", ["progress 10%\rprogress 20%"]),
        (b"bad \xff\xfe utf8\n", ["bad \ufffd\ufffd utf8"]),
        ("snake 🐍 ü\n".encode(), ["snake 🐍 ü"]),
        (b"nul \x00 kept\n", ["nul \x00 kept"]),
    ],
)
def test_lines_are_split_on_newline_and_decoded(tmp_path: Path, content: bytes, lines: list[str]) -> None:
    blobs = BlobStore(tmp_path)
    info = blobs.save_bytes(content)
    assert [line.text for line in blobs.open_lines(info.sha256)] == lines
    assert [line.number for line in blobs.open_lines(info.sha256)] == list(range(1, len(lines) + 1))
    assert (info.size_bytes, info.line_count) == (len(content), len(lines))


@settings(derandomize=True, max_examples=50)
@given(
    content=st.binary(max_size=5000) | st.lists(st.sampled_from([b"a", b"\n", b"\r\n", b"xyz"])).map(b"".join)
)
def test_content_round_trips_and_is_addressed_by_its_sha256(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    blobs = BlobStore(tmp_path_factory.mktemp("blobs"))
    info = blobs.save_bytes(content)
    assert info.sha256 == hashlib.sha256(content).hexdigest()
    assert blobs.has(info.sha256)
    with blobs.open_bytes(info.sha256) as reader:
        assert reader.read() == content
    assert info.line_count == len(list(blobs.open_lines(info.sha256)))


def test_blob_path_is_sharded_and_compressed(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    info = blobs.save_bytes(b"the same log\n" * 10_000)
    again = blobs.save_bytes(b"the same log\n" * 10_000)
    path = tmp_path / info.sha256[:2] / f"{info.sha256[2:]}.zst"
    assert again == info
    assert blobs.path_for(info.sha256) == path
    assert path.stat().st_size < info.size_bytes // 100
    assert sorted(p.name for p in tmp_path.rglob("*.zst")) == [path.name]


class _Repeat(io.RawIOBase):
    """``size`` bytes of ``fill`` without ever holding them in memory."""

    def __init__(self, size: int, fill: bytes = b"x", fail_at: int | None = None) -> None:
        self.left, self.fill, self.fail_at, self.given = size, fill, fail_at, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.fail_at is not None and self.given >= self.fail_at:
            raise OSError("connection reset while downloading the log")
        count = min(len(buffer), self.left)
        buffer[:count] = self.fill * count
        self.left -= count
        self.given += count
        return count


def test_a_64_mb_single_line_streams_in_bounded_memory(tmp_path: Path) -> None:
    """64 MB keeps CI fast; the code path is the same for 1 GB (chunked hash, streaming zstd)."""
    size = 64 << 20
    blobs = BlobStore(tmp_path)
    tracemalloc.start()
    try:
        info = blobs.save_blob(io.BufferedReader(_Repeat(size)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = hashlib.sha256()
    for _ in range(size // CHUNK_BYTES):
        expected.update(b"x" * CHUNK_BYTES)
    assert (info.sha256, info.size_bytes, info.line_count) == (expected.hexdigest(), size, 1)
    assert peak < 8 * CHUNK_BYTES
    (line,) = blobs.open_lines(info.sha256)
    assert (line.number, len(line.text), line.text[:3]) == (1, size, "xxx")


def test_a_failed_stream_leaves_no_blob_and_no_temp_file(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    with pytest.raises(OSError, match="connection reset"):
        blobs.save_blob(io.BufferedReader(_Repeat(10 << 20, fail_at=3 << 20)))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_missing_and_malformed_digests_are_reported(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    with pytest.raises(NotFoundError, match="not in the blob store"):
        blobs.open_bytes("0" * 64)
    assert not blobs.has("0" * 64)
    with pytest.raises(StoreError, match="not a sha256"):
        blobs.has("../../etc/passwd")


def test_stale_temporary_files_of_killed_writers_are_removed(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    parts = tmp_path / "tmp"
    parts.mkdir()
    old, young = parts / "old.zst.part", parts / "young.zst.part"
    old.write_bytes(b"half")
    young.write_bytes(b"still writing")
    os.utime(old, (old.stat().st_atime - 7200, old.stat().st_mtime - 7200))
    assert blobs.remove_stale_parts(older_than_s=3600) == 1
    assert sorted(p.name for p in parts.iterdir()) == ["young.zst.part"]
