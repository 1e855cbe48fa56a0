"""The triage commands end to end in process (Click runner) on a real SQLite store and blob store."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gatewatch.cli.main import cli

BUG_LINE = "2026-10-01 10:30:00.000 | controller | Details: Timeout while verifying metadata on server."
MIRROR_LINE = "2026-10-01 10:05:00.000 | controller | ERROR: HTTP error 503 while getting https://mirror/x: 503 Service Unavailable"
BUG_QUERY = (
    'query: >-\n  message:"Details: Timeout while verifying metadata on server." AND\n  tags:"console"\n'
)


def _invoke(home: Path, *args: str) -> Result:
    """Run gatewatch; the fingerprint directory is ``queries`` beside ``home`` when it exists."""
    queries = home.parent / "queries"
    env = {"GATEWATCH_FINGERPRINTS_DIR": str(queries) if queries.is_dir() else None}
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=env, catch_exceptions=False)


def _json(home: Path, *args: str) -> Any:
    result = _invoke(home, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _build(
    root: Path,
    uuid: str,
    *,
    lines: list[str],
    result: str = "FAILURE",
    voting: bool = True,
    **fields: Any,
) -> None:
    build = root / uuid
    build.mkdir(parents=True)
    record = {
        "uuid": uuid,
        "job_name": "nimbus-tempest-full" if voting else "nimbus-grenade-nv",
        "result": result,
        "voting": voting,
        "project": "nimbus/compute",
        "change": 1234,
        "patchset": 2,
        "pipeline": "gate",
        "start_time": "2026-10-01T10:00:00",
        "end_time": "2026-10-01T11:00:00",
        "buildset": {"uuid": f"bs-{uuid}"},
        **fields,
    }
    (build / "build.json").write_text(json.dumps(record))
    body = [
        "2026-10-01 10:00:01.000 | TASK [run tempest]",
        *lines,
        "2026-10-01 10:59:00.000 | FAILED: 1 test",
    ]
    with gzip.open(build / "job-output.txt.gz", "wt") as log:
        log.write("\n".join(body) + "\n")


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    """A home whose ingest already triaged five builds with a fingerprint directory of one bug."""
    data = tmp_path / "builds"
    _build(data, "aaaa0000bug", lines=[BUG_LINE])
    _build(data, "bbbb0000infra", lines=[MIRROR_LINE])
    _build(data, "cccc0000unknown", lines=["2026-10-01 10:30:00.000 | AssertionError: 1 != 2"])
    _build(data, "dddd0000nonvoting", lines=[BUG_LINE], voting=False)
    _build(data, "eeee0000passed", lines=[BUG_LINE], result="SUCCESS")
    fps = tmp_path / "queries"
    fps.mkdir()
    (fps / "1775947.yaml").write_text(BUG_QUERY)
    home = tmp_path / "home"
    ingest = _json(home, "ingest", str(data))
    assert ingest["triage"]["builds"] == 4  # the passed build gets no verdict
    return home, fps


def test_ingest_classifies_and_explain_shows_verdict_evidence_and_comment(world: tuple[Path, Path]) -> None:
    home, _ = world
    kinds = {
        uuid: _json(home, "explain", uuid)["kind"]
        for uuid in ("aaaa0000bug", "bbbb0000infra", "cccc0000unknown", "dddd0000nonvoting")
    }
    assert kinds == {
        "aaaa0000bug": "known-bug",
        "bbbb0000infra": "infra",
        "cccc0000unknown": "unknown",
        "dddd0000nonvoting": "unknown",
    }
    explained = _json(home, "explain", "aaaa000")  # a unique prefix
    assert explained["bug_ids"] == ["1775947"]
    assert [(m["file"], m["line"]) for m in explained["matches"]] == [("job-output.txt", 2)]
    assert "known bug 1775947" in explained["comment"]
    assert "Recheck is safe" in explained["comment"]
    nonvoting = _json(home, "explain", "dddd0000nonvoting")
    assert nonvoting["uncounted_bug_ids"] == ["1775947"]
    human = _invoke(home, "explain", "bbbb0000infra")
    assert "job-output.txt:2" in human.stdout
    assert "infrastructure problem" in human.stdout


def test_bugs_and_uncategorized_report_rates(world: tuple[Path, Path]) -> None:
    home, _ = world
    bugs = {b["bug_id"]: b for b in _json(home, "bugs")["bugs"]}
    assert set(bugs) == {"1775947", "infra-mirror-5xx"}
    bug = bugs["1775947"]
    assert (bug["hits"], bug["builds"]) == (2, 1)  # lines matched in any build; counted builds: voting only
    race = bug["jobs"][0]["race"]
    assert (race["hits"], race["total"]) == (
        1,
        4,
    )  # 1 of the 4 voting nimbus-tempest-full builds (any result)
    assert race["low"] < 1 / 4 < race["high"]
    assert bug["failure_share"]["total"] == 4
    uncategorized = _json(home, "uncategorized")
    assert {b["build_uuid"] for b in uncategorized["builds"]} == {"cccc0000unknown", "dddd0000nonvoting"}
    rates = {j["job_name"]: j["classified"] for j in uncategorized["jobs"]}
    assert (rates["nimbus-tempest-full"]["hits"], rates["nimbus-tempest-full"]["total"]) == (2, 3)
    assert rates["nimbus-grenade-nv"]["hits"] == 0


def test_query_finds_builds_and_lines_and_filters_builds(world: tuple[Path, Path]) -> None:
    home, _ = world
    found = _json(home, "query", 'message:"verifying metadata" AND tags:"console"')
    assert (found["builds_matched"], found["lines_matched"]) == (3, 3)
    assert all(b["lines"][0]["line"] == 2 for b in found["builds"])
    voting_only = _json(home, "query", 'voting:1 AND build_status:FAILURE AND message:"verifying metadata"')
    assert (voting_only["builds_scanned"], voting_only["builds_matched"]) == (3, 1)
    limited = _json(home, "query", 'message:"verifying metadata"', "--limit", "1", "--since", "2026-10-01")
    assert (limited["builds_matched"], len(limited["builds"])) == (3, 1)
    assert (
        _json(home, "query", 'message:"verifying metadata"', "--since", "2026-10-02")["builds_scanned"] == 0
    )
    bad = _invoke(home, "query", 'message:"unclosed')
    assert bad.exit_code == 2
    assert "position" in bad.stderr


def test_editing_fingerprints_makes_verdicts_stale_until_rescan(world: tuple[Path, Path]) -> None:
    home, fps = world
    (fps / "1775947.yaml").write_text(BUG_QUERY + "allow-nonvoting: true\n")
    stale = _json(home, "triage")
    assert (stale["builds"], stale["stale"]) == (0, 4)
    rescanned = _json(home, "triage", "rescan", "--workers", "2")
    assert (rescanned["builds"], rescanned["stale"], rescanned["known_bug"]) == (4, 0, 2)
    assert _json(home, "explain", "dddd0000nonvoting")["bug_ids"] == ["1775947"]
    assert _json(home, "triage", "rescan")["builds"] == 0  # nothing stale any more
    assert _json(home, "triage", "rescan", "--all", "--workers", "1")["builds"] == 4


def test_fingerprints_check_names_file_and_line_and_exits_2(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "1.yaml").write_text(BUG_QUERY)
    assert _json(tmp_path / "home", "fingerprints", "check", str(good)) == {"valid": 1, "errors": []}
    (good / "2.yaml").write_text('title: x\nquery: message:"a"\nsurprise: 1\n')
    (good / "3.yaml").write_text('query: message:"unclosed\n')
    result = _invoke(tmp_path / "home", "fingerprints", "check", str(good))
    assert result.exit_code == 2
    assert f"{good / '2.yaml'}:3: unknown key 'surprise'" in result.stderr
    assert f"{good / '3.yaml'}:1" in result.stderr
    assert "Traceback" not in result.output


def test_a_build_reingested_as_passed_loses_its_verdict(world: tuple[Path, Path], tmp_path: Path) -> None:
    home, _ = world
    again = tmp_path / "again"
    _build(again, "cccc0000unknown", lines=["all good"], result="SUCCESS")
    assert _json(home, "ingest", str(again))["builds"] == 1
    assert _json(home, "explain", "cccc0000unknown")["kind"] == "not-failed"
    assert {b["build_uuid"] for b in _json(home, "uncategorized")["builds"]} == {"dddd0000nonvoting"}


def test_explain_of_a_missing_build_exits_3(world: tuple[Path, Path]) -> None:
    home, _ = world
    result = _invoke(home, "explain", "ffffffffff")
    assert result.exit_code == 3
    assert "no build" in result.stderr


def test_comment_on_a_change_covers_its_newest_run_unknown_failures_first(tmp_path: Path) -> None:
    """Patchset 1 failed; patchset 2 ran twice: the comment is about the second run of patchset 2
    (one infra failure, one unknown failure, one pass), unknown first; an older patchset is asked
    for explicitly."""
    data = tmp_path / "builds"

    def run(uuid: str, ps: int, buildset: str, hour: int, lines: list[str], **fields: Any) -> None:
        start = f"2026-10-0{ps}T{hour:02d}:00:00"
        _build(
            data,
            uuid,
            lines=lines,
            patchset=ps,
            start_time=start,
            end_time=f"2026-10-0{ps}T{hour:02d}:50:00",
            buildset={"uuid": buildset},
            **fields,
        )

    run("p1-unknown", 1, "bs-p1", 9, ["2026-10-01 10:30:00.000 | AssertionError: 1 != 2"])
    run("p2a-infra", 2, "bs-p2a", 9, [MIRROR_LINE])
    run("p2b-infra", 2, "bs-p2b", 12, [MIRROR_LINE])
    run("p2b-unknown", 2, "bs-p2b", 12, ["AssertionError"], job_name="nimbus-unit")
    run("p2b-pass", 2, "bs-p2b", 12, [], result="SUCCESS", job_name="nimbus-pep8")
    home = tmp_path / "home"
    assert _json(home, "ingest", str(data))["triage"]["builds"] == 4
    newest = _json(home, "comment", "1234")
    assert (newest["patchset"], newest["buildset"]) == (2, "bs-p2b")
    assert {b["build_uuid"] for b in newest["builds"]} == {"p2b-infra", "p2b-unknown", "p2b-pass"}
    first, second = newest["text"].splitlines()
    assert first.startswith("Build nimbus-unit (p2b-unk) failed: unknown failure")
    assert "Please look before rechecking." in first  # it failed no test: nothing to say about tests
    assert second.startswith("Build nimbus-tempest-full (p2b-inf) failed: infrastructure problem")
    older = _json(home, "comment", "1234,1")
    assert older["text"].startswith("Build nimbus-tempest-full (p1-unkn) failed: unknown failure")
    human = _invoke(home, "comment", "1234,2")
    assert human.exit_code == 0
    assert human.stdout == newest["text"] + "\n"
    missing = _invoke(home, "comment", "999")
    assert missing.exit_code == 3
    assert "no builds of change 999" in missing.stderr
    assert _invoke(home, "comment", "12x4").exit_code == 2
