"""Open input members as bounded, transparently decompressed byte streams.

Compression is recognised by magic bytes, never by name: gzip (``1f 8b``),
xz (``fd 37 7a 58 5a 00``), zstd (``28 b5 2f fd``) and bzip2 (``BZh``); other
content is passed through. Every stream counts what it produces and raises
:class:`IngestError` ("decompressed size exceeds N bytes") past
``Limits.max_file_bytes``, and ("decompression ratio exceeds R:1") when the
output grows past ``Limits.ratio_floor_bytes`` at more than ``Limits.max_ratio``
times the compressed bytes read: gzip, zip and zstd bombs stop early, having
used at most one read buffer of memory beyond the limit.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, BinaryIO, cast

import zstandard

from gatewatch.errors import IngestError

Opener = Callable[[], BinaryIO]
_READ_BYTES = 1 << 20
_DECODE_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error, zstandard.ZstdError)
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Bounds on what ingest reads.

    ``max_file_bytes``: largest (decompressed) file; ``max_ratio`` and
    ``ratio_floor_bytes``: compression-bomb guard (checked once the output
    exceeds the floor); ``max_archive_bytes``: largest archive body held in
    memory (``.tar.zst``, stdin); ``max_members``: most files in one archive.
    """

    max_file_bytes: int = 1 << 30
    max_ratio: int = 1000
    ratio_floor_bytes: int = 16 << 20
    max_archive_bytes: int = 1 << 30
    max_members: int = 200_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """One input file: its path inside its unit, a display path and how to open its raw bytes."""

    name: str
    origin: str
    size_bytes: int
    opener: Opener
    compressed_size_bytes: int | None = None


class _Counting(io.RawIOBase):
    """Counts the (compressed) bytes read from ``raw``."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size

    def close(self) -> None:
        self.raw.close()
        super().close()


class BoundedReader(io.RawIOBase):
    """A read-only stream that refuses to produce more than the limits allow."""

    def __init__(self, inner: IO[bytes], *, counter: _Counting | None, origin: str, limits: Limits) -> None:
        self.inner = inner
        self.counter = counter
        self.origin = origin
        self.limits = limits
        self.produced = 0
        self.compressed_hint: int | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self.inner.read(len(buffer))
        except _DECODE_ERRORS as exc:
            raise IngestError(f"cannot read or decompress: {exc}", path=self.origin) from None
        size = len(data)
        buffer[:size] = data
        self.produced += size
        self._check()
        return size

    def _check(self) -> None:
        limits = self.limits
        if self.produced > limits.max_file_bytes:
            raise IngestError(
                f"decompressed size exceeds {limits.max_file_bytes} bytes",
                path=self.origin,
                hint="raise the max_file_bytes limit if this file is genuine",
            )
        if self.produced <= limits.ratio_floor_bytes:
            return
        compressed = self.counter.count if self.counter is not None else self.compressed_hint
        if compressed and self.produced > compressed * limits.max_ratio:
            raise IngestError(
                f"decompression ratio exceeds {limits.max_ratio}:1 (a compression bomb?)",
                path=self.origin,
            )

    def close(self) -> None:
        self.inner.close()
        super().close()


def compression_of(head: bytes) -> str | None:
    """'gzip', 'xz', 'zstd', 'bzip2' or None, from a file's first bytes."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _decompressor(kind: str, raw: IO[bytes]) -> IO[bytes]:
    if kind == "gzip":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == "xz":
        return lzma.LZMAFile(raw)
    if kind == "bzip2":
        return bz2.BZ2File(raw)
    return cast(IO[bytes], zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True))


def open_stream(member: Member, *, limits: Limits) -> BinaryIO:
    """A bounded stream of ``member``'s bytes, decompressed if compressed (streams; never loads it)."""
    try:
        raw = member.opener()
    except OSError as exc:
        raise IngestError(f"cannot open: {exc.strerror or exc}", path=member.origin) from None
    counter = _Counting(raw)
    buffered = io.BufferedReader(counter, buffer_size=_READ_BYTES)
    kind = compression_of(buffered.peek(8)[:8])
    inner: IO[bytes] = _decompressor(kind, cast(IO[bytes], buffered)) if kind else cast(IO[bytes], buffered)
    bounded = BoundedReader(inner, counter=counter if kind else None, origin=member.origin, limits=limits)
    bounded.compressed_hint = member.compressed_size_bytes
    return cast(BinaryIO, io.BufferedReader(bounded, buffer_size=_READ_BYTES))


def read_member(member: Member, *, limits: Limits) -> bytes:
    """All of ``member``'s (decompressed) bytes; IngestError past the limits or on corrupt data."""
    chunks: list[bytes] = []
    try:
        with open_stream(member, limits=limits) as stream:
            while chunk := stream.read(_READ_BYTES):
                chunks.append(chunk)
    except IngestError:
        raise
    except _DECODE_ERRORS as exc:
        raise IngestError(f"cannot read or decompress: {exc}", path=member.origin) from None
    return b"".join(chunks)


def read_head(member: Member, *, limits: Limits, size: int) -> bytes:
    """The first ``size`` (decompressed) bytes of ``member``, for format detection."""
    try:
        with open_stream(member, limits=limits) as stream:
            return stream.read(size)
    except IngestError:
        raise
    except _DECODE_ERRORS as exc:
        raise IngestError(f"cannot read or decompress: {exc}", path=member.origin) from None
