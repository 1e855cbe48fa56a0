"""Verdicts: infra first, counted known bugs, elastic-recheck's voting rule, unknown otherwise."""

from __future__ import annotations

import pytest

from gatewatch.analyse.triage.verdicts import classify_build
from gatewatch.domain.builds import Build, BuildResult
from gatewatch.domain.triage import Fingerprint, Match, VerdictKind

FPS = [
    Fingerprint(bug_id="1284371", query='message:"ping" AND tags:console'),
    Fingerprint(bug_id="nv-ok", query='message:"flaky"', allow_nonvoting=True),
    Fingerprint(bug_id="infra-disk-full", query='message:"No space left on device"', infra=True),
    Fingerprint(bug_id="infra-node-failure", query='build_status:"NODE_FAILURE"', infra=True),
]


def _build(result: BuildResult = BuildResult.FAILURE, *, voting: bool = True) -> Build:
    return Build(uuid="b1", project="nova", job_name="tempest-full", result=result, voting=voting)


def _m(bug_id: str, line: int = 3, build_uuid: str = "b1") -> Match:
    return Match(bug_id=bug_id, build_uuid=build_uuid, file_name="job-output.txt", line_number=line, text="x")


CASES = [
    (BuildResult.FAILURE, True, [], VerdictKind.UNKNOWN, (), (), ()),
    (BuildResult.FAILURE, True, [_m("1284371")], VerdictKind.KNOWN_BUG, (), ("1284371",), ()),
    (BuildResult.TIMED_OUT, True, [_m("1284371")], VerdictKind.KNOWN_BUG, (), ("1284371",), ()),
    (BuildResult.FAILURE, False, [_m("1284371")], VerdictKind.UNKNOWN, (), (), ("1284371",)),
    (BuildResult.FAILURE, False, [_m("nv-ok")], VerdictKind.KNOWN_BUG, (), ("nv-ok",), ()),
    (
        BuildResult.FAILURE,
        True,
        [_m("1284371"), _m("infra-disk-full")],
        VerdictKind.INFRA,
        ("infra-disk-full",),
        ("1284371",),
        (),
    ),
    (
        BuildResult.FAILURE,
        False,
        [_m("infra-disk-full")],
        VerdictKind.INFRA,
        ("infra-disk-full",),
        (),
        (),
    ),
    (BuildResult.NODE_FAILURE, True, [], VerdictKind.INFRA, ("infra-node-failure",), (), ()),
    (BuildResult.SUCCESS, True, [_m("1284371")], VerdictKind.NOT_FAILED, (), (), ()),
    (BuildResult.FAILURE, True, [_m("1284371", build_uuid="other")], VerdictKind.UNKNOWN, (), (), ()),
    (BuildResult.FAILURE, True, [_m("not-a-fingerprint")], VerdictKind.UNKNOWN, (), (), ()),
]


@pytest.mark.parametrize(
    ("result", "voting", "matches", "expected"),
    [(r, v, m, tuple(rest)) for r, v, m, *rest in CASES],
)
def test_classify_build(
    result: BuildResult, voting: bool, matches: list[Match], expected: tuple[object, ...]
) -> None:
    verdict = classify_build(_build(result, voting=voting), matches, FPS)
    assert (verdict.kind, verdict.infra_ids, verdict.bug_ids, verdict.uncounted_bug_ids) == expected
    assert (verdict.build_uuid, verdict.job_name) == ("b1", "tempest-full")


def test_evidence_is_bounded_and_ordered() -> None:
    matches = [_m("1284371", line) for line in (9, 2, 5, 7, 1)]
    verdict = classify_build(_build(), matches, FPS)
    assert [m.line_number for m in verdict.evidence] == [1, 2, 5]
