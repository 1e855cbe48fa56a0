"""Real processes on one SQLite store: concurrent ingests, and kill -9 in the middle of one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from gatewatch.domain.results import Outcome, TestResult
from gatewatch.ingest.subunit import render_subunit

GATEWATCH = [sys.executable, "-m", "gatewatch"]


def _stream(n: int, prefix: str) -> bytes:
    results = [
        TestResult(test_id=f"{prefix}.test_{i}", outcome=Outcome.FAIL if i % 50 == 0 else Outcome.PASS)
        for i in range(n)
    ]
    return render_subunit(results)


def _status(home: Path) -> dict[str, int]:
    out = subprocess.run(
        [*GATEWATCH, "--home", str(home), "status", "--json"], capture_output=True, check=True
    )
    counts: dict[str, int] = json.loads(out.stdout)["counts"]
    return counts


def test_concurrent_ingests_on_one_sqlite_store_all_land(tmp_path: Path) -> None:
    home = tmp_path / "home"
    inputs = []
    for p in range(4):
        folder = tmp_path / f"in{p}"
        folder.mkdir()
        for f in range(5):
            (folder / f"r{f}.subunit").write_bytes(_stream(400, f"p{p}.f{f}"))
        inputs.append(folder)
    # Every process also ingests a shared folder: duplicates must collapse, not fail.
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "s.subunit").write_bytes(_stream(300, "shared"))
    subprocess.run([*GATEWATCH, "--home", str(home), "db", "upgrade"], check=True, capture_output=True)
    procs = [
        subprocess.Popen(
            [*GATEWATCH, "--home", str(home), "ingest", str(folder), str(shared), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for folder in inputs
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert b"locked" not in err
    counts = _status(home)
    assert counts["runs"] == 4 * 5 + 1
    assert counts["test_results"] == 4 * 5 * 400 + 300


def test_kill_9_mid_ingest_leaves_no_partial_run_and_next_ingest_completes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    big = tmp_path / "big.subunit"
    big.write_bytes(_stream(60_000, "big"))
    subprocess.run([*GATEWATCH, "--home", str(home), "db", "upgrade"], check=True, capture_output=True)
    proc = subprocess.Popen(
        [*GATEWATCH, "-v", "--home", str(home), "ingest", str(big)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the run's transaction has begun, then kill
        if b"saving" in line:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stderr.close()
    counts = _status(home)
    assert (counts["runs"], counts["test_results"]) in ((0, 0), (1, 60_000))
    again = subprocess.run(
        [*GATEWATCH, "--home", str(home), "ingest", str(big), "--json"], check=False, capture_output=True
    )
    assert again.returncode == 0, again.stderr.decode()
    counts = _status(home)
    assert (counts["runs"], counts["test_results"]) == (1, 60_000)
