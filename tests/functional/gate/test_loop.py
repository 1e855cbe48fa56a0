"""The gate loop end to end: plan.step driving real git, real jobs, the store and ingest.

The target of issue #6: on a real repository with a 10-change queue and a
flaky job, the gate lands exactly the good changes, each at the commit that
was tested.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewatch.domain.gate import GATEWATCH_DEFAULTS
from gatewatch.gate.loop import GateLoop, LoopOptions
from gatewatch.services import gate as gate_service
from gatewatch.store import Store, open_store
from support.gate_world import FIXED_DATES, add_change, landed_changes, make_project
from support.gitrepo import Upstream, git


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'gw.db'}", blob_dir=tmp_path / "blobs")
    yield opened
    opened.close()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Upstream:
    for name, value in FIXED_DATES.items():
        monkeypatch.setenv(name, value)
    return make_project(tmp_path)


def _enqueue(store: Store, project: Upstream, name: str, *, bad: bool = False) -> None:
    ref = add_change(project, name, bad=bad)
    gate_service.enqueue(store, gate_service.EnqueueRequest(repo=str(project.bare), ref=ref, change_id=name))


def _tested_commits(store: Store) -> set[str]:
    from sqlalchemy import select

    from gatewatch.store import schema as t

    with store.engine.connect() as conn:
        return {row[0] for row in conn.execute(select(t.gate_tested.c.commit_sha))}


def test_ten_change_queue_with_a_flaky_job_lands_exactly_the_good_changes(
    tmp_path: Path, store: Store, project: Upstream
) -> None:
    bad = {"C3", "C6", "C8"}
    names = [f"C{i}" for i in range(10)]
    for name in names:
        _enqueue(store, project, name, bad=name in bad)
    with GateLoop(
        store, root=tmp_path / "gate", gate_options=GATEWATCH_DEFAULTS, options=LoopOptions(nodes=1)
    ) as loop:
        loop.recover()
        loop.run_until_idle()
        assert loop.state.queues[0].items == ()

    good = [n for n in names if n not in bad]
    landed = landed_changes(project, len(good) + 1)[1:]  # after the initial import
    assert sorted(name for name, _ in landed) == good  # a requeued change lands later
    tested = _tested_commits(store)
    assert all(sha in tested for _, sha in landed), "each change landed at a commit that was tested"
    files = project.files_at(project.sha())
    assert not any(f"{name}.txt" in files for name in bad)
    reports = _reports(store)
    assert {r["change_ids"][0] for r in reports if r["result"] == "MERGED"} == set(good)
    assert any(r["result"] == "REQUEUED" for r in reports), "the seeds make the flaky job fail"


def _reports(store: Store) -> list[dict[str, object]]:
    with store.unit_of_work(readonly=True) as uow:
        return [body for _, kind, body in uow.gate.events(limit=10_000) if kind == "Report"]


def test_unmergeable_change_fails_and_the_rest_lands(tmp_path: Path, store: Store, project: Upstream) -> None:
    _enqueue(store, project, "A")
    project.change("X", {"README-X": "x", ".gatewatch.yaml": "jobs: [\n"})  # breaks the job file
    gate_service.enqueue(
        store, gate_service.EnqueueRequest(repo=str(project.bare), ref="refs/changes/X", change_id="X")
    )
    base = git("rev-parse", "main", cwd=project.bare)
    project.change("Y", {"check.sh": "#!/bin/sh\necho conflicting\n"}, base=base)
    project.change("Z", {"check.sh": "#!/bin/sh\necho other\n"}, base=base)
    for name in ("Y", "Z"):
        gate_service.enqueue(
            store,
            gate_service.EnqueueRequest(repo=str(project.bare), ref=f"refs/changes/{name}", change_id=name),
        )
    with GateLoop(store, root=tmp_path / "gate", gate_options=GATEWATCH_DEFAULTS) as loop:
        loop.run_until_idle()
    merged = [name for name, _ in landed_changes(project, 2)]
    assert merged == ["A", "Y"]
    with store.unit_of_work(readonly=True) as uow:
        results = {
            tuple(b["change_ids"]): b["result"] for _, k, b in uow.gate.events(limit=1000) if k == "Report"
        }
    assert results[("X",)] == "FAILED"
    assert results[("Z",)] == "FAILED"
