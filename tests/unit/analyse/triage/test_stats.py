"""Statistics: Wilson intervals, buckets, race percentage, classification rate, impact ranking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gatewatch.analyse.triage.stats import compute_rate, compute_triage_stats, race_for, rank_by_impact
from gatewatch.domain.builds import Build, BuildResult
from gatewatch.domain.triage import Fingerprint, Verdict, VerdictKind

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hits", "total", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (1, 100, 0.0018, 0.0545),
    ],
)
def test_wilson_interval_matches_published_values(hits: int, total: int, low: float, high: float) -> None:
    rate = compute_rate(hits, total)
    assert rate.low == pytest.approx(low, abs=1e-4)
    assert rate.high == pytest.approx(high, abs=1e-4)
    assert rate.fraction == hits / total


def test_empty_rate_is_uninformative() -> None:
    rate = compute_rate(0, 0)
    assert (rate.fraction, rate.low, rate.high) == (0.0, 0.0, 1.0)


def _build(n: int, *, job: str, hours_ago: float, result: BuildResult, **kw: object) -> Build:
    end = NOW - timedelta(hours=hours_ago)
    return Build(
        uuid=f"b{n}",
        project="nova",
        job_name=job,
        result=result,
        start_time=end - timedelta(hours=1),
        end_time=end,
        **kw,  # type: ignore[arg-type]
    )


def _verdict(
    build: Build, kind: VerdictKind, bugs: tuple[str, ...] = (), infra: tuple[str, ...] = ()
) -> Verdict:
    return Verdict(build_uuid=build.uuid, job_name=build.job_name, kind=kind, bug_ids=bugs, infra_ids=infra)


def test_race_percentage_buckets_and_classification() -> None:
    fail, ok = BuildResult.FAILURE, BuildResult.SUCCESS
    builds = [
        _build(1, job="tempest-full", hours_ago=0.5, result=fail, pipeline="gate"),
        _build(2, job="tempest-full", hours_ago=30, result=fail, pipeline="check"),
        _build(3, job="tempest-full", hours_ago=2, result=ok),
        _build(4, job="tempest-full", hours_ago=3, result=ok),
        _build(5, job="nova-tox", hours_ago=5, result=fail),
        _build(6, job="nova-tox", hours_ago=6, result=fail),
        _build(7, job="tempest-full", hours_ago=24 * 11, result=fail),  # outside the window
        _build(8, job="tempest-full", hours_ago=1, result=fail, voting=False),  # does not count
    ]
    verdicts = [
        _verdict(builds[0], VerdictKind.KNOWN_BUG, bugs=("1",)),
        _verdict(builds[1], VerdictKind.KNOWN_BUG, bugs=("1",)),
        _verdict(builds[4], VerdictKind.INFRA, infra=("infra-dns",)),
        _verdict(builds[5], VerdictKind.UNKNOWN),
        _verdict(builds[6], VerdictKind.KNOWN_BUG, bugs=("1",)),
        _verdict(builds[7], VerdictKind.UNKNOWN),
    ]
    fps = [
        Fingerprint(bug_id="1", query="x", title="ping"),
        Fingerprint(bug_id="infra-dns", query="y", infra=True),
    ]
    stats = compute_triage_stats(builds=builds, verdicts=verdicts, fingerprints=fps, now=NOW)
    bug = stats.fingerprints[0]
    assert (bug.builds_hit, bug.builds_hit_24h, bug.gate_resets) == (2, 1, 1)
    assert bug.hits_hourly == (0,) * 23 + (1,)
    assert bug.hits_daily == (0,) * 8 + (1, 1)
    assert bug.wasted_node_hours == pytest.approx(2.0)
    race = race_for(bug, "tempest-full")
    assert race is not None
    assert (race.hits, race.total) == (2, 4)
    assert race_for(bug, "nova-tox") is None
    assert (bug.failure_share.hits, bug.failure_share.total) == (2, 5)
    assert bug.last_seen == builds[0].end_time
    assert (stats.classified.hits, stats.classified.total) == (3, 5)
    assert dict(stats.classified_per_job)["nova-tox"].hits == 1
    assert set(stats.unclassified_builds) == {"b6", "b8"}
    assert [s.bug_id for s in rank_by_impact(stats.fingerprints)] == ["1", "infra-dns"]
