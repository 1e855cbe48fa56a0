"""The triage repository on SQLite and PostgreSQL: fingerprint versions, results per build, queries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gatewatch.domain.builds import BuildResult
from gatewatch.domain.triage import Fingerprint, Match, Verdict, VerdictKind
from gatewatch.query.filters import build_filter
from gatewatch.store import Store
from gatewatch.store.triage import MAX_TEXT_CHARS, fingerprint_set_hash
from support.stores import T0, make_build

NOW = datetime(2026, 11, 1, tzinfo=UTC)
FP_A = Fingerprint(bug_id="1001", query='message:"boom"', title="Boom", test_ids=("t.a",))
FP_B = Fingerprint(bug_id="infra-x", query='message:"disk"', infra=True)


def _save_builds(store: Store, *builds: object) -> None:
    with store.unit_of_work() as uow:
        for build in builds:
            uow.builds.save(build)  # type: ignore[arg-type]


def _verdict(uuid: str, kind: VerdictKind = VerdictKind.KNOWN_BUG, **fields: object) -> Verdict:
    return Verdict(build_uuid=uuid, job_name="tempest-full", kind=kind, **fields)  # type: ignore[arg-type]


def test_fingerprint_versions_are_kept_and_exactly_the_saved_set_is_active(store: Store) -> None:
    with store.unit_of_work() as uow:
        first = uow.triage.save_fingerprints([FP_A, FP_B])
    edited = replace(FP_A, query='message:"boom" AND tags:"console"')
    with store.unit_of_work() as uow:
        assert uow.triage.save_fingerprints([FP_A, FP_B]) == first  # same set: same hash, no new rows
        second = uow.triage.save_fingerprints([edited])
        active = uow.triage.active_fingerprints()
    assert first == fingerprint_set_hash([FP_B, FP_A]) != second
    assert active == [edited]
    with store.unit_of_work() as uow:
        uow.triage.save_fingerprints([FP_A, FP_B])  # back to the old versions: found again, not duplicated
        assert uow.triage.active_fingerprints() == [FP_A, FP_B]


def test_a_result_round_trips_and_replaces_the_previous_one(store: Store) -> None:
    _save_builds(store, make_build("b1"))
    long_line = "x" * (MAX_TEXT_CHARS + 50)
    matches = [
        Match(
            bug_id="1001", build_uuid="b1", file_name="job-output.txt", line_number=7, text="boom\x00 here"
        ),
        Match(bug_id="1001", build_uuid="b1", file_name="logs/n-cpu.txt", line_number=2**33, text=long_line),
        Match(bug_id="infra-x", build_uuid="b1"),
    ]
    verdict = _verdict(
        "b1", VerdictKind.INFRA, infra_ids=("infra-x",), bug_ids=("1001",), evidence=tuple(matches[:2])
    )
    with store.unit_of_work() as uow:
        uow.triage.save_result(verdict, matches, fingerprint_set="s1", classified_at=NOW)
    with store.unit_of_work(readonly=True) as uow:
        got = uow.triage.verdict("b1")
        stored = uow.triage.matches("b1")
    assert got is not None
    assert (got.kind, got.infra_ids, got.bug_ids, got.job_name) == (
        VerdictKind.INFRA,
        ("infra-x",),
        ("1001",),
        "tempest-full",
    )
    assert [(m.file_name, m.line_number) for m in got.evidence] == [
        ("job-output.txt", 7),
        ("logs/n-cpu.txt", 2**33),
    ]
    assert {m.line_number for m in stored} == {0, 7, 2**33}
    assert max(len(m.text) for m in stored) == MAX_TEXT_CHARS
    assert all("\x00" not in m.text for m in stored)
    with store.unit_of_work() as uow:
        uow.triage.save_result(
            _verdict("b1", VerdictKind.UNKNOWN), [], fingerprint_set="s2", classified_at=NOW
        )
    with store.unit_of_work(readonly=True) as uow:
        again = uow.triage.verdict("b1")
        assert uow.triage.matches("b1") == []
        assert uow.triage.verdict_counts() == {"unknown": 1}
    assert again is not None
    assert (again.kind, again.evidence) == (VerdictKind.UNKNOWN, ())


def test_a_result_for_an_unknown_build_is_refused(store: Store) -> None:
    with pytest.raises(LookupError), store.unit_of_work() as uow:
        uow.triage.save_result(_verdict("nope"), [], fingerprint_set="s", classified_at=NOW)


def test_builds_to_triage_are_failed_builds_without_a_verdict_or_judged_by_another_set(store: Store) -> None:
    _save_builds(
        store,
        make_build("ok", result=BuildResult.SUCCESS),
        make_build("new", result=BuildResult.TIMED_OUT, start_time=T0 + timedelta(hours=1)),
        make_build("old", result=BuildResult.FAILURE, start_time=T0),
        make_build("current", result=BuildResult.NODE_FAILURE, start_time=T0 + timedelta(hours=2)),
    )
    with store.unit_of_work() as uow:
        uow.triage.save_result(_verdict("old"), [], fingerprint_set="s1", classified_at=NOW)
        uow.triage.save_result(_verdict("current"), [], fingerprint_set="s2", classified_at=NOW)
    with store.unit_of_work(readonly=True) as uow:
        assert uow.triage.builds_to_triage() == ["new"]
        assert uow.triage.builds_to_triage(stale_for="s2") == ["old", "new"]
        assert uow.triage.builds_to_triage(stale_for="") == ["old", "new", "current"]
        assert uow.triage.builds_to_triage(stale_for="", limit=1) == ["old"]


def test_verdict_queries_for_statistics(store: Store) -> None:
    _save_builds(
        store,
        make_build("early", start_time=T0, end_time=T0 + timedelta(hours=1)),
        make_build("late", start_time=T0 + timedelta(days=2), end_time=T0 + timedelta(days=2, hours=3)),
    )
    hit = [Match(bug_id="1001", build_uuid="x", file_name="f", line_number=n) for n in (1, 2)]
    with store.unit_of_work() as uow:
        uow.triage.save_result(_verdict("early"), hit, fingerprint_set="s", classified_at=NOW)
        uow.triage.save_result(
            _verdict("late", VerdictKind.UNKNOWN), hit[:1], fingerprint_set="s", classified_at=NOW
        )
    with store.unit_of_work(readonly=True) as uow:
        assert uow.triage.latest_build_time() == T0 + timedelta(days=2, hours=3)
        assert [v.build_uuid for v in uow.triage.verdicts()] == ["early", "late"]
        assert [v.build_uuid for v in uow.triage.verdicts(since=T0 + timedelta(days=1))] == ["late"]
        assert [v.build_uuid for v in uow.triage.verdicts(kind=VerdictKind.UNKNOWN)] == ["late"]
        assert uow.triage.match_lines() == {"1001": 3}
        assert uow.triage.match_lines(since=T0 + timedelta(days=1)) == {"1001": 1}


def test_latest_build_time_of_an_empty_store_is_none(store: Store) -> None:
    with store.unit_of_work(readonly=True) as uow:
        assert uow.triage.latest_build_time() is None


CANDIDATES = [
    make_build("aaaa1111", job_name="tempest-full", pipeline="gate", change=11, voting=True),
    make_build("aaaa2222", job_name="tempest-slow", pipeline="check", change=12, voting=False),
    make_build("bbbb3333", job_name="nova-tox_py3", pipeline="check", change=13, result=BuildResult.SUCCESS),
    make_build("bbbb4444", job_name="nova-tox%py3", pipeline="gate", change=14),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('message:"x"', {"aaaa1111", "aaaa2222", "bbbb3333", "bbbb4444"}),
        ('build_name:"tempest-full" AND message:"x"', {"aaaa1111"}),
        ("build_name:tempest-* AND message:x", {"aaaa1111", "aaaa2222"}),
        ("build_name:nova-tox_py? AND message:x", {"bbbb3333"}),  # "_" is literal, not LIKE's any-one
        ("build_name:nova-tox%py3 AND message:x", {"bbbb4444"}),
        ("(build_queue:gate OR build_queue:post) AND message:x", {"aaaa1111", "bbbb4444"}),
        ("voting:0 AND message:x", {"aaaa2222"}),
        ("build_change:12 AND message:x", {"aaaa2222"}),
        ("build_change:abc AND message:x", set()),
        ("build_short_uuid:bbbb333 AND message:x", {"bbbb3333"}),
        ("build_status:SUCCESS AND project:openstack/nova AND message:x", {"bbbb3333"}),
        ("node_provider:rax AND message:x", {"aaaa1111", "aaaa2222", "bbbb3333", "bbbb4444"}),
    ],
)
def test_candidate_builds_apply_the_query_build_filter_in_sql(
    store: Store, query: str, expected: set[str]
) -> None:
    _save_builds(store, *CANDIDATES)
    with store.unit_of_work(readonly=True) as uow:
        found = uow.triage.candidate_builds(build_filter(query))
    assert {b.uuid for b in found} == expected


def test_candidate_builds_since_and_limit_newest_first(store: Store) -> None:
    builds = [make_build(f"c{i}", start_time=T0 + timedelta(hours=i)) for i in range(4)]
    _save_builds(store, *builds)
    with store.unit_of_work(readonly=True) as uow:
        flt = build_filter('message:"x"')
        assert [b.uuid for b in uow.triage.candidate_builds(flt, limit=2)] == ["c3", "c2"]
        assert [b.uuid for b in uow.triage.candidate_builds(flt, since=T0 + timedelta(hours=2))] == [
            "c3",
            "c2",
        ]


def test_builds_by_prefix_logs_and_builds(store: Store) -> None:
    _save_builds(store, *CANDIDATES)
    with store.unit_of_work(readonly=True) as uow:
        assert [b.uuid for b in uow.triage.builds_by_prefix("aaaa", limit=5)] == ["aaaa1111", "aaaa2222"]
        assert uow.triage.builds_by_prefix("a%", limit=5) == []
        assert {b.uuid for b in uow.triage.builds(["bbbb4444", "missing"])} == {"bbbb4444"}
        assert uow.triage.logs_of(["aaaa1111"]) == {"aaaa1111": []}


def test_clear_builds_drops_only_their_results(store: Store) -> None:
    _save_builds(store, make_build("keep"), make_build("drop"))
    hit = [Match(bug_id="1001", build_uuid="x", file_name="f", line_number=1)]
    with store.unit_of_work() as uow:
        for uuid in ("keep", "drop"):
            uow.triage.save_result(_verdict(uuid), hit, fingerprint_set="s", classified_at=NOW)
        uow.triage.clear_builds(["drop", "never-stored"])
    with store.unit_of_work(readonly=True) as uow:
        assert [v.build_uuid for v in uow.triage.verdicts()] == ["keep"]
        assert uow.triage.matches("drop") == []
        assert len(uow.triage.matches("keep")) == 1
