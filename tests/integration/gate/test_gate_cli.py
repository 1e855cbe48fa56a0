"""`gatewatch gate` by subprocess: a 10-change queue with a flaky job, killed with SIGKILL mid-queue.

The daemon is killed while jobs are in flight (the test waits for a job to
write to a named pipe, not for a time), restarted, and must land exactly the
good changes, each at a commit its builds ran on, none twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from gatewatch.services import gate as gate_service
from gatewatch.store import Store, open_store
from gatewatch.store import schema as t
from support.gate_world import FIXED_DATES, add_change, landed_changes, make_project
from support.gitrepo import Upstream, git

SRC = Path(__file__).resolve().parents[3] / "src"
TIMEOUT_S = 120


def _env(home: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWATCH_")}
    return {**clean, "HOME": str(home), "PYTHONPATH": str(SRC)}


def _gw(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "gatewatch", "--home", str(tmp / "gw"), *args]
    return subprocess.run(
        argv, env=_env(tmp / "home"), capture_output=True, text=True, timeout=TIMEOUT_S, check=False, cwd=tmp
    )


def _status(tmp: Path) -> dict[str, object]:
    proc = _gw(tmp, "gate", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def _setup(tmp: Path, bad: set[str]) -> tuple[Upstream, list[str]]:
    """Ten changes: eight enqueued through the service (fast), the last two through the CLI."""
    (tmp / "home").mkdir()
    project = make_project(tmp, flaky_rate=0.3)
    names = [f"C{i}" for i in range(10)]
    store = _open(tmp)
    for name in names:
        ref = add_change(project, name, bad=name in bad)
        if name in ("C8", "C9"):
            proc = _gw(
                tmp, "gate", "enqueue", str(project.bare), ref, "--change", name, "--project", "upstream"
            )
            assert proc.returncode == 0, proc.stderr
        else:
            gate_service.enqueue(
                store, gate_service.EnqueueRequest(repo=str(project.bare), ref=ref, change_id=name)
            )
    store.close()
    return project, names


def _open(tmp: Path) -> Store:
    return open_store(f"sqlite:///{tmp / 'gw' / 'gatewatch.db'}", blob_dir=tmp / "gw" / "blobs")


def _wait_for_jobs(fifo: Path, count: int) -> None:
    """Block until ``count`` check jobs have started (each writes its build id to the pipe)."""
    seen = 0
    while seen < count:
        with fifo.open("r") as pipe:
            seen += bool(pipe.readline().strip())  # empty: a job cancelled while it wrote


def test_kill_9_mid_queue_then_restart_lands_exactly_the_good_changes_at_tested_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in FIXED_DATES.items():
        monkeypatch.setenv(name, value)
    bad = {"C2", "C7"}
    project, names = _setup(tmp_path, bad)
    again = _gw(tmp_path, "gate", "enqueue", str(project.bare), "refs/changes/C1", "--change", "C1")
    assert again.returncode == 1
    assert "already in the gate" in again.stderr

    fifo = tmp_path / "home" / "gate-fifo"
    os.mkfifo(fifo)
    argv = [sys.executable, "-m", "gatewatch", "--home", str(tmp_path / "gw"), "gate", "run", "--nodes", "1"]
    log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen(argv, env=_env(tmp_path / "home"), cwd=tmp_path, stdout=log, stderr=log)
    try:
        _wait_for_jobs(fifo, 4)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(TIMEOUT_S)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        release = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # unblock the jobs stuck on the pipe
        fifo.unlink()
        os.close(release)
        log.close()
    store = _open(tmp_path)
    view = gate_service.load_view(store)
    assert view.state is not None
    in_flight = [b for q in view.state.queues for it in q.items for b in it.builds if not b.status.is_done]
    assert in_flight, "the gate was killed with builds in flight"

    proc = _gw(tmp_path, "gate", "run", "--until-idle", "--nodes", "1")
    assert proc.returncode == 0, proc.stderr

    good = [n for n in names if n not in bad]
    landed = landed_changes(project, len(good) + 1)[1:]
    assert sorted(name for name, _ in landed) == good
    first_parent = git("rev-list", "--first-parent", "--count", "refs/heads/main", cwd=project.bare)
    assert int(first_parent) == len(good) + 1, "no change landed twice"
    with store.engine.connect() as conn:
        tested = {row[0] for row in conn.execute(select(t.gate_tested.c.commit_sha))}
        builds = conn.execute(select(t.build.c.uuid)).all()
    with store.unit_of_work(readonly=True) as uow:
        results = [body["result"] for _, kind, body in uow.gate.events(limit=10_000) if kind == "Report"]
    store.close()
    assert all(sha in tested for _, sha in landed)
    assert builds, "finished builds were ingested"
    assert "REQUEUED" in results, "the flaky job failed a good change once: confirmed, requeued, landed"
    final = _status(tmp_path)
    assert [q["items"] for q in final["queues"]] == [[]]  # type: ignore[index]
    assert final["pending"] == []
