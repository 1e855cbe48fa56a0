"""A queue shared by two repositories, end to end on real git (Zuul's integrated gate).

widgets and gadgets share the queue "integrated": their changes interleave, each item is
tested on top of every item ahead of it whatever its repository, and its job sees both
repositories' speculative states at its queue position (GATEWATCH_SRC_*, GATEWATCH_PROJECTS).
The job fails when any state it sees holds a BAD marker, as an integration test would.
The stacks are asserted as data: {item: {project: changes in that project's state}}.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewatch.cli.gate import status_document
from gatewatch.domain.gate import GateOptions, QueueDef
from gatewatch.gate.loop import GateLoop, LoopOptions
from gatewatch.services import gate as gate_service
from gatewatch.store import Store, open_store
from support.gate_world import FIXED_DATES, landed_changes
from support.gitrepo import Upstream

JOBS = "jobs:\n  - name: integration\n    command: [./check.sh]\n    timeout_s: 30\n"
CHECK = """\
#!/bin/sh
echo "cwd $(pwd -P)"
echo "projects $GATEWATCH_PROJECTS"
for name in WIDGETS GADGETS; do
  eval dir=\\"\\${GATEWATCH_SRC_$name:-}\\"
  [ -n "$dir" ] && echo "view $name $(cd "$dir" && ls MARKER-* 2>/dev/null | sed 's/^MARKER-//' | tr '\\n' ' ')"
done
if cat "$GATEWATCH_SRC_WIDGETS"/MARKER-* "$GATEWATCH_SRC_GADGETS"/MARKER-* 2>/dev/null | grep -q BAD; then
  echo "a BAD change is in the tested states"; exit 1
fi
"""
INTEGRATED = GateOptions(queues=(QueueDef(name="integrated", projects=("widgets", "gadgets")),))
View = dict[str, list[str]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'gw.db'}", blob_dir=tmp_path / "blobs")
    yield opened
    opened.close()


@pytest.fixture
def repos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Upstream]:
    for name, value in FIXED_DATES.items():
        monkeypatch.setenv(name, value)
    out = {}
    for project in ("widgets", "gadgets"):
        (tmp_path / project).mkdir()
        out[project] = Upstream(tmp_path / project, {".gatewatch.yaml": JOBS, "check.sh": CHECK})
    return out


def _enqueue(store: Store, repos: dict[str, Upstream], name: str, *, bad: bool = False) -> None:
    project = "widgets" if name.startswith("W") else "gadgets"
    repos[project].change(name, {f"MARKER-{name}": "BAD" if bad else "ok"})
    request = gate_service.EnqueueRequest(
        repo=str(repos[project].bare), ref=f"refs/changes/{name}", change_id=name, project=project
    )
    gate_service.enqueue(store, request)


def _run(store: Store, tmp_path: Path) -> None:
    with GateLoop(
        store, root=tmp_path / "gate", gate_options=INTEGRATED, options=LoopOptions(nodes=4)
    ) as loop:
        loop.run_until_idle()


def _passed_builds(tmp_path: Path) -> list[tuple[dict[str, object], list[str]]]:
    """(build record, job output lines) of every successful build."""
    out = []
    for record_path in sorted((tmp_path / "gate" / "builds").glob("*/*/build.json")):
        record = json.loads(record_path.read_text())
        if record["result"] == "SUCCESS":
            out.append((record, (record_path.parent / "job-output.txt").read_text().splitlines()))
    return out


def _views(tmp_path: Path) -> dict[str, View]:
    """{item: {project: the changes its state holds}}, from what each passing job printed."""
    views: dict[str, View] = {}
    for record, lines in _passed_builds(tmp_path):
        item = str(record["ref"]).removeprefix("refs/changes/")
        seen = {line.split()[1].lower(): line.split()[2:] for line in lines if line.startswith("view ")}
        assert views.setdefault(item, seen) == seen, f"{item} passed on two different states"
    return views


def _landed(repo: Upstream, count: int) -> list[str]:
    return [name for name, _ in landed_changes(repo, count + 1)][1:]


def test_items_of_two_repositories_are_tested_on_everything_ahead_and_land_in_their_own(
    tmp_path: Path, store: Store, repos: dict[str, Upstream]
) -> None:
    for name in ("W1", "G1", "W2", "G2"):
        _enqueue(store, repos, name)
    _run(store, tmp_path)

    assert _views(tmp_path) == {
        "W1": {"widgets": ["W1"], "gadgets": []},
        "G1": {"widgets": ["W1"], "gadgets": ["G1"]},
        "W2": {"widgets": ["W1", "W2"], "gadgets": ["G1"]},
        "G2": {"widgets": ["W1", "W2"], "gadgets": ["G1", "G2"]},
    }
    assert _landed(repos["widgets"], 2) == ["W1", "W2"]
    assert _landed(repos["gadgets"], 2) == ["G1", "G2"]
    tested = {str(r["ref"]).removeprefix("refs/changes/"): r["newrev"] for r, _ in _passed_builds(tmp_path)}
    for project, repo in repos.items():
        for name, sha in landed_changes(repo, 2)[1:]:
            assert tested[name] == sha, f"{project} landed {name} at exactly the commit its build tested"


def test_job_runs_in_its_own_repositorys_state_and_sees_the_others_in_its_environment(
    tmp_path: Path, store: Store, repos: dict[str, Upstream]
) -> None:
    _enqueue(store, repos, "W1")
    _enqueue(store, repos, "G1")
    _run(store, tmp_path)
    for record, lines in _passed_builds(tmp_path):
        cwd = next(line.split(" ", 1)[1] for line in lines if line.startswith("cwd "))
        projects = json.loads(next(line.split(" ", 1)[1] for line in lines if line.startswith("projects ")))
        own = projects[record["project"]]
        assert Path(own["path"]).resolve() == Path(cwd)
        assert own["commit"] == record["newrev"]
        assert sorted(projects) == ["gadgets", "widgets"]
        assert {p: v["changes"] for p, v in projects.items()} in (
            {"widgets": ["W1"], "gadgets": []},
            {"widgets": ["W1"], "gadgets": ["G1"]},
        )


def test_failure_in_one_repository_resets_the_other_repositorys_items_behind_it(
    tmp_path: Path, store: Store, repos: dict[str, Upstream]
) -> None:
    _enqueue(store, repos, "W1", bad=True)
    for name in ("G1", "W2", "G2"):
        _enqueue(store, repos, name)
    _run(store, tmp_path)

    assert _views(tmp_path) == {
        "G1": {"widgets": [], "gadgets": ["G1"]},
        "W2": {"widgets": ["W2"], "gadgets": ["G1"]},
        "G2": {"widgets": ["W2"], "gadgets": ["G1", "G2"]},
    }
    assert _landed(repos["widgets"], 1) == ["W2"]
    assert _landed(repos["gadgets"], 2) == ["G1", "G2"]
    with store.unit_of_work(readonly=True) as uow:
        reports = {
            tuple(b["change_ids"]): b["result"] for _, k, b in uow.gate.events(limit=1000) if k == "Report"
        }
    assert reports == {("W1",): "FAILED", ("G1",): "MERGED", ("W2",): "MERGED", ("G2",): "MERGED"}


def test_conflict_in_one_repository_fails_that_item_and_the_other_repositorys_item_is_retested(
    tmp_path: Path, store: Store, repos: dict[str, Upstream]
) -> None:
    widgets = repos["widgets"]
    widgets.change("W1", {"MARKER-W1": "ok", "shared.txt": "from W1\n"})
    widgets.change("W2", {"MARKER-W2": "ok", "shared.txt": "from W2\n"})  # conflicts with W1
    for name in ("W1", "W2"):
        request = gate_service.EnqueueRequest(
            repo=str(widgets.bare), ref=f"refs/changes/{name}", change_id=name, project="widgets"
        )
        gate_service.enqueue(store, request)
    _enqueue(store, repos, "G1")
    _run(store, tmp_path)

    assert _views(tmp_path) == {
        "W1": {"widgets": ["W1"], "gadgets": []},
        "G1": {"widgets": ["W1"], "gadgets": ["G1"]},
    }
    assert _landed(widgets, 1) == ["W1"]
    assert _landed(repos["gadgets"], 1) == ["G1"]
    with store.unit_of_work(readonly=True) as uow:
        events = uow.gate.events(limit=1000)
    reports = {tuple(b["change_ids"]): b["result"] for _, k, b in events if k == "Report"}
    assert reports == {("W1",): "MERGED", ("W2",): "FAILED", ("G1",): "MERGED"}
    conflicts = {str(b["change_id"]) for _, k, b in events if k == "MergeConflict"}
    assert "W2" in conflicts


def test_status_shows_one_queue_interleaving_both_repositories(
    tmp_path: Path, store: Store, repos: dict[str, Upstream]
) -> None:
    for name in ("W1", "G1", "W2"):
        _enqueue(store, repos, name)
    with GateLoop(
        store, root=tmp_path / "gate", gate_options=INTEGRATED, options=LoopOptions(nodes=4)
    ) as loop:
        loop.process_inbox()
        document = status_document(gate_service.load_view(store))
        loop.run_until_idle()
    assert [(q["name"], q["branch"]) for q in document["queues"]] == [("integrated", "main")]
    assert [(it["item_id"], it["projects"], it["stack"]) for it in document["queues"][0]["items"]] == [
        ("W1", ["widgets"], []),
        ("G1", ["gadgets"], ["W1"]),
        ("W2", ["widgets"], ["W1", "G1"]),
    ]
    assert _landed(repos["widgets"], 2) == ["W1", "W2"]
