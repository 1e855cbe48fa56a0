"""The gate loop on bad input: a hanging job, a job printing far too much, a repository that
disappears, a change enqueued twice at once, a crash between "tests passed" and "merged",
a change that deletes the job definitions."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewatch.domain.gate import GATEWATCH_DEFAULTS, GateOptions, MergeItem
from gatewatch.errors import GateError
from gatewatch.gate.loop import GateLoop, LoopOptions
from gatewatch.services import gate as gate_service
from gatewatch.store import Store, open_store
from support.gate_world import FIXED_DATES, add_change, landed_changes, make_project
from support.gitrepo import Upstream, git

ZUUL = GateOptions()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'gw.db'}", blob_dir=tmp_path / "blobs")
    yield opened
    opened.close()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Upstream:
    for name, value in FIXED_DATES.items():
        monkeypatch.setenv(name, value)
    return make_project(tmp_path, flaky_rate=0.0)


def _enqueue(store: Store, project: Upstream, name: str, ref: str = "") -> None:
    ref = ref or f"refs/changes/{name}"
    gate_service.enqueue(store, gate_service.EnqueueRequest(repo=str(project.bare), ref=ref, change_id=name))


def _results(store: Store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with store.unit_of_work(readonly=True) as uow:
        for _, kind, body in uow.gate.events(limit=10_000):
            if kind == "Report":
                for change in body["change_ids"]:  # type: ignore[attr-defined]
                    out.setdefault(str(change), []).append(str(body["result"]))
    return out


def _loop(store: Store, tmp_path: Path, **options: object) -> GateLoop:
    return GateLoop(store, root=tmp_path / "gate", gate_options=ZUUL, options=LoopOptions(**options))  # type: ignore[arg-type]


def test_hanging_job_times_out_and_a_flood_of_output_is_capped(
    tmp_path: Path, store: Store, project: Upstream
) -> None:
    jobs = "jobs:\n  - name: check\n    command: [./check.sh]\n    timeout_s: 1\n"
    project.change("HANG", {".gatewatch.yaml": jobs, "check.sh": "#!/bin/sh\nexec sleep 60\n"})
    project.change("LOUD", {"check.sh": "#!/bin/sh\nyes 'gigabytes of output' | head -c 20000000\n"})
    _enqueue(store, project, "HANG")
    _enqueue(store, project, "LOUD")
    with _loop(store, tmp_path, kill_grace_s=0.2, log_cap_bytes=64 * 1024) as loop:
        loop.run_until_idle()
    assert _results(store) == {"HANG": ["FAILED"], "LOUD": ["MERGED"]}
    records = [json.loads(p.read_text()) for p in (tmp_path / "gate" / "builds").glob("*/*/build.json")]
    assert {r["result"] for r in records if r["ref"] == "refs/changes/HANG"} == {"TIMED_OUT"}
    logs = sorted((tmp_path / "gate" / "builds").glob("*/*/job-output.txt"), key=lambda p: p.stat().st_size)
    assert logs[-1].stat().st_size < 80 * 1024, "the output was capped"
    assert b"gigabytes of output" in logs[-1].read_bytes()


def test_change_deleting_the_job_definitions_fails_and_the_queue_goes_on(
    tmp_path: Path, store: Store, project: Upstream
) -> None:
    project.change("DEL", {".gatewatch.yaml": None})
    add_change(project, "OK")
    _enqueue(store, project, "DEL")
    _enqueue(store, project, "OK")
    with _loop(store, tmp_path) as loop:
        loop.run_until_idle()
    assert _results(store) == {"DEL": ["FAILED"], "OK": ["MERGED"]}
    with store.unit_of_work(readonly=True) as uow:
        refused = [body for _, kind, body in uow.gate.events(limit=1000) if kind == "BuildRefused"]
    assert refused
    assert all("missing from the tested state" in str(body["message"]) for body in refused)


def test_repository_that_disappears_is_a_clear_error_and_the_queue_is_kept(
    tmp_path: Path, store: Store, project: Upstream
) -> None:
    add_change(project, "A")
    _enqueue(store, project, "A")
    with _loop(store, tmp_path) as loop:
        loop.process_inbox()
        loop.runner.wait_all(60)
    shutil.rmtree(project.bare)
    with _loop(store, tmp_path) as loop, pytest.raises(GateError, match="upstream"):
        loop.recover()
    view = gate_service.load_view(store)
    assert view.state is not None
    assert [it.item_id for q in view.state.queues for it in q.items] == ["A"]


def test_same_change_enqueued_twice_at_once_is_tested_and_merged_once(
    tmp_path: Path, store: Store, project: Upstream
) -> None:
    add_change(project, "A")
    _enqueue(store, project, "A")
    with store.unit_of_work() as uow:  # a second enqueue that raced past the service's check
        command = uow.gate.pending_commands()[0]
        uow.gate.add_command("enqueue", command.body, now=command.created_at)
    with _loop(store, tmp_path) as loop:
        loop.run_until_idle()
    assert _results(store) == {"A": ["REJECTED", "MERGED"]}
    assert [name for name, _ in landed_changes(project, 1)] == ["A"]


class _Crash(Exception):
    pass


class _CrashAfterPush(GateLoop):
    """A gate that dies right after pushing, before it records the merge."""

    def _merge(self, action: MergeItem) -> None:
        super()._merge(action)
        raise _Crash


def test_crash_between_tests_passed_and_merged_never_merges_twice(
    tmp_path: Path, store: Store, project: Upstream
) -> None:
    add_change(project, "A")
    add_change(project, "B")
    _enqueue(store, project, "A")
    _enqueue(store, project, "B")
    loop = _CrashAfterPush(store, root=tmp_path / "gate", gate_options=GATEWATCH_DEFAULTS)
    with pytest.raises(_Crash):
        loop.run_until_idle()
    loop.close()
    pushed = project.sha()
    assert [name for name, _ in landed_changes(project, 1)] == ["A"], "A was pushed before the crash"
    with GateLoop(store, root=tmp_path / "gate", gate_options=GATEWATCH_DEFAULTS) as again:
        again.recover()
        again.run_until_idle()
    assert _results(store) == {"A": ["MERGED"], "B": ["MERGED"]}
    assert [name for name, _ in landed_changes(project, 3)] == ["Initial import", "A", "B"]
    assert git("rev-list", "--first-parent", "--count", "main", cwd=project.bare) == "3"
    assert pushed in git("rev-list", "main", cwd=project.bare).split()


@pytest.mark.parametrize("branch", ["no-such-branch", "-x"])
def test_change_for_a_branch_that_does_not_exist_fails_instead_of_stopping_the_gate(
    tmp_path: Path, store: Store, project: Upstream, branch: str
) -> None:
    add_change(project, "A")
    add_change(project, "NOWHERE")
    request = gate_service.EnqueueRequest(
        repo=str(project.bare), ref="refs/changes/NOWHERE", change_id="NOWHERE", branch=branch
    )
    gate_service.enqueue(store, request)
    _enqueue(store, project, "A")
    with _loop(store, tmp_path) as loop:
        loop.run_until_idle()
    assert _results(store) == {"NOWHERE": ["FAILED"], "A": ["MERGED"]}
    with store.unit_of_work(readonly=True) as uow:
        conflicts = [body for _, kind, body in uow.gate.events(limit=1000) if kind == "MergeConflict"]
    assert f"{branch!r} does not exist" in str(conflicts[0]["message"])
