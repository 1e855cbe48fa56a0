"""A seeded CI history simulator with planted test behaviours, for health tests and benchmarks.

Each run is one build: most test new code (a new change/patchset), some are rechecks of the
previous run's code. Planted tests: ``stable`` (never fails), ``flaky`` (each attempt fails
independently with ``rate``), ``broken`` (always fails), ``regression`` (fails every attempt
on changes [start, start + length): a real breakage, later fixed, that rechecks reproduce),
``dependency`` (fails every attempt of runs [start, start + length) whatever change they
test: a dependency broke it, so a recheck of a change tested before the window fails inside
it; ``length`` 0 means until the end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from gatewatch.domain.health import TestObservation
from gatewatch.domain.results import Outcome

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedTest:
    test_id: str
    kind: str  # stable | flaky | broken | regression | dependency
    rate: float = 0.0
    start: int = 0
    length: int = 0


def _fails(rng: np.random.Generator, test: PlantedTest, change: int, run: int) -> bool:
    if (
        test.kind == "dependency"
        and test.start <= run
        and (not test.length or run < test.start + test.length)
    ):
        return True
    if test.kind == "flaky" or (test.kind == "dependency" and test.rate > 0):
        return bool(rng.random() < test.rate)
    if test.kind == "broken":
        return True
    if test.kind == "regression":
        return test.start <= change < test.start + test.length
    return False


def simulate_history(
    rng: np.random.Generator,
    tests: list[PlantedTest],
    *,
    runs: int,
    retry: bool = True,
    recheck_rate: float = 0.2,
    job_name: str = "unit",
) -> list[TestObservation]:
    """Observations of ``runs`` runs of every planted test (one run per hour)."""
    out: list[TestObservation] = []
    change = 0
    for r in range(runs):
        if r == 0 or rng.random() >= recheck_rate:
            change += 1
        at = T0 + timedelta(hours=r)
        for t in tests:
            attempt = 1
            while True:
                failed = _fails(rng, t, change, r)
                out.append(
                    TestObservation(
                        test_id=t.test_id,
                        run_key=f"run-{r}",
                        build_uuid=f"b{r}",
                        job_name=job_name,
                        change=change,
                        patchset=1,
                        started_at=at,
                        attempt=attempt,
                        outcome=Outcome.FAIL if failed else Outcome.PASS,
                        duration_s=1.0,
                    )
                )
                if not (failed and retry and attempt == 1):
                    break
                attempt += 1
    return out


def planted_suite(
    rates: tuple[float, ...],
    *,
    per_rate: int,
    stable: int,
    regressions: int,
    runs: int,
    dependencies: int = 0,
) -> list[PlantedTest]:
    """``per_rate`` flaky tests per rate, stable tests, broken tests, regressions and
    ``dependencies`` tests broken by a dependency for 5-30 runs (then fixed)."""
    tests = [
        PlantedTest(test_id=f"flaky_{rate}_{i}", kind="flaky", rate=rate)
        for rate in rates
        for i in range(per_rate)
    ]
    tests += [PlantedTest(test_id=f"stable_{i}", kind="stable") for i in range(stable)]
    tests += [PlantedTest(test_id=f"broken_{i}", kind="broken") for i in range(2)]
    tests += [
        PlantedTest(
            test_id=f"regression_{i}",
            kind="regression",
            start=1 + (i * 37) % max(runs // 2, 1),
            length=1 + i % 6,
        )
        for i in range(regressions)
    ]
    tests += [
        PlantedTest(
            test_id=f"dependency_{i}",
            kind="dependency",
            start=runs // 4 + (i * 53) % max(runs // 2, 1),
            length=5 + (i * 7) % 26,
        )
        for i in range(dependencies)
    ]
    return tests


def at_hour(hour: float) -> datetime:
    """A timestamp ``hour`` hours after the simulator's epoch."""
    return T0 + timedelta(hours=hour)


def observation(test_id: str, run: int, outcome: str, **fields: object) -> TestObservation:
    """A compact observation for tables: ``run`` N -> run key ``run-N`` started at hour N,
    on change N patchset 1 unless ``change``/``started_at`` say otherwise."""
    values: dict[str, object] = {
        "run_key": f"run-{run}",
        "build_uuid": f"b{run}",
        "change": run,
        "patchset": 1,
        "started_at": at_hour(run),
    }
    values.update(fields)
    return TestObservation(test_id=test_id, outcome=Outcome(outcome), **values)  # type: ignore[arg-type]
