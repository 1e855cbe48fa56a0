"""The gate's classifier on a real store: which failed builds the flaky-aware gate may retry.

A history of the job "unit" makes one test flaky (it failed and then passed on a recheck of the
same change), one broken (it failed every time) and one stable. A later failure whose failed
tests are all flaky is "known-flaky" (retried on the same stack instead of ejecting the change);
a failure of a stable test (new), of a broken test, of a flaky and a stable test together, or
without failed tests stays unclassified (a real failure); a mirror outage is "infra".
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from gatewatch.services.gate import classify_with_triage
from gatewatch.services.ingest import ingest_paths
from gatewatch.store import Store, open_store

FLAKY, BROKEN, STABLE = "app.tests.T.test_flaky", "app.tests.T.test_broken", "app.tests.T.test_stable"
MIRROR = (
    "2026-10-01 10:05:00.000 | ERROR: HTTP error 503 while getting https://mirror/x: 503 Service Unavailable"
)


def _build(root: Path, uuid: str, change: int, hour: int, failed: set[str], *, log: str = "") -> None:
    build = root / uuid
    build.mkdir(parents=True)
    record = {
        "uuid": uuid,
        "job_name": "unit",
        "result": "FAILURE" if failed or log else "SUCCESS",
        "voting": True,
        "project": "acme/app",
        "branch": "main",
        "change": change,
        "patchset": 1,
        "pipeline": "gate",
        "start_time": f"2026-10-01T{hour:02d}:00:00",
        "end_time": f"2026-10-01T{hour:02d}:30:00",
    }
    (build / "build.json").write_text(json.dumps(record))
    cases = []
    for test_id in (FLAKY, BROKEN, STABLE):
        classname, _, name = test_id.rpartition(".")
        body = '<failure message="boom">AssertionError</failure>' if test_id in failed else ""
        cases.append(f'<testcase classname="{classname}" name="{name}" time="0.5">{body}</testcase>')
    (build / "results.xml").write_text(f'<testsuite name="unit">{"".join(cases)}</testsuite>')
    with gzip.open(build / "job-output.txt.gz", "wt") as out:
        out.write(f"2026-10-01 10:00:00.000 | TASK [tox]\n{log}\n")


SCENARIOS: dict[str, tuple[set[str], str]] = {
    "only-flaky": ({FLAKY}, ""),
    "stable-broke": ({STABLE}, ""),
    "only-broken": ({BROKEN}, ""),
    "flaky-and-stable": ({FLAKY, STABLE}, ""),
    "no-failed-test": (set(), "ERROR: tox could not create the environment"),
    "mirror": (set(), MIRROR),
}


def _store_with(tmp_path: Path, scenario: str) -> Store:
    """The history, then the failed build to classify (the newest, as in a running gate)."""
    data = tmp_path / "builds"
    _build(data, "history-1", 100, 1, {FLAKY, BROKEN})
    _build(data, "history-2", 100, 2, {BROKEN})  # a recheck of the same change: the flaky test passed
    _build(data, "history-3", 101, 3, {BROKEN})
    failed, log = SCENARIOS[scenario]
    _build(data, scenario, 102, 4, failed, log=log)
    store = open_store(f"sqlite:///{tmp_path / 'gw.db'}", blob_dir=tmp_path / "blobs")
    summary = ingest_paths(store, [str(data)])
    assert (summary.builds, summary.rejected) == (4, [])
    return store


@pytest.mark.parametrize(
    ("scenario", "classification"),
    [
        ("only-flaky", "known-flaky"),
        ("stable-broke", None),
        ("only-broken", None),
        ("flaky-and-stable", None),
        ("no-failed-test", None),
        ("mirror", "infra"),
    ],
)
def test_only_failures_explained_as_flaky_or_infra_are_retryable(
    tmp_path: Path, scenario: str, classification: str | None
) -> None:
    store = _store_with(tmp_path, scenario)
    try:
        assert classify_with_triage(store, scenario) == classification
    finally:
        store.close()
