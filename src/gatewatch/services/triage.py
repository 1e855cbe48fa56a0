"""Use case: triage failed builds (scan their stored logs, classify, store), and re-scan history.

Fingerprints are the built-in infra set plus a directory of ``<bug-id>.yaml``
(``--fingerprints`` or the ``fingerprints_dir`` setting); without a directory,
the set last used on this store (kept in the database) is used again, so
``gatewatch bugs`` after ``gatewatch demo`` sees the demo's fingerprints.

Each build is scanned (every log blob streamed through one compiled matcher),
classified (``classify_build``) and stored in its own transaction. ``rescan``
does the scanning in a process pool (the matcher compiled once per worker, in
the pool's initializer) while the parent classifies and stores. Reports on top
of the stored verdicts are in ``gatewatch.services.triage_report``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from gatewatch.analyse.health.failure_note import render_unknown_failures_line
from gatewatch.analyse.triage.matcher import CompiledMatcher, compile_fingerprints
from gatewatch.analyse.triage.verdicts import classify_build
from gatewatch.domain.builds import Build
from gatewatch.domain.logs import LogFile
from gatewatch.domain.triage import BuildFacts, Fingerprint, Match, VerdictKind
from gatewatch.errors import NotFoundError
from gatewatch.ingest.sources.fingerprints import load_builtin_fingerprints, load_fingerprints
from gatewatch.services.failed_tests import load_failed_tests_of
from gatewatch.store import BlobStore, Store
from gatewatch.store.triage import fingerprint_set_hash

log = logging.getLogger(__name__)

READ_BYTES = 1 << 20
BATCH_BUILDS = 200
MIN_POOL_BUILDS = 200
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class FingerprintSet:
    """The fingerprints triage runs with, their set hash, and where they came from."""

    fingerprints: tuple[Fingerprint, ...]
    set_hash: str
    origin: str


def make_fingerprint_set(fps: Iterable[Fingerprint], *, origin: str) -> FingerprintSet:
    """A set from fingerprints; a later one with the same bug id replaces an earlier one."""
    by_id = {fp.bug_id: fp for fp in fps}
    ordered = tuple(by_id[k] for k in sorted(by_id))
    return FingerprintSet(fingerprints=ordered, set_hash=fingerprint_set_hash(ordered), origin=origin)


def load_fingerprint_set(store: Store, directory: Path | None) -> FingerprintSet:
    """Built-ins plus ``directory``; without one, the set last stored (else the built-ins alone)."""
    builtin = load_builtin_fingerprints()
    if directory is not None:
        return make_fingerprint_set(
            [*builtin, *load_fingerprints(directory)], origin=f"builtin + {directory}"
        )
    with store.unit_of_work(readonly=True) as uow:
        stored = uow.triage.active_fingerprints()
    if stored:
        return make_fingerprint_set(stored, origin="stored (the set last used on this store)")
    return make_fingerprint_set(builtin, origin="builtin")


@dataclass(slots=True, kw_only=True)
class TriageSummary:
    """What one triage pass did."""

    builds: int = 0
    infra: int = 0
    known_bug: int = 0
    unknown: int = 0
    matches: int = 0
    log_bytes: int = 0
    missing_blobs: int = 0
    stale: int = 0
    fingerprints: int = 0
    fingerprint_set: str = ""
    origin: str = ""
    elapsed_s: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)
    health_refresh: list[str] = field(default_factory=list)

    def count(self, kind: VerdictKind, matches: int, log_bytes: int) -> None:
        self.builds += 1
        self.matches += matches
        self.log_bytes += log_bytes
        if kind is VerdictKind.INFRA:
            self.infra += 1
        elif kind is VerdictKind.KNOWN_BUG:
            self.known_bug += 1
        elif kind is VerdictKind.UNKNOWN:
            self.unknown += 1

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__ if k not in ("kinds", "health_refresh")}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanTask:
    """One build to scan: its facts and its log files (picklable, for worker processes)."""

    build: Build
    logs: tuple[LogFile, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    build: Build
    matches: tuple[Match, ...]
    log_bytes: int
    missing_blobs: int


def _read_chunks(reader: BinaryIO) -> Iterator[bytes]:
    while chunk := reader.read(READ_BYTES):
        yield chunk


def scan_task(matcher: CompiledMatcher, blobs: BlobStore, task: ScanTask) -> ScanResult:
    """Every log of one build through the matcher (a missing blob is counted, not fatal)."""
    facts = BuildFacts.from_build(task.build)
    found: list[Match] = []
    size = missing = 0
    for log_file in task.logs:
        try:
            with blobs.open_bytes(log_file.blob_sha256) as reader:
                found += matcher.scan_log(
                    _read_chunks(reader), file_name=log_file.name, build=facts, file_tags=log_file.tags
                )
        except NotFoundError as exc:
            log.warning("build %s: %s", task.build.uuid, exc)
            missing += 1
            continue
        size += log_file.size_bytes
    return ScanResult(build=task.build, matches=tuple(found), log_bytes=size, missing_blobs=missing)


def _tasks(store: Store, uuids: Sequence[str]) -> Iterator[ScanTask]:
    """The failed builds among ``uuids`` with their logs, read in batches; the others lose any verdict."""
    for start in range(0, len(uuids), BATCH_BUILDS):
        part = uuids[start : start + BATCH_BUILDS]
        with store.unit_of_work() as uow:
            builds = uow.triage.builds(part)
            uow.triage.clear_builds([b.uuid for b in builds if not b.result.is_failure])
            builds = [b for b in builds if b.result.is_failure]
            logs = uow.triage.logs_of([b.uuid for b in builds])
        for build in builds:
            yield ScanTask(build=build, logs=tuple(logs[build.uuid]))


def _store(store: Store, fset: FingerprintSet, result: ScanResult, summary: TriageSummary) -> None:
    verdict = classify_build(result.build, result.matches, fset.fingerprints)
    with store.unit_of_work() as uow:
        previous = uow.triage.verdict(result.build.uuid)
        uow.triage.save_result(
            verdict, result.matches, fingerprint_set=fset.set_hash, classified_at=datetime.now(UTC)
        )
    # Health counts infra and known-bug failures apart: a build whose verdict moved into or
    # out of those kinds is recomputed, once per pass (see _finish).
    before = previous.kind if previous is not None else None
    if before != verdict.kind and {before, verdict.kind} & _HEALTH_KINDS:
        summary.health_refresh.append(result.build.uuid)
    summary.count(verdict.kind, len(result.matches), result.log_bytes)
    summary.missing_blobs += result.missing_blobs


def _start(store: Store, fset: FingerprintSet) -> TriageSummary:
    with store.unit_of_work() as uow:
        uow.triage.save_fingerprints(fset.fingerprints)
    return TriageSummary(
        fingerprints=len(fset.fingerprints), fingerprint_set=fset.set_hash, origin=fset.origin
    )


_HEALTH_KINDS = {VerdictKind.INFRA, VerdictKind.KNOWN_BUG}


def _finish(store: Store, fset: FingerprintSet, summary: TriageSummary, started: float) -> TriageSummary:
    if summary.health_refresh:
        with store.unit_of_work() as uow:
            uow.health.refresh_builds(summary.health_refresh)
    with store.unit_of_work(readonly=True) as uow:
        summary.stale = len(uow.triage.builds_to_triage(stale_for=fset.set_hash))
        summary.kinds = uow.triage.verdict_counts()
    summary.elapsed_s = _clock() - started
    return summary


def _clock() -> float:
    return datetime.now(UTC).timestamp()


def triage_builds(
    store: Store, uuids: Sequence[str], fset: FingerprintSet, *, on_build: ProgressCallback | None = None
) -> TriageSummary:
    """Scan, classify and store the failed builds among ``uuids``, one by one in this process."""
    started = _clock()
    matcher = compile_fingerprints(fset.fingerprints)  # first: a set that does not compile is not saved
    summary = _start(store, fset)
    for done, task in enumerate(_tasks(store, uuids), start=1):
        _store(store, fset, scan_task(matcher, store.blobs, task), summary)
        if on_build is not None:
            on_build(done, len(uuids))
    return _finish(store, fset, summary, started)


def triage_new(
    store: Store, fset: FingerprintSet, *, on_build: ProgressCallback | None = None
) -> TriageSummary:
    """Classify failed builds that have no verdict yet (``gatewatch triage``)."""
    with store.unit_of_work(readonly=True) as uow:
        uuids = uow.triage.builds_to_triage()
    return triage_builds(store, uuids, fset, on_build=on_build)


# --- rescan: a process pool over the stored history ----------------------------------------------
_WORKER: dict[str, tuple[CompiledMatcher, BlobStore]] = {}  # per worker process: its matcher


def _init_worker(fingerprints: tuple[Fingerprint, ...], blob_dir: str) -> None:
    _WORKER["scan"] = (compile_fingerprints(fingerprints), BlobStore(Path(blob_dir)))


def _scan_in_worker(task: ScanTask) -> ScanResult:
    matcher, blobs = _WORKER["scan"]
    return scan_task(matcher, blobs, task)


def rescan(
    store: Store,
    fset: FingerprintSet,
    *,
    everything: bool = False,
    workers: int | None = None,
    on_build: ProgressCallback | None = None,
) -> TriageSummary:
    """Re-scan failed builds judged by another fingerprint set (all of them with ``everything``).

    Workers (default: the CPU count, or none below ``MIN_POOL_BUILDS`` builds) scan blobs; this process classifies and
    stores each build in its own transaction as its result arrives.
    """
    started = _clock()
    compile_fingerprints(fset.fingerprints)  # fail here, before the set is saved or workers start
    summary = _start(store, fset)
    with store.unit_of_work(readonly=True) as uow:
        uuids = uow.triage.builds_to_triage(stale_for="" if everything else fset.set_hash)
    if workers is None:  # starting a worker costs about a second: not worth it for a few builds
        workers = (os.cpu_count() or 1) if len(uuids) >= MIN_POOL_BUILDS else 1
    workers = max(1, min(workers, len(uuids)))
    if workers == 1:
        return triage_builds(store, uuids, fset, on_build=on_build)
    context = multiprocessing.get_context("spawn")  # no fork of a process holding DB connections
    init = (fset.fingerprints, str(store.blobs.root))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=init) as pool:
        futures: list[Future[ScanResult]] = [
            pool.submit(_scan_in_worker, task) for task in _tasks(store, uuids)
        ]
        for done, future in enumerate(as_completed(futures), start=1):
            _store(store, fset, future.result(), summary)
            if on_build is not None:
                on_build(done, len(futures))
    return _finish(store, fset, summary, started)


def render_triage_summary(store: Store, *, top: int = 5) -> list[str]:
    """Lines for the end of ``make demo``: verdict counts, classification rate, the top bugs."""
    from gatewatch.services.triage_report import load_triage_stats, summary_lines  # noqa: PLC0415 (cycle)

    try:
        report = load_triage_stats(store)
    except NotFoundError:
        return ["triage: no dated builds in the store yet"]
    return [*summary_lines(report, top=top), *_unknown_failures_line(store, report.stats.unclassified_builds)]


def _unknown_failures_line(store: Store, uuids: Sequence[str]) -> list[str]:
    """What test health says of the failures no fingerprint explains (``gatewatch uncategorized``)."""
    if not uuids:
        return []
    with store.unit_of_work(readonly=True) as uow:
        builds = uow.triage.builds(list(uuids))
    found = load_failed_tests_of(store, builds).values()
    return [render_unknown_failures_line([(f.notes, f.total) for f in found])]
