"""Scoring health verdicts against the demo's truth: the one definition bench/health.py
``check()`` and the functional tests share.

Planted *intermittent* tests (failing at random on the same code, so correctly called flaky):
``truth.flaky_tests``, the tests of the planted race bugs (``truth.bugs``, each with a rate),
and the tests the planted uncategorized failures (e.g. the ~3 % SSH timeouts) broke. The
planted regression (``truth.regression``: a dependency broke one test for a few hours) is
*not* intermittent: calling it flaky is a false positive.

- precision = called flaky and planted intermittent / called flaky;
- precision against ``truth.flaky_tests`` alone = called flaky and planted flaky / called flaky
  (stricter: race-bug and SSH-timeout tests count against it);
- recall = planted flaky tests with rate >= ``min_rate`` called flaky (in their job) / those
  planted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gatewatch.demo import DemoTruth
from gatewatch.domain.health import HealthStatus, TestHealth
from gatewatch.domain.results import Outcome
from gatewatch.store import Store

FAILED = (Outcome.FAIL, Outcome.ERROR)


def uncategorized_tests(store: Store, truth: DemoTruth) -> set[str]:
    """Tests that failed in the builds of the planted uncategorized failures."""
    found: set[str] = set()
    with store.unit_of_work(readonly=True) as uow:
        for builds in truth.uncategorized.values():
            for uuid in builds:
                for run in uow.runs.get_for_build(uuid):
                    found |= {r.test_id for r in run.results if r.outcome in FAILED}
    return found


def planted_intermittent(store: Store, truth: DemoTruth) -> set[str]:
    """Flaky tests, race-bug tests and the tests uncategorized planted failures broke."""
    planted = {f.test_id for f in truth.flaky_tests} | {b.test_id for b in truth.bugs}
    return planted | uncategorized_tests(store, truth)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlakyScore:
    called_flaky: int
    precision: float | None  # vs planted intermittent tests
    precision_vs_flaky_tests: float | None  # vs truth.flaky_tests alone
    recall: float | None  # planted flaky tests with rate >= min_rate
    planted: int
    missed: tuple[tuple[str, str], ...]
    false_positives: tuple[tuple[str, str], ...]  # called flaky, not planted intermittent
    regression_called_flaky: bool


def score_flaky(
    store: Store, truth: DemoTruth, reported: Iterable[TestHealth], *, min_rate: float = 0.01
) -> FlakyScore:
    """Precision and recall of the flaky verdicts in ``reported`` (per (test, job))."""
    flaky = {(h.test_id, h.job_name) for h in reported if h.status == HealthStatus.FLAKY}
    intermittent = planted_intermittent(store, truth)
    planted_flaky = {f.test_id for f in truth.flaky_tests}
    planted = {(f.test_id, f.job_name) for f in truth.flaky_tests if f.rate >= min_rate}
    false = {k for k in flaky if k[0] not in intermittent}

    def share(num: int, den: int) -> float | None:
        return num / den if den else None

    return FlakyScore(
        called_flaky=len(flaky),
        precision=share(len(flaky) - len(false), len(flaky)),
        precision_vs_flaky_tests=share(sum(k[0] in planted_flaky for k in flaky), len(flaky)),
        recall=share(len(planted & flaky), len(planted)),
        planted=len(planted),
        missed=tuple(sorted(planted - flaky)),
        false_positives=tuple(sorted(false)),
        regression_called_flaky=any(k[0] == truth.regression.test_id for k in flaky),
    )
