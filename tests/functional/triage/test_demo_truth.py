"""Issue #3 point 8: triage recovers the small demo's planted truth, with zero false verdicts.

The demo is generated and ingested through ``gatewatch demo --small`` (it triages with the
built-in infra set plus its own known-bug fingerprints), then re-scanned with every real
elastic-recheck query of tests/data: more queries must not add a single false verdict.

A verdict is right when: a build with an ``infra:`` cause is ``infra`` (and one without is
not); the known bugs matched (counted or not) are exactly the build's ``bug:`` causes; a
``bug:`` build on a voting job is ``known-bug``; and every other failed build is ``unknown``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatewatch.cli.main import cli
from gatewatch.demo import DemoTruth, load_truth
from gatewatch.domain.triage import Verdict, VerdictKind
from gatewatch.ingest.sources.fingerprints import load_builtin_fingerprints, load_fingerprints
from gatewatch.services.triage import make_fingerprint_set, render_triage_summary, rescan
from gatewatch.store import Store, open_store

QUERIES = Path(__file__).resolve().parents[2] / "data" / "elastic-recheck-queries"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoTruth]:
    home = tmp_path_factory.mktemp("home")
    args = ["--home", str(home), "demo", "--small", "--seed", "11", "--days", "3", "--json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["triage"]["builds"] > 0
    return home, load_truth(Path(report["truth"]))


def _store(home: Path) -> Store:
    return open_store(f"sqlite:///{home / 'gatewatch.db'}", blob_dir=home / "blobs")


def _problems(truth: DemoTruth, verdicts: dict[str, tuple[Verdict | None, bool]]) -> list[str]:
    """Every failed build whose verdict differs from its planted causes (``voting`` from the store)."""
    problems: list[str] = []
    for uuid, planted in truth.failed_builds.items():
        verdict, voting = verdicts[uuid]
        infra = any(c.startswith("infra:") for c in planted.causes)
        bugs = {c.removeprefix("bug:") for c in planted.causes if c.startswith("bug:")}
        if infra:
            expected = VerdictKind.INFRA
        else:
            expected = VerdictKind.KNOWN_BUG if bugs and voting else VerdictKind.UNKNOWN
        got = (
            None if verdict is None else (verdict.kind, set(verdict.bug_ids) | set(verdict.uncounted_bug_ids))
        )
        if got != (expected, set() if infra else bugs):
            problems.append(f"{uuid} {planted.job_name} {planted.causes}: expected {expected}, got {verdict}")
    return problems


def _verdicts(store: Store, truth: DemoTruth) -> dict[str, tuple[Verdict | None, bool]]:
    with store.unit_of_work(readonly=True) as uow:
        voting = {b.uuid: b.voting for b in uow.triage.builds(list(truth.failed_builds))}
        return {uuid: (uow.triage.verdict(uuid), voting[uuid]) for uuid in truth.failed_builds}


def test_the_demo_triage_recovers_every_planted_cause_and_invents_none(
    demo_home: tuple[Path, DemoTruth],
) -> None:
    home, truth = demo_home
    # this seed plants every infra kind and every known bug at least once (else pick another seed)
    assert all(truth.infra.values()), truth.infra
    assert all(bug.builds for bug in truth.bugs), [(b.bug, len(b.builds)) for b in truth.bugs]
    with _store(home) as store:
        verdicts = _verdicts(store, truth)
        with store.unit_of_work(readonly=True) as uow:
            judged = uow.triage.verdict_counts()
    assert _problems(truth, verdicts) == []
    assert sum(judged.values()) == len(truth.failed_builds)  # no verdict on a build that did not fail


def test_every_real_elastic_recheck_query_adds_no_false_verdict(demo_home: tuple[Path, DemoTruth]) -> None:
    home, truth = demo_home
    fset = make_fingerprint_set([*load_builtin_fingerprints(), *load_fingerprints(QUERIES)], origin="test")
    with _store(home) as store:
        summary = rescan(store, fset, workers=1)
        verdicts = _verdicts(store, truth)
        lines = render_triage_summary(store)
    assert summary.builds == len(truth.failed_builds)
    assert summary.stale == 0
    assert _problems(truth, verdicts) == []
    planted_bugs = {b.bug for b in truth.bugs if b.builds}
    assert any(f"bug {bug}" in line for bug in planted_bugs for line in lines)
    health_line = next(line for line in lines if "unknown failures, test health explains" in line)
    assert "started with their change" in health_line
