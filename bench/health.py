"""Health benchmark: query latency on the demo history, ingest-to-report latency, rollup cost.

On SQLite (and PostgreSQL with --pg), over a demo store (default demo: >= 1M test results;
--quick: the small demo):

- query latency, p50/p95 over --reps repetitions, interleaved: `gatewatch health` (jobs
  overview), `gatewatch flaky`, `health job NAME`, `health test ID`;
- ingest-to-report: one new day of builds (a small demo of another seed) ingested into the
  store, then the overview -- seconds until the report shows it;
- rollup cost at ingest: the same day ingested into two fresh stores, with and without the
  rollup upkeep (HealthRepository hooks replaced by no-ops in the second), interleaved; the
  ratio is what rollups add to ingest;
- --check: the demo truth check on the store's history: recall of planted flaky tests with
  rate >= 1 %, precision against planted intermittent tests and against planted flaky tests
  alone, interval coverage, the broken non-voting job, the planted regression's verdict and
  window (definitions in tests/support/health_truth.py and check()).

The default store is built once with `gatewatch demo` (minutes) under bench/.work/health and
reused; pass --home DIR to reuse another one.

Usage: python bench/health.py [--quick] [--pg] [--home DIR] [--reps 30] [--check] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from common import WORK, interleave, write_record
from gatewatch.demo import DemoOptions, load_truth
from gatewatch.ingest.sources import Limits
from gatewatch.services.demo import run_demo
from gatewatch.services.health import (
    Selection,
    load_flaky_tests,
    load_job_health,
    load_jobs_overview,
    load_test_report,
    resolve_query,
)
from gatewatch.services.ingest import ingest_paths
from gatewatch.store import Store, open_store
from gatewatch.store.health import HealthRepository
from support.health_truth import score_flaky


def _quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def demo_store(url: str, home: Path, *, small: bool) -> Store:
    """The store at ``url`` with the demo history (generated and ingested when empty)."""
    store = open_store(url, blob_dir=home / "blobs")
    with store.unit_of_work(readonly=True) as uow:
        builds = uow.stats.counts().get("builds", 0)
    if not builds:
        data = home / "demo-data"
        start = time.perf_counter()
        if data.is_dir() and (data / "truth.json").exists():
            print(f"ingesting {data} ...", file=sys.stderr)
            ingest_paths(store, [str(p) for p in sorted(data.iterdir()) if p.is_dir()], limits=Limits())
        else:
            print("generating the demo ...", file=sys.stderr)
            run_demo(store, data_dir=data, options=DemoOptions(seed=42, small=small))
        print(f"  {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return store


def query_latency(store: Store, reps: int) -> dict[str, dict[str, float]]:
    query = resolve_query(store, Selection())
    flaky = load_flaky_tests(store, query)
    test_id = flaky[0].test_id if flaky else ""
    jobs = load_jobs_overview(store, query)
    job = max(jobs, key=lambda j: j.builds).job_name
    runs: dict[str, Callable[[], float | None]] = {
        "overview": lambda: (load_jobs_overview(store, resolve_query(store, Selection())), None)[1],
        "flaky": lambda: (load_flaky_tests(store, resolve_query(store, Selection())), None)[1],
        "job": lambda: (load_job_health(store, job, query), None)[1],
    }
    if test_id:
        runs["test"] = lambda: (load_test_report(store, test_id, query), None)[1]
    timings = interleave(runs, reps)
    out = {}
    for name, values in timings.items():
        p50, p95 = _quantiles(values)
        out[name] = {"p50_ms": p50 * 1000, "p95_ms": p95 * 1000}
        print(f"  {name:9s} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms", file=sys.stderr)
    return out


def _new_day(tmp: Path) -> list[str]:
    """One day of new builds: a small demo of another seed (new uuids, the same tests)."""
    from gatewatch.demo import generate_demo

    batches = list(generate_demo(tmp / "new", DemoOptions(seed=4242, small=True, days=1)))
    return [str(b.path) for b in batches]


def ingest_to_report(store: Store, paths: list[str]) -> dict[str, float]:
    start = time.perf_counter()
    summary = ingest_paths(store, paths, limits=Limits())
    ingested = time.perf_counter()
    load_jobs_overview(store, resolve_query(store, Selection()))
    done = time.perf_counter()
    out = {
        "builds": summary.builds,
        "test_results": summary.test_results,
        "ingest_s": ingested - start,
        "report_s": done - ingested,
        "ingest_to_report_s": done - start,
    }
    print(f"  ingest-to-report: {out}", file=sys.stderr)
    return out


def rollup_cost(url_for: Callable[[str], str], paths: list[str], tmp: Path, reps: int) -> dict[str, float]:
    """Ingest time of the same builds with and without rollup upkeep (fresh stores, interleaved)."""
    hooks = {name: getattr(HealthRepository, name) for name in ("add_run", "add_build")}
    counter = iter(range(10_000))

    def run(with_rollups: bool) -> float:
        name = f"cost{next(counter)}"
        store = open_store(url_for(name), blob_dir=tmp / name)
        if not with_rollups:
            for hook in hooks:
                setattr(HealthRepository, hook, lambda *a, **k: None)
        try:
            start = time.perf_counter()
            ingest_paths(store, paths, limits=Limits())
            return time.perf_counter() - start
        finally:
            for hook, fn in hooks.items():
                setattr(HealthRepository, hook, fn)
            store.close()

    timings = interleave({"with": lambda: run(True), "without": lambda: run(False)}, reps)
    w, wo = statistics.median(timings["with"]), statistics.median(timings["without"])
    print(f"  ingest with rollups {w:.2f} s, without {wo:.2f} s: x{w / wo:.2f}", file=sys.stderr)
    return {"with_s": w, "without_s": wo, "ratio": w / wo}


def check(store: Store, truth_path: Path) -> dict[str, Any]:
    """Precision and recall of the flaky verdicts against the planted truth, interval coverage,
    the broken job and the planted regression (definitions: tests/support/health_truth.py).

    precision = called flaky that are planted intermittent (truth.flaky_tests, race-bug tests,
    tests the planted uncategorized failures broke) / called flaky; also against
    truth.flaky_tests alone; recall = planted flaky tests with rate >= 1 % called flaky / those.
    """
    truth = load_truth(truth_path)
    reported = load_flaky_tests(store, resolve_query(store, Selection()), include_regressions=True)
    score = score_flaky(store, truth, reported)
    covered = 0
    for f in truth.flaky_tests:
        h = load_test_report(store, f.test_id, resolve_query(store, Selection(job=f.job_name))).health
        covered += h.failure_interval[0] <= f.rate <= h.failure_interval[1]
    broken = {
        name: load_job_health(store, name, resolve_query(store, Selection())).status.value
        for name in truth.broken_jobs
    }
    reg = truth.regression
    regression = load_test_report(
        store, reg.test_id, resolve_query(store, Selection(job=reg.job_name))
    ).health
    out = {
        "definitions": {
            "precision": "called flaky and planted intermittent / called flaky",
            "planted_intermittent": "truth.flaky_tests | truth.bugs test ids | tests broken by truth.uncategorized",
            "precision_vs_flaky_tests": "called flaky and in truth.flaky_tests / called flaky",
            "recall": "truth.flaky_tests with rate >= 1 % called flaky in their job / those planted",
        },
        "called_flaky": score.called_flaky,
        "precision": score.precision,
        "precision_vs_flaky_tests": score.precision_vs_flaky_tests,
        "recall": score.recall,
        "planted_ge_1pct": score.planted,
        "missed": score.missed,
        "false_positives": score.false_positives,
        "intervals_covering": f"{covered}/{len(truth.flaky_tests)}",
        "broken_jobs": broken,
        "regression": {
            "test_id": reg.test_id,
            "status": regression.status.value,
            "called_flaky": score.regression_called_flaky,
            "windows": [
                {
                    "from": w.started_at.isoformat() if w.started_at else None,
                    "to": w.ended_at.isoformat() if w.ended_at else None,
                    "fixed_at": w.fixed_at.isoformat() if w.fixed_at else None,
                    "runs": w.runs,
                    "failed_runs": w.failed_runs,
                    "first_failed_build": w.first_failed_build,
                    "p_value": w.p_value,
                }
                for w in regression.regressions
            ],
            "planted": {
                "start": reg.start,
                "end": reg.end,
                "first_build": reg.builds[0] if reg.builds else "",
            },
        },
    }
    print(f"  check: {json.dumps(out, indent=2, default=str)}", file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the small demo (seconds)")
    parser.add_argument("--pg", action="store_true", help="also on a PostgreSQL started for the run")
    parser.add_argument("--home", type=Path, help="demo store directory (SQLite) to reuse")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    home = args.home or WORK / ("health-quick" if args.quick else "health")
    if args.quick and args.home is None and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {"quick": args.quick, "reps": args.reps}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        new_day = _new_day(tmp)
        backends: dict[str, Callable[[str], str]] = {"sqlite": lambda name: f"sqlite:///{tmp / name}.db"}
        server = None
        if args.pg:
            from support.postgres import PostgresServer, find_bin_dir

            bin_dir = find_bin_dir()
            if bin_dir is None:
                print("no PostgreSQL binaries found", file=sys.stderr)
                return 2
            server = PostgresServer(bin_dir=bin_dir).start()
            backends["postgresql"] = lambda name: server.create_database(name=name)  # type: ignore[union-attr]
        try:
            for backend, url_for in backends.items():
                url = f"sqlite:///{home / 'gatewatch.db'}" if backend == "sqlite" else url_for("demo")
                print(f"{backend}: {url}", file=sys.stderr)
                store = demo_store(url, home, small=args.quick)
                result: dict[str, Any] = {"queries": query_latency(store, args.reps)}
                if args.check:
                    result["check"] = check(store, home / "demo-data" / "truth.json")
                result["rollup_cost"] = rollup_cost(url_for, new_day, tmp, 3)
                result["ingest_to_report"] = ingest_to_report(store, new_day)
                store.close()
                record[backend] = result
        finally:
            if server is not None:
                server.stop()
    write_record(args.json, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
