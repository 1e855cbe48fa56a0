"""read_member / open_stream: transparent decompression by magic bytes, bounded output."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import zlib
from collections.abc import Callable

import pytest
import zstandard

from gatewatch.errors import IngestError
from gatewatch.ingest.logs import split_lines
from gatewatch.ingest.sources import Limits, Member, open_stream, read_head, read_member

TEXT = b"2024-01-01 INFO line one\n2024-01-01 ERROR line two\n" * 100
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda data: data,
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bzip2": bz2.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def _member(data: bytes, name: str = "job-output.txt") -> Member:
    return Member(
        name=name, origin=f"/builds/1/{name}", size_bytes=len(data), opener=lambda: io.BytesIO(data)
    )


def _zeros_gzip(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.flush()


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_decompression_is_transparent_and_chosen_by_content(kind: str) -> None:
    packed = COMPRESSORS[kind](TEXT)
    member = _member(packed, name="misleading-name.txt")  # the name says nothing about compression
    assert read_member(member, limits=Limits()) == TEXT
    assert read_head(member, limits=Limits(), size=10) == TEXT[:10]


def test_concatenated_gzip_members_are_all_read() -> None:
    assert read_member(_member(gzip.compress(b"a\n") + gzip.compress(b"b\n")), limits=Limits()) == b"a\nb\n"


@pytest.mark.parametrize("kind", ["plain", "gzip", "zstd"])
def test_output_past_max_file_bytes_is_refused(kind: str) -> None:
    with pytest.raises(IngestError, match="decompressed size exceeds 1000 bytes") as caught:
        read_member(_member(COMPRESSORS[kind](TEXT)), limits=Limits(max_file_bytes=1000))
    assert caught.value.path == "/builds/1/job-output.txt"


def test_gzip_bomb_stops_at_the_size_limit() -> None:
    bomb = _zeros_gzip(64 << 20)  # 64 MiB of zeros in ~64 KiB
    with pytest.raises(IngestError, match="decompressed size exceeds"):
        read_member(_member(bomb), limits=Limits(max_file_bytes=8 << 20))


def test_gzip_bomb_stops_at_the_ratio_limit() -> None:
    bomb = _zeros_gzip(64 << 20)
    limits = Limits(max_file_bytes=1 << 30, max_ratio=100, ratio_floor_bytes=4 << 20)
    with pytest.raises(IngestError, match="ratio exceeds 100:1"):
        read_member(_member(bomb), limits=limits)


@pytest.mark.parametrize(
    "data",
    [
        gzip.compress(TEXT)[:-30],
        b"\x1f\x8b\x08\x00garbage-after-gzip-magic",
        b"\x28\xb5\x2f\xfd\x00\x00broken",
    ],
    ids=["truncated-gzip", "corrupt-gzip", "corrupt-zstd"],
)
def test_corrupt_compressed_data_is_an_ingest_error(data: bytes) -> None:
    with pytest.raises(IngestError, match="cannot read or decompress"):
        read_member(_member(data), limits=Limits())


def test_unopenable_member_is_an_ingest_error() -> None:
    def fail() -> io.BytesIO:
        raise PermissionError(13, "Permission denied")

    member = Member(name="x", origin="/x", size_bytes=0, opener=fail)
    with pytest.raises(IngestError, match="Permission denied"):
        read_member(member, limits=Limits())


def test_a_large_compressed_log_streams_in_bounded_pieces() -> None:
    lines = 400_000  # ~40 MiB of log with varying request ids, read through a 1 MiB window
    log = b"".join(
        b"2024-01-01 12:00:%02d.%06d INFO nova.compute.manager [req-%08x] instance %d spawned\n"
        % (i % 60, i, i * 2654435761 % (1 << 32), i)
        for i in range(lines)
    )
    packed = zstandard.ZstdCompressor(level=1).compress(log)
    count = 0
    digest = hashlib.sha256()
    with open_stream(_member(packed), limits=Limits()) as stream:
        for raw in split_lines(iter(lambda: stream.read(1 << 20), b""), max_line_bytes=4096):
            count += 1
            digest.update(raw + b"\n")
    assert count == lines
    assert digest.hexdigest() == hashlib.sha256(log).hexdigest()
