"""Read tar and zip archives into bounded in-memory members.

Archive members are held in memory (decompressing a ``.tar.gz`` member by
member in random order would re-read the archive for each one): every member
is bounded by ``Limits.max_file_bytes`` (checked against the header before
reading, then while reading, since headers can lie), the archive's total by
``Limits.max_archive_bytes``, the member count by ``Limits.max_members`` and
the expansion ratio by ``Limits.max_ratio``. Links, devices and FIFOs inside
archives are skipped and reported. Nothing is ever extracted to disk, so
member names (``../x``, absolute paths) cannot escape anywhere; they are only
normalised.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zipfile
from collections.abc import Iterator
from typing import IO, BinaryIO, cast

import zstandard

from gatewatch.errors import IngestError
from gatewatch.ingest.sources.streams import Limits, Member

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2", ".zip")
_READ_BYTES = 1 << 20


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def normalise_name(name: str) -> str:
    """A relative POSIX path for an archive member name (no leading ``/``, no ``..``)."""
    parts = [
        p for p in posixpath.normpath("/" + name.replace("\\", "/")).split("/") if p not in ("", ".", "..")
    ]
    return "/".join(parts)


class _Budget:
    """Tracks an archive's totals against the limits."""

    def __init__(self, origin: str, limits: Limits, archive_bytes: int) -> None:
        self.origin = origin
        self.limits = limits
        self.archive_bytes = max(archive_bytes, 1)
        self.total = 0
        self.members = 0

    def add(self, name: str, size: int, *, compressed: int | None = None) -> None:
        limits = self.limits
        self.members += 1
        if self.members > limits.max_members:
            raise IngestError(f"archive holds more than {limits.max_members} members", path=self.origin)
        if size > limits.max_file_bytes:
            raise IngestError(
                f"decompressed size exceeds {limits.max_file_bytes} bytes (member {name!r})", path=self.origin
            )
        self.total += size
        if self.total > limits.max_archive_bytes:
            raise IngestError(f"decompressed size exceeds {limits.max_archive_bytes} bytes", path=self.origin)
        if compressed is not None:  # zip: members are compressed one by one
            bomb = size > limits.ratio_floor_bytes and size > max(compressed, 1) * limits.max_ratio
        else:
            bomb = (
                self.total > limits.ratio_floor_bytes and self.total > self.archive_bytes * limits.max_ratio
            )
        if bomb:
            raise IngestError(
                f"decompression ratio exceeds {limits.max_ratio}:1 (a compression bomb?)", path=self.origin
            )


def _read_bounded(stream: IO[bytes], declared: int, budget: _Budget, name: str) -> bytes:
    chunks: list[bytes] = []
    produced = 0
    while chunk := stream.read(_READ_BYTES):
        produced += len(chunk)
        if produced > declared:
            raise IngestError(f"member {name!r} is longer than its header says", path=budget.origin)
        chunks.append(chunk)
    return b"".join(chunks)


def _member(name: str, origin: str, data: bytes) -> Member:
    return Member(
        name=name,
        origin=f"{origin}!{name}",
        size_bytes=len(data),
        opener=lambda: io.BytesIO(data),
    )


def _tar_stream(raw: BinaryIO) -> BinaryIO:
    """``raw`` as a tar byte stream: zstd is unwrapped here, tarfile handles gz/bz2/xz itself."""
    head = raw.read(4)
    whole = cast(BinaryIO, _Prefixed(head, raw))
    if head == b"\x28\xb5\x2f\xfd":
        reader = zstandard.ZstdDecompressor().stream_reader(whole, read_across_frames=True)
        return cast(BinaryIO, reader)
    return whole


class _Prefixed(io.RawIOBase):
    """Re-attaches already-read leading bytes to a stream."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self.prefix = prefix
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.prefix:
            size = min(len(buffer), len(self.prefix))
            buffer[:size] = self.prefix[:size]
            self.prefix = self.prefix[size:]
            return size
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def iter_tar(raw: BinaryIO, *, origin: str, archive_bytes: int, limits: Limits) -> Iterator[Member | str]:
    """Members of a tar stream (plain, gz, bz2, xz or zstd), or a problem text per skipped entry."""
    budget = _Budget(origin, limits, archive_bytes)
    stream = io.BufferedReader(cast(io.RawIOBase, _tar_stream(raw)), buffer_size=_READ_BYTES)
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for info in archive:
                name = normalise_name(info.name)
                if info.isdir():
                    continue
                if not info.isfile():
                    yield f"{origin}!{name}: not a regular file in the archive (link or device), skipped"
                    continue
                budget.add(name, info.size)
                extracted = archive.extractfile(info)
                if extracted is None:
                    continue
                data = _read_bounded(extracted, info.size, budget, name)
                yield _member(name, origin, data)
    except (tarfile.TarError, EOFError, OSError, zstandard.ZstdError) as exc:
        raise IngestError(f"cannot read tar archive: {exc}", path=origin) from None


def iter_zip(raw: BinaryIO, *, origin: str, limits: Limits) -> Iterator[Member | str]:
    """Members of a zip archive (needs a seekable stream), or a problem text per skipped entry."""
    try:
        with zipfile.ZipFile(raw) as archive:
            budget = _Budget(origin, limits, 1)
            for info in archive.infolist():
                name = normalise_name(info.filename)
                if info.is_dir():
                    continue
                budget.add(name, info.file_size, compressed=info.compress_size)
                with archive.open(info) as member:
                    data = _read_bounded(member, info.file_size, budget, name)
                yield _member(name, origin, data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise IngestError(f"cannot read zip archive: {exc}", path=origin) from None


def iter_archive(raw: BinaryIO, *, origin: str, archive_bytes: int, limits: Limits) -> Iterator[Member | str]:
    """Members of a tar or zip archive, recognised by content."""
    seekable = raw.seekable()
    head = raw.read(4) if seekable else b""
    if seekable:
        raw.seek(0)
    if head == b"PK\x03\x04" or (not seekable and origin.lower().endswith(".zip")):
        if not seekable:
            raw = io.BytesIO(raw.read(limits.max_archive_bytes + 1))
        yield from iter_zip(raw, origin=origin, limits=limits)
    else:
        yield from iter_tar(raw, origin=origin, archive_bytes=archive_bytes, limits=limits)
