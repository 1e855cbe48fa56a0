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

from sqlalchemy import select

from gatewatch.store import open_store
from gatewatch.store import schema as t
from support.gate_world import add_change, landed_changes, make_project
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
    (tmp / "home").mkdir()
    project = make_project(tmp)
    names = [f"C{i}" for i in range(10)]
    for name in names:
        ref = add_change(project, name, bad=name in bad)
        proc = _gw(tmp, "gate", "enqueue", str(project.bare), ref, "--change", name, "--project", "widgets")
        assert proc.returncode == 0, proc.stderr
    return project, names


def test_kill_9_mid_queue_then_restart_lands_exactly_the_good_changes_at_tested_commits(
    tmp_path: Path,
) -> None:
    bad = {"C2", "C7"}
    project, names = _setup(tmp_path, bad)
    again = _gw(tmp_path, "gate", "enqueue", str(project.bare), "refs/changes/C1", "--change", "C1")
    assert again.returncode != 0 and "already in the gate" in again.stderr
    status = _status(tmp_path)
    assert [p["body"]["change_id"] for p in status["pending"]] == names  # type: ignore[index]

    fifo = tmp_path / "home" / "gate-fifo"
    os.mkfifo(fifo)
    argv = [sys.executable, "-m", "gatewatch", "--home", str(tmp_path / "gw"), "gate", "run", "--nodes", "2"]
    daemon = subprocess.Popen(
        argv, env=_env(tmp_path / "home"), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        with fifo.open("r") as pipe:  # blocks until a job is running
            assert pipe.readline().strip()
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(TIMEOUT_S)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        release = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # unblock the jobs stuck on the pipe
        fifo.unlink()
        os.close(release)
    mid = _status(tmp_path)
    assert mid["queues"], "the queue survived the crash"

    proc = _gw(tmp_path, "gate", "run", "--until-idle", "--nodes", "2")
    assert proc.returncode == 0, proc.stderr

    good = [n for n in names if n not in bad]
    landed = landed_changes(project, len(good))
    assert [name for name, _ in landed] == good
    first_parent = git("rev-list", "--first-parent", "--count", "refs/heads/main", cwd=project.bare)
    assert int(first_parent) == len(good) + 1, "no change landed twice"
    store = open_store(f"sqlite:///{tmp_path / 'gw' / 'gatewatch.db'}", blob_dir=tmp_path / "gw" / "blobs")
    with store.engine.connect() as conn:
        tested = {row[0] for row in conn.execute(select(t.gate_tested.c.commit_sha))}
        builds = conn.execute(select(t.build.c.uuid)).all()
    store.close()
    assert all(sha in tested for _, sha in landed)
    assert builds, "finished builds were ingested"
    final = _status(tmp_path)
    assert [q["items"] for q in final["queues"]] == [[]]  # type: ignore[index]
    assert final["pending"] == []
