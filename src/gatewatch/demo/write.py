"""Write the demo history as ordinary files, one day at a time (I/O).

Layout (the one users produce when they save their CI's builds)::

    <out>/<YYYY-MM-DD>/<build uuid>/build.json            Zuul builds API record (flat shape)
    <out>/<day>/<uuid>/job-output.txt.gz                  console log (absent for NODE_FAILURE)
    <out>/<day>/<uuid>/logs/screen-n-cpu.txt.gz ...       service logs of integration jobs
    <out>/<day>/<uuid>/testrepository.subunit             tempest-like jobs (subunit v2)
    <out>/<day>/<uuid>/junit.xml                          unit and lint jobs (pytest-like JUnit)
    <out>/<day>/<uuid>/rally.json                         the rally job (Rally JSON report 1.2)
    <out>/truth.json                                      the planted truth (written last)

Gzip members carry no name and mtime 0, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gatewatch.demo.catalog import Infra, Kind, zuul_project
from gatewatch.demo.collect import TruthCollector
from gatewatch.demo.console import render_body, render_console, stamp
from gatewatch.demo.formats import render_junit, render_rally, render_subunit
from gatewatch.demo.plan import BuildPlan, DemoOptions
from gatewatch.demo.results import compute_attempts, render_summary
from gatewatch.demo.services import SERVICE_LOGS, render_service_log
from gatewatch.demo.truth import render_truth
from gatewatch.demo.world import World
from gatewatch.errors import GatewatchError

TRUTH_FILE = "truth.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoBatch:
    """One day written: its directory and how many builds and test results it holds."""

    path: Path
    builds: int
    test_results: int


def render_build_record(plan: BuildPlan) -> bytes:
    """The build's Zuul builds API record (flat shape, times in UTC with a ``Z``)."""
    record = {
        "uuid": plan.uuid,
        "job_name": plan.job.name,
        "result": plan.result,
        "voting": plan.job.voting,
        "tenant": "nimbus",
        "project": zuul_project(plan.project),
        "branch": "master",
        "change": plan.change,
        "patchset": str(plan.patchset) if plan.patchset is not None else None,
        "ref": plan.ref,
        "ref_url": f"https://review.nimbus.example.org/{plan.change}" if plan.change else "",
        "newrev": plan.newrev or None,
        "pipeline": plan.pipeline,
        "buildset": {"uuid": plan.buildset_uuid},
        "event_id": plan.event_id,
        "start_time": stamp(plan.start),
        "end_time": stamp(plan.end),
        "duration": round((plan.end - plan.start).total_seconds()),
        "log_url": plan.log_url or None,
        "node_name": plan.job.node_label,
        "attempt": plan.attempt,
        "final": True,
        "error_detail": _error_detail(plan),
    }
    return (json.dumps(record, indent=1) + "\n").encode("utf-8")


def _error_detail(plan: BuildPlan) -> str | None:
    if plan.infra is Infra.NODE_FAILURE:
        return f"Node request for {plan.job.node_label} failed"
    if plan.infra is Infra.DNS:
        return "Maximum number of retries (3) exceeded"
    return None


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=5, mtime=0)


def save_build(day_dir: Path, plan: BuildPlan) -> int:
    """Write one build's directory; return how many test results its result file holds."""
    build_dir = day_dir / plan.uuid
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "build.json").write_bytes(render_build_record(plan))
    if plan.infra is Infra.NODE_FAILURE:
        return 0
    rng = random.Random(plan.seed)
    kind = plan.job.kind
    attempts = compute_attempts(plan, rng) if kind in (Kind.UNIT, Kind.LINT, Kind.TEMPEST) else []
    summary = render_summary(plan, attempts, rng) if attempts else []
    if kind is Kind.RALLY and plan.runs_tests:
        (build_dir / "rally.json").write_bytes(render_rally(plan, rng))
        summary = [
            "rally task start --task nimbus-rally.yaml",
            "Task is finished.",
            "rally task report --json",
        ]
    body = render_body(plan, rng, summary)
    (build_dir / "job-output.txt.gz").write_bytes(_gzip(render_console(plan, body)))
    if attempts and kind is Kind.TEMPEST:
        (build_dir / "testrepository.subunit").write_bytes(render_subunit(attempts, plan.start))
    elif attempts:
        (build_dir / "junit.xml").write_bytes(render_junit(plan, attempts, plan.start))
    if kind in (Kind.TEMPEST, Kind.RALLY) and plan.runs_tests:
        (build_dir / "logs").mkdir(exist_ok=True)
        for name in SERVICE_LOGS:
            (build_dir / "logs" / f"{name}.gz").write_bytes(_gzip(render_service_log(plan, rng, name)))
    return len(attempts)


def generate_demo(out_dir: Path, opts: DemoOptions) -> Iterator[DemoBatch]:
    """Write the demo history under ``out_dir`` day by day, yielding each day once written.

    ``truth.json`` is written after the last day. ``out_dir`` may exist but must not
    already hold a demo (re-running into the same directory would mix histories).
    """
    if (out_dir / TRUTH_FILE).exists():
        raise GatewatchError(f"{out_dir} already holds a demo history", hint="choose an empty directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    world = World(opts)
    collector = TruthCollector(opts=opts)
    for day in world.plan_days():
        day_dir = out_dir / day.day
        day_dir.mkdir(exist_ok=True)
        tests = 0
        for plan in day.builds:
            count = save_build(day_dir, plan)
            collector.add(plan, count)
            tests += count
        yield DemoBatch(path=day_dir, builds=len(day.builds), test_results=tests)
    (out_dir / TRUTH_FILE).write_text(render_truth(collector.compute_truth(world)), encoding="utf-8")
