"""Content-addressed, zstd-compressed log blobs on disk.

Layout: ``<blob_dir>/ab/cdef....zst`` where ``abcdef...`` is the sha256 of the
UNCOMPRESSED content, so the same log stored twice takes the space once.

``save_blob`` streams: it reads fixed-size chunks, feeds each to the hash, the
newline count and a zstd streaming compressor writing to a temporary file in
``<blob_dir>/tmp/``, then renames it into place. Memory stays bounded whatever
the input (a 1 GB log with no newline at all included), and a process killed
mid-write leaves at most a stray temporary file (``remove_stale_parts``
deletes old ones), never a half blob under a final name. Input that is itself
gz/xz/zst is decompressed by the caller.

Lines are split on ``\\n`` only (a lone ``\\r``, as progress bars write, does
not start a line); ``line_count`` counts them the same way, a last line without
a newline included. Reading decodes UTF-8 with ``errors="replace"`` and strips
the trailing ``\\n``/``\\r\\n``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import zstandard

from gatewatch.domain.logs import LogLine
from gatewatch.errors import NotFoundError, StoreError

CHUNK_BYTES = 1 << 20
ZSTD_LEVEL = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobInfo:
    """What ``save_blob`` stored: the identity and shape of the uncompressed content."""

    sha256: str
    size_bytes: int
    line_count: int


class BlobStore:
    """A directory of compressed blobs addressed by the sha256 of their content."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists)."""
        sha256 = sha256.lower()
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise StoreError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256[2:]}.zst"

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def save_blob(self, stream: BinaryIO) -> BlobInfo:
        """Compress ``stream`` into the store; returns its sha256, size and line count."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, suffix=".zst.part")
        try:
            with os.fdopen(fd, "wb") as raw:
                info = _compress(stream, raw)
                raw.flush()
                os.fsync(raw.fileno())
            final = self.path_for(info.sha256)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        return info

    def save_bytes(self, data: bytes) -> BlobInfo:
        """``save_blob`` for content already in memory."""
        return self.save_blob(io.BytesIO(data))

    def remove_stale_parts(self, *, older_than_s: float = 86_400.0) -> int:
        """Delete temporary files left by killed writers, if older than ``older_than_s``; returns how many.

        Young ones are left alone: another process may still be writing them.
        """
        removed = 0
        cutoff = time.time() - older_than_s
        for part in (self.root / "tmp").glob("*.zst.part"):
            with contextlib.suppress(FileNotFoundError):
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
        return removed

    def open_bytes(self, sha256: str) -> BinaryIO:
        """A streaming reader of the uncompressed content (close it when done)."""
        path = self.path_for(sha256)
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            raise NotFoundError(
                f"log blob {sha256} is not in the blob store {self.root}",
                hint="re-ingest the build's logs or check the blob directory setting",
            ) from None
        reader = zstandard.ZstdDecompressor().stream_reader(fh, closefd=True)
        return cast(BinaryIO, io.BufferedReader(reader, buffer_size=CHUNK_BYTES))

    def open_lines(self, sha256: str) -> Iterator[LogLine]:
        """The blob's lines, numbered from 1, decoded and without line endings."""
        with self.open_bytes(sha256) as reader:
            for number, raw in enumerate(reader, start=1):
                text = raw.decode("utf-8", errors="replace")
                if text.endswith("\n"):
                    text = text[:-2] if text.endswith("\r\n") else text[:-1]
                yield LogLine(number=number, text=text)


def _compress(stream: BinaryIO, out: BinaryIO) -> BlobInfo:
    digest = hashlib.sha256()
    size = newlines = 0
    last = b""
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    with compressor.stream_writer(out, closefd=False) as writer:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    lines = newlines + (1 if size and last != b"\n" else 0)
    return BlobInfo(sha256=digest.hexdigest(), size_bytes=size, line_count=lines)
