"""`gatewatch gate status | promote | dequeue | recheck` against a live loop (in process, CliRunner).

Reads like Zuul's scenario tests: the stacks are "A", "A + B", "A + B + C".
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatewatch.cli.main import cli
from gatewatch.gate.loop import GateLoop
from gatewatch.services import gate as gate_service
from gatewatch.store import Store, open_store
from support.gate_world import FIXED_DATES, add_change, landed_changes, make_project
from support.gitrepo import Upstream


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


def _gw(home: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--home", str(home), "gate", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _stacks(home: Path) -> dict[str, list[str]]:
    document = json.loads(_gw(home, "status", "--json"))
    return {item["item_id"]: item["stack"] for q in document["queues"] for item in q["items"]}


def test_status_draws_the_speculative_stacks_and_operator_commands_reorder_them(
    home: Path, store: Store, project: Upstream
) -> None:
    for name in "ABC":
        _gw(home, "enqueue", str(project.bare), add_change(project, name), "--change", name)
    assert "waiting for the daemon: enqueue" in _gw(home, "status")
    with GateLoop(store, root=home / "gate", gate_options=gate_service.gate_options("zuul")) as loop:
        loop.process_inbox()
        assert _stacks(home) == {"A": [], "B": ["A"], "C": ["A", "B"]}
        text = _gw(home, "status")
        assert "tested on A + B + C" in text
        assert "check" in text

        _gw(home, "promote", "C")
        _gw(home, "dequeue", "B")
        loop.process_inbox()
        assert _stacks(home) == {"C": [], "A": ["C"]}
        loop.run_until_idle()
        assert [name for name, _ in landed_changes(project, 2)] == ["C", "A"]

        _gw(home, "recheck", "B")
        loop.run_until_idle()
    assert [name for name, _ in landed_changes(project, 3)] == ["C", "A", "B"]
    assert _stacks(home) == {}


def test_run_until_idle_from_the_cli_with_cherry_picks(home: Path, store: Store, project: Upstream) -> None:
    for name in "AB":
        _gw(home, "enqueue", str(project.bare), add_change(project, name), "--change", name, "--urgent")
    output = _gw(home, "run", "--until-idle", "--mode", "cherry-pick", "--nodes", "2", "--strategy", "zuul")
    assert "gate stopped" in output
    assert sorted(project.files_at(project.sha())) == sorted(
        [".gatewatch.yaml", "check.sh", "flaky.sh", "A.txt", "MARKER-A", "B.txt", "MARKER-B"]
    )


HOLD_JOBS = """\
jobs:
  - name: check
    command: [./hold.sh]
    timeout_s: 60
    env: {HOLD: "@HOLD@"}
"""
# Blocks while $HOLD is a named pipe, until the pipe's writer closes it: the test decides
# when a job may end, with no sleep.
HOLD_SH = '#!/bin/sh\nif [ -p "$HOLD" ]; then cat "$HOLD" > /dev/null; fi\necho done\n'


def _release_one_job(fifo: Path) -> threading.Thread:
    """Let exactly one job through the pipe: open it for writing (waits for the job), then close."""

    def release() -> None:
        with fifo.open("wb"):
            pass

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


def test_run_once_applies_the_requests_lands_what_finished_and_leaves_the_rest_queued(
    tmp_path: Path, home: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in FIXED_DATES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GATEWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    fifo = tmp_path / "hold"
    project = Upstream(
        tmp_path, {".gatewatch.yaml": HOLD_JOBS.replace("@HOLD@", str(fifo)), "hold.sh": HOLD_SH}
    )
    for name in "AB":
        _gw(home, "enqueue", str(project.bare), add_change(project, name), "--change", name)
    os.mkfifo(fifo)
    released = _release_one_job(fifo)
    try:
        output = _gw(home, "run", "--once", "--nodes", "1", "--strategy", "zuul")
        released.join()
    finally:
        if released.is_alive():  # the job never opened the pipe: unblock the writer
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    assert "gate stopped at generation" in output
    assert [name for name, _ in landed_changes(project, 1)] == ["A"], "A's build ended, so A landed"
    document = json.loads(_gw(home, "status", "--json"))
    assert document["pending"] == [], "every request was applied"
    assert [(it["item_id"], it["stack"]) for q in document["queues"] for it in q["items"]] == [("B", [])]

    fifo.unlink()
    _gw(home, "run", "--until-idle", "--nodes", "1", "--strategy", "zuul")
    assert [name for name, _ in landed_changes(project, 2)] == ["A", "B"]
    assert _stacks(home) == {}
