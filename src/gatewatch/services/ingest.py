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

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from gatewatch.domain.builds import Build
from gatewatch.domain.logs import LogFile
from gatewatch.domain.perf import BenchmarkSample
from gatewatch.domain.results import Run
from gatewatch.errors import IngestError
from gatewatch.ingest.builds import parse_build_record
from gatewatch.ingest.detect import FileKind, detect_format
from gatewatch.ingest.gotest import parse_gotest
from gatewatch.ingest.junit import parse_junit
from gatewatch.ingest.logs import log_tags
from gatewatch.ingest.sources import BuildUnit, FileUnit, Limits, Member, SourceProblem, iter_units
from gatewatch.ingest.subunit import parse_subunit
from gatewatch.store import Store

RESULT_PARSERS: dict[FileKind, Callable[..., Run]] = {
    FileKind.JUNIT: parse_junit,
    FileKind.SUBUNIT: parse_subunit,
    FileKind.GOTEST: parse_gotest,
}
HEAD_BYTES = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """One input that was not stored, and why (path and position inside the message)."""

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

    def add(self, other: IngestSummary) -> None:
        for name in ("units", "builds", "runs", "test_results", "failures", "log_files", "log_bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.benchmark_samples += other.benchmark_samples
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {k: getattr(self, k) for k in self.__slots__ if k != "rejected"}
        data["rejected"] = [{"path": r.path, "message": r.message} for r in self.rejected]
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
) -> IngestSummary:
    """Ingest every unit found under ``paths``; never stops on one bad input."""
    summary = IngestSummary()
    for unit in iter_units(paths, limits=limits or Limits()):
        if isinstance(unit, SourceProblem):
            summary.rejected.append(Rejection(path=unit.path, message=unit.reason))
            continue
        unit_summary = ingest_unit(store, unit)
        summary.add(unit_summary)
        if on_unit is not None:
            on_unit(unit.path, summary)
    return summary


def ingest_unit(store: Store, unit: BuildUnit | FileUnit) -> IngestSummary:
    """Ingest one unit in one transaction; problems become rejections, not exceptions."""
    summary = IngestSummary(units=1)
    members = [unit.record, *unit.members] if isinstance(unit, BuildUnit) else [unit.member]
    try:
        # A standalone file is identified by its content alone, whatever its name.
        content_hash = _unit_hash(members) if isinstance(unit, BuildUnit) else unit.member.sha256()
    except IngestError as exc:
        summary.rejected.append(Rejection(path=exc.path or unit.path, message=str(exc)))
        return summary
    with store.unit_of_work() as uow:
        if uow.ingests.has(content_hash):
            summary.unchanged = 1
            return summary
    parsed = _parse_unit(store, unit, content_hash, summary)
    if parsed is None:
        return summary
    _save(store, parsed, summary)
    return summary


def _unit_hash(members: Iterable[Member]) -> str:
    digest = hashlib.sha256()
    for member in members:
        digest.update(member.name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(member.sha256().encode() + b"\0")
    return digest.hexdigest()


def _parse_unit(
    store: Store, unit: BuildUnit | FileUnit, content_hash: str, summary: IngestSummary
) -> ParsedUnit | None:
    build: Build | None = None
    if isinstance(unit, BuildUnit):
        try:
            build = parse_build_record(unit.record.read(), source=unit.record.display)
        except IngestError as exc:
            summary.rejected.append(Rejection(path=unit.record.display, message=str(exc.with_path(unit.record.display))))
            return None
        members = list(unit.members)
    else:
        members = [unit.member]
    runs: list[Run] = []
    logs: list[LogFile] = []
    samples: list[BenchmarkSample] = []
    for member in members:
        try:
            _parse_member(store, member, build, runs=runs, logs=logs, samples=samples)
        except IngestError as exc:
            summary.rejected.append(Rejection(path=member.display, message=str(exc.with_path(member.display))))
    if build is None and not runs and not samples:
        return None
    return ParsedUnit(
        content_hash=content_hash,
        source=unit.path,
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
    runs: list[Run],
    logs: list[LogFile],
    samples: list[BenchmarkSample],
) -> None:
    kind = detect_format(member.head(HEAD_BYTES), name=member.name)
    parser = RESULT_PARSERS.get(kind)
    if parser is not None:
        runs.append(parser(member.read(), source=member.display))
    elif kind is FileKind.BENCHMARK:
        samples.extend(_parse_benchmarks(member, build))
    elif kind is FileKind.LOG and build is not None:
        with member.open() as stream:
            info = store.blobs.save_blob(stream)
        logs.append(
            LogFile(
                name=member.name,
                blob_sha256=info.sha256,
                size_bytes=info.size_bytes,
                line_count=info.line_count,
                tags=log_tags(member.name),
            )
        )
    elif kind in (FileKind.UNKNOWN, FileKind.LOG):
        raise IngestError(
            "not a recognised result format (JUnit XML, subunit v2, go test -json, benchmark JSON)",
            path=member.display,
            offset=0,
            hint="logs are ingested only inside a build directory that has a build.json",
        )


def _parse_benchmarks(member: Member, build: Build | None) -> list[BenchmarkSample]:
    from gatewatch.ingest.benchmarks import BenchContext, parse_benchmarks

    context = BenchContext.from_build(build) if build is not None else BenchContext()
    return parse_benchmarks(member.read(), source=member.display, context=context)


def _run_identity(run: Run, build: Build | None) -> Run:
    """A run inside a build is identified by build and file, so identical files in two builds both count."""
    if build is None:
        return run
    key = f"{build.uuid}\0{run.source}\0{run.content_hash}".encode("utf-8", "surrogateescape")
    return replace(run, content_hash=hashlib.sha256(key).hexdigest())


def _save(store: Store, parsed: ParsedUnit, summary: IngestSummary) -> None:
    with store.unit_of_work() as uow:
        if uow.ingests.has(parsed.content_hash):  # another process won the race
            summary.unchanged = 1
            return
        build_pk = None
        if parsed.build is not None:
            build_pk = uow.builds.save(parsed.build, content_hash=parsed.content_hash)
            summary.builds += 1
        for run in parsed.runs:
            uow.runs.save(_run_identity(run, parsed.build), build_pk=build_pk)
            summary.runs += 1
            summary.test_results += len(run.results)
            summary.failures += run.failure_count
        if build_pk is not None:
            for log in parsed.logs:
                uow.logs.save(build_pk, log)
                summary.log_files += 1
                summary.log_bytes += log.size_bytes
        if parsed.samples:
            summary.benchmark_samples += uow.benchmarks.save_many(parsed.samples, build_pk=build_pk)
        uow.ingests.record(parsed.content_hash, source=parsed.source, kind="build" if parsed.build else "file")
