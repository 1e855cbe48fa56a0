"""Jobs from the gatewatch config file ([gate.projects."NAME"] jobs = FILE) win over the
repository's .gatewatch.yaml: a change can neither delete nor rewrite its way past them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatewatch.cli.main import cli
from gatewatch.services import gate as gate_service
from gatewatch.store import Store, open_store
from support.gate_world import FIXED_DATES, add_change, landed_changes, make_project
from support.gitrepo import Upstream

CONFIGURED_JOBS = """\
jobs:
  - name: verify
    command: "if grep -q BAD MARKER-*; then echo 'bad marker'; exit 1; fi"
    timeout_s: 30
"""
LAX_JOBS = "jobs:\n  - name: check\n    command: [/bin/true]\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    home.mkdir()
    opened = open_store(f"sqlite:///{home / 'gatewatch.db'}", blob_dir=home / "blobs")
    yield opened
    opened.close()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Upstream:
    for name, value in FIXED_DATES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GATEWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return make_project(tmp_path, flaky_rate=0.0)


def _config(tmp_path: Path) -> Path:
    (tmp_path / "gate-jobs").mkdir()
    (tmp_path / "gate-jobs" / "widgets.yaml").write_text(CONFIGURED_JOBS)
    path = tmp_path / "gatewatch.toml"
    path.write_text('[gate.projects."widgets"]\njobs = "gate-jobs/widgets.yaml"\n')
    return path


def _enqueue(store: Store, project: Upstream, name: str) -> None:
    request = gate_service.EnqueueRequest(
        repo=str(project.bare), ref=f"refs/changes/{name}", change_id=name, project="widgets"
    )
    gate_service.enqueue(store, request)


def _reports(store: Store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with store.unit_of_work(readonly=True) as uow:
        for _, kind, body in uow.gate.events(limit=10_000):
            if kind == "Report":
                for change in body["change_ids"]:  # type: ignore[attr-defined]
                    out.setdefault(str(change), []).append(str(body["result"]))
    return out


def _jobs_run(home: Path) -> set[str]:
    import json

    return {json.loads(p.read_text())["job_name"] for p in (home / "gate" / "builds").glob("*/*/build.json")}


def test_configured_jobs_win_over_the_repository_file_and_a_change_cannot_escape_them(
    tmp_path: Path, home: Path, store: Store, project: Upstream
) -> None:
    config = _config(tmp_path)
    project.change("DELETE", {".gatewatch.yaml": None, "DELETE.txt": "no job file"})
    project.change("RELAX", {".gatewatch.yaml": LAX_JOBS, "MARKER-RELAX": "BAD"})
    add_change(project, "GOOD")
    for name in ("DELETE", "RELAX", "GOOD"):
        _enqueue(store, project, name)
    argv = ["--config", str(config), "--home", str(home), "gate", "run", "--until-idle", "--strategy", "zuul"]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.output

    assert _reports(store) == {"DELETE": ["MERGED"], "RELAX": ["FAILED"], "GOOD": ["MERGED"]}
    assert [name for name, _ in landed_changes(project, 2)] == ["DELETE", "GOOD"]
    assert _jobs_run(home) == {"verify"}, (
        "only the configured job ran; the repository's check and flaky did not"
    )


def test_broken_configured_job_file_stops_the_daemon_with_its_file_and_line(
    tmp_path: Path, home: Path, store: Store, project: Upstream
) -> None:
    config = _config(tmp_path)
    (tmp_path / "gate-jobs" / "widgets.yaml").write_text("jobs:\n  - name: verify\n    timeout_s: 5\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "--home", str(home), "gate", "run", "--once"])
    assert result.exit_code == 2
    assert "widgets.yaml:2" in result.output
    assert "needs a name and a command" in result.output
    assert "Traceback" not in result.output
