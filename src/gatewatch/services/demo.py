"""Use case: generate the demo CI history as ordinary files and ingest it like user input.

The generator (gatewatch.demo) writes one directory per day; each is ingested
through the same ingest service users run, as soon as it is written, so memory
stays flat whatever the history length. The stored builds are then triaged with
the built-in infra fingerprints plus the demo's known-bug fingerprints
(``gatewatch.demo.fingerprints``: the elastic-recheck queries its bugs match).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from gatewatch.demo import DemoOptions, generate_demo
from gatewatch.ingest.sources import Limits
from gatewatch.ingest.sources.fingerprints import load_builtin_fingerprints, load_fingerprints
from gatewatch.services.ingest import IngestSummary, ingest_paths
from gatewatch.services.perf import analyse_all
from gatewatch.services.triage import FingerprintSet, TriageSummary, make_fingerprint_set, triage_builds
from gatewatch.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoReport:
    """What the demo generated and ingested, and where its planted truth is."""

    data_dir: Path
    truth_path: Path
    days: int
    ingest: IngestSummary
    triage: TriageSummary


def demo_fingerprint_set() -> FingerprintSet:
    """The built-in infra fingerprints plus the demo's known-bug fingerprints."""
    with resources.as_file(resources.files("gatewatch.demo.fingerprints")) as directory:
        known = load_fingerprints(directory)
    return make_fingerprint_set([*load_builtin_fingerprints(), *known], origin="builtin + demo")


def run_demo(
    store: Store,
    *,
    data_dir: Path,
    options: DemoOptions,
    on_day: Callable[[int, IngestSummary], None] | None = None,
) -> DemoReport:
    """Generate the history into ``data_dir`` (replacing an older one) and ingest it day by day."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    total = IngestSummary()
    days = 0
    for batch in generate_demo(data_dir, options):
        total.add(ingest_paths(store, [str(batch.path)], limits=Limits()))
        days += 1
        if on_day is not None:
            on_day(days, total)
    triage = triage_builds(store, total.build_uuids, demo_fingerprint_set())
    analyse_all(store, now=datetime.now(UTC))
    return DemoReport(
        data_dir=data_dir, truth_path=data_dir / "truth.json", days=days, ingest=total, triage=triage
    )
