"""`gatewatch ingest` end to end in process (Click runner) on a real SQLite store."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatewatch.cli.main import cli

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = DATA / "result-samples"


def _run(home: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def _status(home: Path) -> dict[str, int]:
    code, info = _run(home, "status")
    assert code == 0
    counts = info["counts"]
    assert isinstance(counts, dict)
    return counts


def _build_dir(root: Path, uuid: str, *, result: str = "FAILURE") -> Path:
    build = root / uuid
    build.mkdir(parents=True)
    record = {
        "uuid": uuid,
        "job_name": "nimbus-tempest-full",
        "result": result,
        "voting": True,
        "project": "nimbus/compute",
        "branch": "main",
        "change": 1234,
        "patchset": 2,
        "ref": "refs/changes/34/1234/2",
        "pipeline": "check",
        "start_time": "2026-10-01T10:00:00",
        "end_time": "2026-10-01T11:02:00",
        "log_url": f"https://logs.example/{uuid}/",
        "buildset": {"uuid": f"bs-{uuid}"},
    }
    (build / "build.json").write_text(json.dumps(record))
    with gzip.open(build / "job-output.txt.gz", "wt") as log:
        log.write("2026-10-01 10:00:01.000 | TASK [run tempest]\n2026-10-01 10:59:00.000 | FAILED: 1 test\n")
    shutil.copy(SAMPLES / "subunit-v2-stestr" / "failure.subunit", build / "testrepository.subunit")
    return build


def test_every_sample_ingests_and_reingest_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, first = _run(home, "ingest", str(SAMPLES))
    rejected = first["rejected"]
    assert isinstance(rejected, list)
    # Only the deliberately truncated sample is rejected, with its position.
    assert [Path(str(r["path"])).name for r in rejected] == ["truncated-pytest.xml"]
    assert "line" in str(rejected[0]["message"])
    assert code == 1
    # The notice and licence texts beside the samples are listed as skipped, not stored.
    skipped = {Path(str(r["path"])).name for r in first["skipped"]}  # type: ignore[union-attr]
    assert "NOTICE.md" in skipped
    counts = _status(home)
    assert counts["runs"] == first["runs"]
    assert counts["test_results"] == first["test_results"]
    code, again = _run(home, "ingest", str(SAMPLES))
    assert again["runs"] == 0
    assert again["unchanged"] == first["runs"]
    assert _status(home) == counts


def test_build_directory_is_one_unit_with_logs_and_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _build_dir(tmp_path / "in", "b1")
    code, summary = _run(home, "ingest", str(tmp_path / "in"))
    assert code == 0, summary
    assert (summary["builds"], summary["runs"], summary["log_files"]) == (1, 1, 1)
    assert summary["test_results"] == 63
    assert summary["failures"] == 1


def test_changed_build_replaces_its_previous_results(tmp_path: Path) -> None:
    home = tmp_path / "home"
    build = _build_dir(tmp_path / "in", "b1")
    _run(home, "ingest", str(tmp_path / "in"))
    shutil.copy(SAMPLES / "subunit-v2-stestr" / "successful.subunit", build / "testrepository.subunit")
    code, summary = _run(home, "ingest", str(tmp_path / "in"))
    assert code == 0
    assert summary["builds"] == 1
    counts = _status(home)
    assert counts["builds"] == 1
    assert counts["runs"] == 1
    assert counts["test_results"] == 21


def test_bad_file_in_batch_is_reported_and_the_rest_is_stored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(SAMPLES / "pytest" / "python-xunit-pytest.xml", batch / "good.xml")
    data = (SAMPLES / "subunit-v2-stestr" / "failure.subunit").read_bytes()
    (batch / "killed.subunit").write_bytes(data[: len(data) // 2])
    (batch / "garbage.bin").write_bytes(bytes(range(256)) * 4)
    code, summary = _run(home, "ingest", str(batch))
    assert code == 1
    assert summary["runs"] == 1
    paths = sorted(Path(str(r["path"])).name for r in summary["rejected"])  # type: ignore[union-attr]
    assert paths == ["garbage.bin", "killed.subunit"]
    assert _status(home)["runs"] == 1


def test_stdin_is_ingested(tmp_path: Path) -> None:
    data = (SAMPLES / "go-test-json" / "golang-json.json").read_bytes()
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "ingest", "-", "--json"], input=data)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"] == 1


@pytest.mark.parametrize("args", [["ingest", "--help"], ["--help"], ["demo", "--help"]])
def test_help_explains_with_an_example(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0
    assert "Example" in result.output or "Start with" in result.output
