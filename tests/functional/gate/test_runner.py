"""Running jobs as real subprocesses (gate/runner.py).

Nothing here sleeps to wait for a job: tests block on process completion
(``wait_all``/``poll``) or on named pipes the jobs open, so each step happens
when the job really reached it.
"""

from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from gatewatch.domain.builds import BuildResult
from gatewatch.errors import GateError
from gatewatch.gate.jobs import JobConfigError, JobDefinition
from gatewatch.gate.runner import BuildContext, BuildFinished, JobRunner, load_job_config

SAFETY_S = 60.0  # a bound on a hung test, never a timing assertion


def _sh(name: str, script: str, **kwargs: object) -> JobDefinition:
    return JobDefinition(name=name, argv=("/bin/sh", "-c", script), shell=True, **kwargs)  # type: ignore[arg-type]


def _by_id(events: list[BuildFinished]) -> dict[str, BuildFinished]:
    return {event.build_id: event for event in events}


def _run_one(runner: JobRunner, job: JobDefinition, worktree: Path, **context: object) -> BuildFinished:
    runner.start("b1", job, worktree, context=BuildContext(**context))  # type: ignore[arg-type]
    (event,) = runner.wait_all(timeout_s=SAFETY_S)
    return event


def _release(fifo: Path) -> None:
    """Open ``fifo`` for writing: returns once the job opened it for reading (blocks until then)."""
    done = threading.Event()

    def write() -> None:
        with fifo.open("w") as pipe:
            pipe.write("go\n")
        done.set()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join(SAFETY_S)
    assert done.is_set(), f"no job opened {fifo}"


def _read(fifo: Path) -> str:
    with fifo.open() as pipe:  # blocks until the job opens it for writing
        return pipe.read().strip()


def _has_ended(pid: int, wait_s: float = 10.0) -> bool:
    """True once process ``pid`` has exited (blocks on a pidfd, at most ``wait_s``, while it is dying)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], wait_s)
        return bool(readable)
    finally:
        os.close(fd)


@pytest.fixture
def runner(tmp_path: Path) -> JobRunner:
    return JobRunner(2, tmp_path / "builds", log_cap_bytes=1 << 20, kill_grace_s=2.0)


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    path = tmp_path / "worktree"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("script", "result", "exit_code"), [("exit 0", "SUCCESS", 0), ("exit 3", "FAILURE", 3)]
)
def test_exit_status_gives_the_result_and_a_build_record(
    runner: JobRunner, worktree: Path, script: str, result: str, exit_code: int
) -> None:
    job = _sh("unit", f"echo hello from $GATEWATCH_JOB in $PWD; {script}", voting=False)

    context = {"project": "acme/widgets", "branch": "main", "change": 42, "patchset": 3}
    context |= {"ref": "refs/changes/42/3", "newrev": "a" * 40, "buildset_uuid": "bs1"}
    event = _run_one(runner, job, worktree, **context)

    assert (event.result, event.exit_code, event.job_name) == (BuildResult(result), exit_code, "unit")
    assert event.started_at <= event.ended_at
    assert event.log_path == event.build_dir / "job-output.txt"
    assert f"hello from unit in {worktree}" in event.log_path.read_text()
    record = json.loads((event.build_dir / "build.json").read_text())
    assert record == record | {
        "uuid": "b1",
        "job_name": "unit",
        "result": result,
        "voting": False,
        "project": "acme/widgets",
        "branch": "main",
        "change": 42,
        "patchset": 3,
        "ref": "refs/changes/42/3",
        "newrev": "a" * 40,
        "pipeline": "gate",
        "buildset": {"uuid": "bs1"},
    }
    assert record["start_time"] <= record["end_time"]
    assert "T" in record["start_time"]


def test_hanging_job_times_out(runner: JobRunner, worktree: Path) -> None:
    event = _run_one(runner, _sh("hang", "echo started; sleep 600", timeout_s=1.0), worktree)

    assert event.result is BuildResult.TIMED_OUT
    assert "started" in event.log_path.read_text()
    assert json.loads((event.build_dir / "build.json").read_text())["result"] == "TIMED_OUT"


def test_job_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path, worktree: Path) -> None:
    runner = JobRunner(1, tmp_path / "builds", kill_grace_s=0.2)
    job = _sh("stubborn", "trap '' TERM; while true; do sleep 1; done", timeout_s=0.5)

    assert _run_one(runner, job, worktree).result is BuildResult.TIMED_OUT


def test_cancel_kills_the_whole_process_group(runner: JobRunner, worktree: Path) -> None:
    os.mkfifo(worktree / "child.pid")
    runner.start("b1", _sh("tree", "sleep 600 & echo $! > child.pid; wait"), worktree)
    child = int(_read(worktree / "child.pid"))

    assert runner.cancel("b1")
    (event,) = runner.wait_all(timeout_s=SAFETY_S)

    assert event.result is BuildResult.CANCELED
    assert _has_ended(child)
    assert not runner.cancel("b1")


def test_background_processes_left_by_a_finished_job_are_killed(runner: JobRunner, worktree: Path) -> None:
    event = _run_one(runner, _sh("leaky", "sleep 600 & echo $! > child.pid; exit 0"), worktree)

    assert event.result is BuildResult.SUCCESS
    assert _has_ended(int((worktree / "child.pid").read_text()))


def test_huge_output_is_truncated_without_blocking_the_job(runner: JobRunner, worktree: Path) -> None:
    job = _sh("chatty", "head -c 50000000 /dev/zero | tr '\\0' x; echo done > finished")

    event = _run_one(runner, job, worktree)

    assert event.result is BuildResult.SUCCESS
    assert (worktree / "finished").read_text() == "done\n"
    log = event.log_path.read_bytes()
    assert log.startswith(
        b"x" * (1 << 20) + b"\n[gatewatch] output truncated at 1048576 bytes: 48951424 more"
    )
    assert len(log) < (1 << 20) + 1000


def test_node_limit_queues_the_rest_in_order(tmp_path: Path, worktree: Path) -> None:
    runner = JobRunner(2, tmp_path / "builds")
    names = [f"b{i}" for i in range(1, 6)]
    for name in names:
        os.mkfifo(worktree / f"release-{name}")
        job = _sh(
            "wait", f"echo start {name} >> order; cat release-{name} > /dev/null; echo end {name} >> order"
        )
        runner.start(name, job, worktree)
    assert runner.pending() == ("b3", "b4", "b5")

    finished: dict[str, datetime] = {}
    for name in names:  # b(k+2) can only start once b(k) has ended
        _release(worktree / f"release-{name}")
        while name not in finished:
            finished.update((event.build_id, event.started_at) for event in runner.poll(SAFETY_S))

    running = peak = 0
    for line in (worktree / "order").read_text().splitlines():
        running += 1 if line.startswith("start") else -1
        peak = max(peak, running)
    assert peak <= 2
    # Dispatch order as the runner recorded it (the jobs' own "start" lines may be written
    # out of order when the machine is busy: b3's shell can be slower than b4's).
    starts = sorted(finished, key=lambda build: finished[build])
    assert set(starts[:2]) == {"b1", "b2"}
    assert starts[2:] == ["b3", "b4", "b5"]
    assert runner.active() == ()


def test_cancel_a_queued_build_never_runs_it(tmp_path: Path, worktree: Path) -> None:
    runner = JobRunner(1, tmp_path / "builds")
    os.mkfifo(worktree / "release")
    runner.start("first", _sh("wait", "cat release > /dev/null"), worktree)
    runner.start("second", _sh("never", "touch ran"), worktree)

    assert runner.cancel("second")
    _release(worktree / "release")
    events = _by_id(runner.wait_all(timeout_s=SAFETY_S))

    assert events["second"].result is BuildResult.CANCELED
    assert events["first"].result is BuildResult.SUCCESS
    assert not (worktree / "ran").exists()


def test_seeded_flaky_job_fails_exactly_where_its_seed_says(tmp_path: Path, worktree: Path) -> None:
    (worktree / "flaky.py").write_text(
        "import os, random, sys\n"
        "rate = float(os.environ['FAIL_RATE'])\n"
        "sys.exit(1 if random.Random(int(os.environ['GATEWATCH_BUILD_SEED'])).random() < rate else 0)\n"
    )
    job = JobDefinition(name="flaky", argv=(sys.executable, "flaky.py"), env=(("FAIL_RATE", "0.3"),))
    runner = JobRunner(2, tmp_path / "builds")
    seeds = range(20)
    for seed in seeds:
        runner.start(f"s{seed}", job, worktree, context=BuildContext(seed=seed))
    events = _by_id(runner.wait_all(timeout_s=SAFETY_S))

    expected = {f"s{s}": random.Random(s).random() < 0.3 for s in seeds}
    assert {k: e.result is BuildResult.FAILURE for k, e in events.items()} == expected
    assert 0 < sum(expected.values()) < len(expected)


def test_job_sees_its_own_environment_not_the_gates(
    runner: JobRunner, worktree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWATCH_DB_URL", "postgresql://secret@db/gatewatch")
    job = _sh("env", "env | sort > seen-env", env=(("MODE", "gate"),))

    _run_one(runner, job, worktree, project="acme/widgets", seed=7)

    seen = dict(
        line.split("=", 1) for line in (worktree / "seen-env").read_text().splitlines() if "=" in line
    )
    assert "GATEWATCH_DB_URL" not in seen
    assert seen["MODE"] == "gate"
    assert seen["GATEWATCH_BUILD_SEED"] == "7"
    assert seen["GATEWATCH_PROJECT"] == "acme/widgets"
    assert seen["GATEWATCH_BUILD_ID"] == "b1"


def test_artifacts_are_copied_into_the_build_directory(
    runner: JobRunner, worktree: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.xml").write_text("<secret/>")
    (worktree / "leak.xml").symlink_to(tmp_path / "secret.xml")
    job = _sh(
        "unit",
        "mkdir -p reports; echo '<testsuite/>' > reports/junit.xml; echo '<x/>' > reports/other.xml",
        artifacts=("reports/*.xml", "leak.xml", "missing.json"),
    )

    event = _run_one(runner, job, worktree)

    assert (event.build_dir / "reports" / "junit.xml").read_text() == "<testsuite/>\n"
    assert (event.build_dir / "reports" / "other.xml").exists()
    assert not (event.build_dir / "leak.xml").exists()
    log = event.log_path.read_text()
    assert "'missing.json' not found" in log
    assert "'leak.xml' skipped" in log


def test_command_that_cannot_start_is_an_error(runner: JobRunner, worktree: Path) -> None:
    job = JobDefinition(name="ghost", argv=("./no-such-program",))

    event = _run_one(runner, job, worktree)

    assert event.result is BuildResult.ERROR
    assert "cannot start './no-such-program'" in event.log_path.read_text()


@pytest.mark.parametrize("build_id", ["../escape", "", "a/b", "-x"])
def test_unsafe_build_ids_are_refused(runner: JobRunner, worktree: Path, build_id: str) -> None:
    with pytest.raises(GateError, match="invalid build id"):
        runner.start(build_id, _sh("x", "true"), worktree)


def test_a_build_id_runs_once(runner: JobRunner, worktree: Path) -> None:
    _run_one(runner, _sh("x", "true"), worktree)
    with pytest.raises(GateError, match="already started"):
        runner.start("b1", _sh("x", "true"), worktree)


def test_missing_job_definition_file_is_a_clear_error(worktree: Path) -> None:
    with pytest.raises(JobConfigError, match=r"\.gatewatch\.yaml: the job definition file is missing"):
        load_job_config(worktree)
    (worktree / ".gatewatch.yaml").write_bytes(b"jobs:\n  - name: \xff\n")
    with pytest.raises(JobConfigError, match="not UTF-8 at byte"):
        load_job_config(worktree)


def test_runner_failure_still_reports_the_build(tmp_path: Path, worktree: Path) -> None:
    (tmp_path / "not-a-directory").write_text("")
    runner = JobRunner(1, tmp_path / "not-a-directory")
    runner.start("b1", _sh("x", "true"), worktree)
    runner.start("b2", _sh("x", "true"), worktree)

    events = runner.wait_all(timeout_s=SAFETY_S)

    assert [(e.build_id, e.result) for e in events] == [("b1", BuildResult.ERROR), ("b2", BuildResult.ERROR)]
    assert "not-a-directory" in events[0].problem


def test_worktree_must_exist(runner: JobRunner, tmp_path: Path) -> None:
    with pytest.raises(GateError, match="does not exist"):
        runner.start("b1", _sh("x", "true"), tmp_path / "gone")


RUNNER_SCRIPT = """
import sys
from pathlib import Path
from gatewatch.gate.jobs import JobDefinition
from gatewatch.gate.runner import BuildContext, JobRunner

runner = JobRunner(1, Path(sys.argv[1]))
job = JobDefinition(name="tree", argv=("/bin/sh", "-c", "sleep 600 & echo $! > child.pid; wait"))
runner.start("b1", job, Path(sys.argv[2]), context=BuildContext(project="acme/widgets", change=7))
runner.wait_all()
"""


def test_builds_left_running_by_a_killed_gate_are_aborted_on_restart(tmp_path: Path, worktree: Path) -> None:
    os.mkfifo(worktree / "child.pid")
    src = Path(__file__).resolve().parents[3] / "src"
    gate = subprocess.Popen(
        [sys.executable, "-c", RUNNER_SCRIPT, str(tmp_path / "builds"), str(worktree)],
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    child = int(_read(worktree / "child.pid"))  # the job is running
    gate.kill()  # kill -9 the gate, by its pid
    gate.wait()
    assert not _has_ended(child, wait_s=0.0), "jobs outlive the gate: they run in their own session"

    recovered = JobRunner(1, tmp_path / "builds").recover_orphans()

    assert recovered == ["b1"]
    assert _has_ended(child)
    record = json.loads((tmp_path / "builds" / "b1" / "build.json").read_text())
    assert (record["result"], record["change"], record["project"]) == ("ABORTED", 7, "acme/widgets")
    assert JobRunner(1, tmp_path / "builds").recover_orphans() == []


def test_recover_orphans_leaves_a_live_runners_builds_alone(
    runner: JobRunner, tmp_path: Path, worktree: Path
) -> None:
    os.mkfifo(worktree / "up")
    os.mkfifo(worktree / "release")
    runner.start("b1", _sh("wait", "echo up > up; cat release > /dev/null"), worktree)
    assert _read(worktree / "up") == "up"  # running, its marker written

    assert JobRunner(1, tmp_path / "builds").recover_orphans() == []

    _release(worktree / "release")
    (event,) = runner.wait_all(timeout_s=SAFETY_S)
    assert event.result is BuildResult.SUCCESS
