"""Use case: ingest builds, test results, logs and benchmark results from paths.

Flow per unit (a build directory, or one standalone result file):
read (sources, bounded) -> hash -> skip if already ingested -> parse (pure) ->
stream logs into the blob store -> save everything in ONE transaction, with the
unit's content hash recorded in the same transaction. A malformed file is
reported with its path and position; nothing of it is stored and the batch
goes on. Re-ingesting identical input is a no-op; a build re-ingested with
different content replaces its previous runs and logs.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from gatewatch.domain.builds import Build
from gatewatch.domain.logs import LogFile
from gatewatch.domain.perf import BenchmarkSample
from gatewatch.domain.results import Run
from gatewatch.errors import IngestError
from gatewatch.ingest.benchmarks import BenchContext, looks_like_benchmark, parse_benchmarks
from gatewatch.ingest.builds import parse_build_record
from gatewatch.ingest.detect import FileKind, detect_format
from gatewatch.ingest.gotest import parse_gotest
from gatewatch.ingest.junit import parse_junit
from gatewatch.ingest.logs import log_tags, strip_compression_suffix
from gatewatch.ingest.sources import (
    BuildUnit,
    FileUnit,
    Limits,
    Member,
    SourceProblem,
    iter_units,
    open_stream,
    read_head,
    read_member,
)
from gatewatch.ingest.subunit import parse_subunit
from gatewatch.store import Store

log = logging.getLogger(__name__)

RESULT_PARSERS: dict[FileKind, Callable[..., Run]] = {
    FileKind.JUNIT: parse_junit,
    FileKind.SUBUNIT: parse_subunit,
    FileKind.GOTEST: parse_gotest,
}
HEAD_BYTES = 64 * 1024
HASH_CHUNK_BYTES = 1 << 20


class NotAResultFile(IngestError):
    """A text file outside a build directory: nothing to ingest, nothing wrong."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """One input that was not stored, and why (path and position inside the message).

    Rejected inputs are bad (malformed, truncated, binary, too large) and make
    the CLI exit non-zero; skipped ones are plain text that is not a result
    file (a README beside the results) and are only listed.
    """

    path: str
    message: str


@dataclass(slots=True, kw_only=True)
class IngestSummary:
    """What one ingest did; printed by the CLI and returned as JSON."""

    units: int = 0
    builds: int = 0
    runs: int = 0
    test_results: int = 0
    failures: int = 0
    log_files: int = 0
    log_bytes: int = 0
    benchmark_samples: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[Rejection] = field(default_factory=list)
    build_uuids: list[str] = field(default_factory=list)  # builds stored (new or changed), for triage

    def add(self, other: IngestSummary) -> None:
        for name in ("units", "builds", "runs", "test_results", "failures", "log_files", "log_bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.benchmark_samples += other.benchmark_samples
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)
        self.skipped.extend(other.skipped)
        self.build_uuids.extend(other.build_uuids)

    def as_dict(self) -> dict[str, object]:
        lists = ("rejected", "skipped")
        data: dict[str, object] = {
            k: getattr(self, k) for k in self.__slots__ if k not in lists and k != "build_uuids"
        }
        for name in lists:
            data[name] = [{"path": r.path, "message": r.message} for r in getattr(self, name)]
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedUnit:
    """Everything parsed from one unit, ready to be saved in one transaction."""

    content_hash: str
    source: str
    build: Build | None
    runs: tuple[Run, ...]
    logs: tuple[LogFile, ...]
    samples: tuple[BenchmarkSample, ...]


ProgressCallback = Callable[[str, IngestSummary], None]


def ingest_paths(
    store: Store,
    paths: Sequence[str],
    *,
    limits: Limits | None = None,
    on_unit: ProgressCallback | None = None,
    bench_defaults: BenchContext | None = None,
) -> IngestSummary:
    """Ingest every unit found under ``paths``; never stops on one bad input.

    ``bench_defaults`` supplies project, commit and environment to benchmark files that
    are not inside a build directory (``gatewatch perf ingest``).
    """
    limits = limits or Limits()
    summary = IngestSummary()
    for unit in iter_units(paths, limits=limits):
        if isinstance(unit, SourceProblem):
            summary.rejected.append(Rejection(path=unit.path, message=unit.reason))
            continue
        summary.add(ingest_unit(store, unit, limits=limits, bench_defaults=bench_defaults))
        if on_unit is not None:
            on_unit(_unit_path(unit), summary)
    return summary


def _unit_path(unit: BuildUnit | FileUnit) -> str:
    return unit.root if isinstance(unit, BuildUnit) else unit.member.origin


def ingest_unit(
    store: Store, unit: BuildUnit | FileUnit, *, limits: Limits, bench_defaults: BenchContext | None = None
) -> IngestSummary:
    """Ingest one unit in one transaction; problems become rejections, not exceptions."""
    summary = IngestSummary(units=1)
    try:
        content_hash = _unit_hash(unit)
    except (IngestError, OSError) as exc:
        path = _unit_path(unit)
        summary.rejected.append(Rejection(path=path, message=f"{path}: cannot read: {exc}"))
        return summary
    with store.unit_of_work() as uow:
        if uow.ingests.has(content_hash):
            summary.unchanged = 1
            return summary
    with _cyclic_gc_paused():
        parsed = _parse_unit(
            store,
            unit,
            content_hash=content_hash,
            limits=limits,
            summary=summary,
            bench_defaults=bench_defaults,
        )
        if parsed is not None:
            _save(store, parsed, summary)
    return summary


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while one unit is parsed and saved.

    A unit allocates tens of thousands of small acyclic records (results, rows), which
    reference counting frees; the cyclic collector would only rescan the growing heap
    again and again (about 15 % of a 20,000-test ingest). It runs as usual between units.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _unit_hash(unit: BuildUnit | FileUnit) -> str:
    """sha256 of a file's raw bytes; for a build, of its members' names and hashes.

    A standalone file is identified by its content alone, whatever its name.
    """
    if isinstance(unit, FileUnit):
        return _member_hash(unit.member)
    digest = hashlib.sha256()
    for member in sorted([unit.record, *unit.members], key=lambda m: m.name):
        digest.update(member.name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(_member_hash(member).encode() + b"\0")
    return digest.hexdigest()


def _member_hash(member: Member) -> str:
    digest = hashlib.sha256()
    with member.opener() as raw:
        while chunk := raw.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _parse_unit(
    store: Store,
    unit: BuildUnit | FileUnit,
    *,
    content_hash: str,
    limits: Limits,
    summary: IngestSummary,
    bench_defaults: BenchContext | None = None,
) -> ParsedUnit | None:
    build: Build | None = None
    if isinstance(unit, BuildUnit):
        record = unit.record
        try:
            build = parse_build_record(read_member(record, limits=limits), source=record.origin)
        except IngestError as exc:
            summary.rejected.append(Rejection(path=record.origin, message=str(exc.with_path(record.origin))))
            return None
        members = list(unit.members)
    else:
        members = [unit.member]
    runs: list[Run] = []
    logs: list[LogFile] = []
    samples: list[BenchmarkSample] = []
    for member in members:
        try:
            parsed = _parse_member(store, member, build, limits=limits, bench_defaults=bench_defaults)
        except NotAResultFile as exc:
            summary.skipped.append(Rejection(path=member.origin, message=str(exc)))
            continue
        except IngestError as exc:
            summary.rejected.append(Rejection(path=member.origin, message=str(exc.with_path(member.origin))))
            continue
        if isinstance(parsed, Run):
            runs.append(parsed)
        elif isinstance(parsed, LogFile):
            logs.append(parsed)
        else:
            samples.extend(parsed)
    if build is None and not runs and not samples:
        return None
    return ParsedUnit(
        content_hash=content_hash,
        source=_unit_path(unit),
        build=build,
        runs=tuple(runs),
        logs=tuple(logs),
        samples=tuple(samples),
    )


def _parse_member(
    store: Store,
    member: Member,
    build: Build | None,
    *,
    limits: Limits,
    bench_defaults: BenchContext | None = None,
) -> Run | LogFile | list[BenchmarkSample]:
    """Parse one member: a result file becomes a Run, a log a stored blob, a benchmark file samples."""
    head = read_head(member, limits=limits, size=HEAD_BYTES)
    kind = detect_format(head, name=member.name)
    # outside a build: a benchmark CSV (looks like text), or anything `perf ingest` is given
    loose = build is None and kind in (FileKind.LOG, FileKind.UNKNOWN)
    if loose and (bench_defaults is not None or looks_like_benchmark(head)):
        kind = FileKind.BENCHMARK
    parser = RESULT_PARSERS.get(kind)
    if parser is not None:
        return parser(read_member(member, limits=limits), source=member.origin)
    if kind is FileKind.BENCHMARK:
        return _parse_benchmarks(read_member(member, limits=limits), member.origin, build, bench_defaults)
    if kind is FileKind.LOG and build is not None:
        with open_stream(member, limits=limits) as stream:
            info = store.blobs.save_blob(stream)
        return LogFile(
            name=strip_compression_suffix(member.name),
            blob_sha256=info.sha256,
            size_bytes=info.size_bytes,
            line_count=info.line_count,
            tags=log_tags(member.name),
        )
    if kind is FileKind.LOG:
        raise NotAResultFile(
            "plain text, not a result file: skipped",
            path=member.origin,
            hint="logs are ingested only inside a build directory that has a build.json",
        )
    raise IngestError(
        "not a recognised format (JUnit XML, subunit v2, go test -json, build record, benchmark JSON)",
        path=member.origin,
        offset=0,
    )


def _parse_benchmarks(
    data: bytes, origin: str, build: Build | None, defaults: BenchContext | None = None
) -> list[BenchmarkSample]:
    """Benchmark samples; a build (else ``defaults``) supplies project, commit, time and node label."""
    context = defaults or BenchContext(project="")
    if build is not None:
        context = BenchContext(
            project=build.project,
            commit_sha=build.commit_sha,
            timestamp=build.start_time,
            environment=build.node_label,
            build_uuid=build.uuid,
        )
    samples = parse_benchmarks(data, source=origin, context=context)
    if not samples and defaults is not None:
        raise IngestError(
            "no benchmark measurements in this file", path=origin, hint="is it the right file, or empty?"
        )
    bad = [s for s in samples if not all(math.isfinite(v) for v in (s.value, *s.samples))]
    if bad:
        raise IngestError(
            f"{len(bad)} benchmark value(s) are not finite numbers (NaN or infinity), first: "
            f"{bad[0].key.render()} at commit {bad[0].commit_sha or '?'} ({bad[0].value})",
            path=origin,
            hint="remove or fix those measurements; gatewatch stores only finite values",
        )
    return samples


def _run_identity(run: Run, build: Build | None) -> Run:
    """A run inside a build is identified by build and file, so identical files in two builds both count."""
    if build is None:
        return run
    key = f"{build.uuid}\0{run.source}\0{run.content_hash}".encode("utf-8", "surrogateescape")
    return replace(run, content_hash=hashlib.sha256(key).hexdigest())


def _save(store: Store, parsed: ParsedUnit, summary: IngestSummary) -> None:
    log.info("saving %s (%d runs, %d logs)", parsed.source, len(parsed.runs), len(parsed.logs))
    with store.unit_of_work() as uow:
        if uow.ingests.has(parsed.content_hash):  # another process won the race
            summary.unchanged = 1
            return
        build_pk = None
        if parsed.build is not None:
            build_pk = uow.builds.save(parsed.build, content_hash=parsed.content_hash)
            summary.builds += 1
            summary.build_uuids.append(parsed.build.uuid)
        for run in parsed.runs:
            uow.runs.save(_run_identity(run, parsed.build), build_pk=build_pk)
            summary.runs += 1
            summary.test_results += len(run.results)
            summary.failures += run.failure_count
        if build_pk is not None:
            for log_file in parsed.logs:
                uow.logs.save(build_pk, log_file)
                summary.log_files += 1
                summary.log_bytes += log_file.size_bytes
        if parsed.samples:
            summary.benchmark_samples += uow.benchmarks.save_many(parsed.samples, build_pk=build_pk)
        kind = "build" if parsed.build else "file"
        uow.ingests.record(parsed.content_hash, source=parsed.source, kind=kind)
