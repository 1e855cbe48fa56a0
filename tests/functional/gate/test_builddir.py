"""A build's directory in ingest's layout, and recovery of builds left running (gate/builddir.py)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatewatch.domain.builds import BuildResult
from gatewatch.gate.builddir import (
    RECORD_NAME,
    RUNNING_NAME,
    BuildContext,
    build_record,
    recover_orphans,
    save_record,
    save_running_marker,
)

START = datetime(2026, 11, 22, 4, 0, 0, 500000, tzinfo=UTC)
END = datetime(2026, 11, 22, 5, 30, 1, tzinfo=UTC)


def _record(result: BuildResult = BuildResult.SUCCESS) -> dict[str, object]:
    context = BuildContext(project="acme/widgets", branch="main", change=5, patchset="abc", newrev="f" * 40)
    return build_record(
        build_id="b1",
        job_name="unit",
        voting=True,
        context=context,
        result=result,
        started_at=START,
        ended_at=END,
    )


def test_record_has_zuul_builds_api_shape() -> None:
    record = _record()

    assert record["start_time"] == "2026-11-22T04:00:00"
    assert record["end_time"] == "2026-11-22T05:30:01"
    assert record["duration"] == 5400.5
    assert record["buildset"] == {"uuid": ""}
    assert (record["patchset"], record["pipeline"], record["log_url"]) == ("abc", "gate", "job-output.txt")


def test_saving_the_record_completes_the_build(tmp_path: Path) -> None:
    save_running_marker(tmp_path, pgid=os.getpid(), record=_record(BuildResult.ABORTED))
    save_record(tmp_path, _record())

    assert json.loads((tmp_path / RECORD_NAME).read_text())["result"] == "SUCCESS"
    assert sorted(p.name for p in tmp_path.iterdir()) == [RECORD_NAME]


@pytest.mark.parametrize(
    "marker",
    [
        "not json",
        "[]",
        json.dumps({"runner": [1, None]}),
        json.dumps({"runner": 1, "pgid": ["x"], "record": {}}),
    ],
)
def test_unreadable_marker_is_dropped(tmp_path: Path, marker: str) -> None:
    (tmp_path / "b1").mkdir()
    (tmp_path / "b1" / RUNNING_NAME).write_text(marker)

    assert recover_orphans(tmp_path, now=END) == []
    assert not (tmp_path / "b1" / RUNNING_NAME).exists()


def test_marker_of_a_finished_build_is_only_dropped(tmp_path: Path) -> None:
    build_dir = tmp_path / "b1"
    build_dir.mkdir()
    save_record(build_dir, _record())
    dead_runner = {"runner": [2**22 + 1, 1], "pgid": [2**22 + 1, 1], "record": _record(BuildResult.ABORTED)}
    (build_dir / RUNNING_NAME).write_text(json.dumps(dead_runner))

    assert recover_orphans(tmp_path, now=END) == []
    assert json.loads((build_dir / RECORD_NAME).read_text())["result"] == "SUCCESS"
    assert not (build_dir / RUNNING_NAME).exists()
