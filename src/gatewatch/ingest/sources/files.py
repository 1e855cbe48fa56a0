"""Walk paths given on the command line into ingest units (files, directories, archives, stdin).

- A directory holding ``build.json`` is ONE :class:`BuildUnit`: the record plus
  every file below it (logs, result files, benchmark JSON), named relative to
  the directory. The walk does not look for further builds below it.
- Any other regular file is a :class:`FileUnit` (a standalone result file).
- Archives (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.zst``, ``.tar.xz``,
  ``.tar.bz2``, ``.zip``) given as paths or met in a directory (outside a
  build) are walked like directories: a member directory with ``build.json``
  is a BuildUnit, other members are FileUnits.
- ``-`` reads stdin (bounded by ``Limits.max_archive_bytes``); a tar or zip on
  stdin is walked as an archive, anything else is one FileUnit named ``<stdin>``.
- What cannot be read is yielded as a :class:`SourceProblem` (path + reason)
  and the walk goes on: permission denied, a dangling symlink, a FIFO, socket
  or device (never opened: opening a FIFO would block), an unlistable
  directory, a corrupt archive. Symlinks to files are followed; symlinks to
  directories are not (no loops). Note for tests: root bypasses file
  permissions, so "unreadable" is exercised with dangling symlinks and FIFOs.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from gatewatch.errors import IngestError
from gatewatch.ingest.sources.archives import is_archive_name, iter_archive
from gatewatch.ingest.sources.streams import Limits, Member, open_stream

BUILD_RECORD_NAME = "build.json"
STDIN_NAME = "<stdin>"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileUnit:
    """A standalone file (a result file outside any build)."""

    member: Member


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildUnit:
    """A build directory: its ``build.json`` and every other file below it."""

    root: str
    record: Member
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceProblem:
    """Something that could not be read; the walk went on without it."""

    path: str
    reason: str


Unit = FileUnit | BuildUnit


def _file_member(path: str, name: str) -> Member | SourceProblem:
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            try:
                info = os.stat(path)
            except FileNotFoundError:
                return SourceProblem(path=path, reason="dangling symlink (its target does not exist)")
            if stat.S_ISDIR(info.st_mode):
                return SourceProblem(path=path, reason="symlink to a directory, not followed")
    except OSError as exc:
        return SourceProblem(path=path, reason=exc.strerror or str(exc))
    if not stat.S_ISREG(info.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(info.st_mode) else "socket or device"
        return SourceProblem(path=path, reason=f"not a regular file ({kind}), skipped")
    if not os.access(path, os.R_OK):
        return SourceProblem(path=path, reason="permission denied")
    return Member(name=name, origin=path, size_bytes=info.st_size, opener=lambda: open(path, "rb"))


def _scan(path: str) -> tuple[list[os.DirEntry[str]], SourceProblem | None]:
    try:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name), None
    except OSError as exc:
        return [], SourceProblem(path=path, reason=f"cannot list directory: {exc.strerror or exc}")


def _build_members(root: str, prefix: str = "") -> Iterator[Member | SourceProblem]:
    entries, problem = _scan(root)
    if problem is not None:
        yield problem
    for entry in entries:
        name = f"{prefix}{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            yield from _build_members(entry.path, f"{name}/")
        else:
            yield _file_member(entry.path, name)


def _build_unit(root: str) -> Iterator[BuildUnit | SourceProblem]:
    record: Member | None = None
    members: list[Member] = []
    for item in _build_members(root):
        if isinstance(item, SourceProblem):
            yield item
        elif item.name == BUILD_RECORD_NAME:
            record = item
        else:
            members.append(item)
    if record is None:
        yield SourceProblem(path=os.path.join(root, BUILD_RECORD_NAME), reason="build.json is not readable")
        return
    yield BuildUnit(root=root, record=record, members=tuple(members))


def _walk_dir(path: str, limits: Limits) -> Iterator[Unit | SourceProblem]:
    entries, problem = _scan(path)
    if problem is not None:
        yield problem
        return
    if any(e.name == BUILD_RECORD_NAME for e in entries):
        yield from _build_unit(path)
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_dir(entry.path, limits)
        else:
            yield from _walk_file(entry.path, limits)


def _walk_file(path: str, limits: Limits) -> Iterator[Unit | SourceProblem]:
    member = _file_member(path, os.path.basename(path))
    if isinstance(member, SourceProblem):
        yield member
    elif is_archive_name(path):
        try:
            raw = member.opener()
        except OSError as exc:
            yield SourceProblem(path=path, reason=exc.strerror or str(exc))
            return
        with raw:
            yield from _walk_archive(raw, origin=path, archive_bytes=member.size_bytes, limits=limits)
    else:
        yield FileUnit(member=member)


def _group(members: list[Member], origin: str) -> Iterator[Unit]:
    """BuildUnits for member directories holding build.json, FileUnits for the rest."""
    roots = sorted({m.name[: -len(BUILD_RECORD_NAME)] for m in members if _is_record(m.name)}, key=len)
    outer: list[str] = []
    for root in roots:
        if not any(root.startswith(o) for o in outer):
            outer.append(root)
    grouped: dict[str, list[Member]] = {root: [] for root in outer}
    units: list[tuple[str, Unit]] = []
    for member in members:
        owner = next((r for r in outer if member.name.startswith(r)), None)
        if owner is None:
            units.append((member.name, FileUnit(member=member)))
        else:
            grouped[owner].append(member)
    for root, inside in grouped.items():
        relative = [_relative(m, root) for m in inside]
        record = next(m for m in relative if m.name == BUILD_RECORD_NAME)
        rest = tuple(sorted((m for m in relative if m is not record), key=lambda m: m.name))
        units.append((root, BuildUnit(root=f"{origin}!{root.rstrip('/')}", record=record, members=rest)))
    for _, unit in sorted(units, key=lambda pair: pair[0]):
        yield unit


def _is_record(name: str) -> bool:
    return name == BUILD_RECORD_NAME or name.endswith("/" + BUILD_RECORD_NAME)


def _relative(member: Member, root: str) -> Member:
    return Member(
        name=member.name[len(root) :],
        origin=member.origin,
        size_bytes=member.size_bytes,
        opener=member.opener,
        compressed_size_bytes=member.compressed_size_bytes,
    )


def _walk_archive(
    raw: BinaryIO, *, origin: str, archive_bytes: int, limits: Limits
) -> Iterator[Unit | SourceProblem]:
    members: list[Member] = []
    try:
        for item in iter_archive(raw, origin=origin, archive_bytes=archive_bytes, limits=limits):
            if isinstance(item, str):
                yield SourceProblem(path=item.split(": ", 1)[0], reason=item.split(": ", 1)[-1])
            else:
                members.append(item)
    except IngestError as exc:
        yield SourceProblem(path=origin, reason=exc.message)
        return
    yield from _group(members, origin)


def _walk_stdin(limits: Limits) -> Iterator[Unit | SourceProblem]:
    data = sys.stdin.buffer.read(limits.max_archive_bytes + 1)
    if len(data) > limits.max_archive_bytes:
        yield SourceProblem(path=STDIN_NAME, reason=f"input exceeds {limits.max_archive_bytes} bytes")
        return
    if data[:4] == b"PK\x03\x04" or data[257:262] == b"ustar" or _compressed_tar(data):
        yield from _walk_archive(io.BytesIO(data), origin=STDIN_NAME, archive_bytes=len(data), limits=limits)
        return
    yield FileUnit(
        member=Member(
            name=STDIN_NAME, origin=STDIN_NAME, size_bytes=len(data), opener=lambda: io.BytesIO(data)
        )
    )


def _compressed_tar(data: bytes) -> bool:
    """Whether compressed stdin data is a tar (peeks at the decompressed header)."""
    if data[:2] not in (b"\x1f\x8b", b"BZ", b"\xfd7", b"\x28\xb5"):
        return False
    member = Member(name=STDIN_NAME, origin=STDIN_NAME, size_bytes=len(data), opener=lambda: io.BytesIO(data))
    try:
        with open_stream(member, limits=Limits()) as stream:
            return stream.read(512)[257:262] == b"ustar"
    except IngestError:
        return False


def iter_units(paths: Sequence[str], *, limits: Limits) -> Iterator[Unit | SourceProblem]:
    """Units (or problems) for files, directories, archives and ``-`` (stdin), in path order."""
    for path in paths:
        if path == "-":
            yield from _walk_stdin(limits)
        elif os.path.isdir(path) and not os.path.islink(path.rstrip("/")):
            yield from _walk_dir(path, limits)
        elif os.path.isdir(path):
            yield from _walk_dir(os.path.realpath(path), limits)
        else:
            yield from _walk_file(path, limits)
