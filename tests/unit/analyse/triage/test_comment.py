"""The comment text for a change's failed builds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gatewatch.analyse.triage.comment import render_change_comment, render_verdict_line
from gatewatch.analyse.triage.stats import compute_triage_stats
from gatewatch.domain.builds import Build, BuildResult
from gatewatch.domain.triage import Fingerprint, Match, Verdict, VerdictKind

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def _builds(n: int, hits: int) -> tuple[list[Build], list[Verdict]]:
    builds, verdicts = [], []
    for i in range(n):
        result = BuildResult.FAILURE if i < hits else BuildResult.SUCCESS
        b = Build(
            uuid=f"u{i:07d}",
            project="p",
            job_name="tempest-full",
            result=result,
            end_time=NOW - timedelta(hours=i + 1),
        )
        builds.append(b)
        if i < hits:
            verdicts.append(
                Verdict(
                    build_uuid=b.uuid, job_name=b.job_name, kind=VerdictKind.KNOWN_BUG, bug_ids=("1284371",)
                )
            )
    return builds, verdicts


def test_known_bug_line_gives_race_percentage_and_recheck_advice() -> None:
    builds, verdicts = _builds(40, 1)
    fps = [Fingerprint(bug_id="1284371", query="x", title="Cannot ping server")]
    stats = compute_triage_stats(builds=builds, verdicts=verdicts, fingerprints=fps, now=NOW)
    text = render_verdict_line(verdicts[0], stats)
    assert text.startswith("Build tempest-full (u000000) failed: known bug 1284371 (Cannot ping server)")
    assert "hits 2.5% of tempest-full runs in the last 10 days" in text
    assert text.endswith("Recheck is safe.")


def test_unknown_and_infra_lines_and_ordering() -> None:
    unknown = Verdict(
        build_uuid="abcdef123",
        job_name="nova-tox",
        kind=VerdictKind.UNKNOWN,
        uncounted_bug_ids=("99",),
        evidence=(Match(bug_id="99", file_name="job-output.txt", line_number=812),),
    )
    infra = Verdict(build_uuid="fff", job_name="grenade", kind=VerdictKind.INFRA, infra_ids=("infra-dns",))
    ok = Verdict(build_uuid="ok", kind=VerdictKind.NOT_FAILED)
    text = render_change_comment([infra, ok, unknown])
    first, second = text.splitlines()
    assert first.startswith("Build nova-tox (abcdef1) failed: unknown failure, see job-output.txt lines 812")
    assert "known bug 99, which does not count non-voting jobs" in first
    assert second.startswith("Build grenade (fff) failed: infrastructure problem (infra-dns)")
    assert render_change_comment([ok]) == "All builds passed."


def test_an_unknown_failure_ends_with_what_its_failed_tests_say() -> None:
    unknown = Verdict(build_uuid="abcdef123", job_name="nova-tox", kind=VerdictKind.UNKNOWN)
    infra = Verdict(build_uuid="fff", job_name="grenade", kind=VerdictKind.INFRA, infra_ids=("infra-dns",))
    advice = "all 2 failed test(s) are known flaky in this job: a recheck will likely pass"
    first, second = render_change_comment(
        [unknown, infra], tests={"abcdef123": advice, "fff": "x"}
    ).splitlines()
    assert first == f"Build nova-tox (abcdef1) failed: unknown failure, see its logs; {advice}."
    assert second.endswith("Not caused by this change; recheck is safe.")  # a verdict already says it all
    assert render_change_comment([unknown], tests={}).endswith("Please look before rechecking.")
