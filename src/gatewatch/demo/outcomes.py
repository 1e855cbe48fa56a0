"""Roll the planted causes of one build: infra, race bugs, the SSH timeout, flaky tests (pure).

A build fails only through a planted cause. Infra failures stop the build before its tests
run, so they exclude every test-level cause. Among test-level causes a race bug and the SSH
timeout are exclusive (one draw); the regression and flaky tests are rolled independently,
so a failed build may list several causes (the documented combinations).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from gatewatch.demo.catalog import (
    BUGS,
    GRENADE_BROKEN_ID,
    INFRA_RATES,
    REGRESSION_JOB,
    SCENARIO_JOB,
    SSH_TIMEOUT_ID,
    SSH_TIMEOUT_RATE,
    BugSpec,
    FlakySpec,
    Infra,
    JobSpec,
    Kind,
    compute_flaky,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The rolled fate of one build."""

    result: str
    causes: tuple[str, ...] = ()
    infra: Infra | None = None
    bug: BugSpec | None = None
    ssh_timeout: bool = False
    regression: bool = False
    broken: bool = False
    flaky: tuple[tuple[str, tuple[bool, ...]], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """The regression window [start, end): builds of the regressed job starting inside fail."""

    start: datetime
    end: datetime

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end


CLEAN = Outcome(result="SUCCESS")
_INFRA_RESULT = {
    Infra.NODE_FAILURE: "NODE_FAILURE",
    Infra.DNS: "RETRY_LIMIT",
    Infra.MIRROR_503: "FAILURE",
    Infra.DISK_FULL: "FAILURE",
}


def _roll_infra(rng: random.Random) -> Infra | None:
    draw = rng.random()
    for kind, rate in INFRA_RATES:
        if draw < rate:
            return kind
        draw -= rate
    return None


def _roll_primary(rng: random.Random, job: JobSpec, density: float) -> tuple[BugSpec | None, bool]:
    """At most one race bug or the SSH timeout, from a single draw (rates scaled by ``density``)."""
    draw = rng.random() / density
    for bug in BUGS:
        if bug.job_name == job.name:
            if draw < bug.rate:
                return bug, False
            draw -= bug.rate
    if job.name == SCENARIO_JOB and draw < SSH_TIMEOUT_RATE:
        return None, True
    return None, False


def _roll_flaky(rng: random.Random, job: JobSpec) -> tuple[tuple[str, tuple[bool, ...]], ...]:
    rolls: list[tuple[str, tuple[bool, ...]]] = []
    for spec in _flaky_for(job.name):
        first = rng.random() < spec.rate
        if first and spec.retried:
            rolls.append((spec.test_id, (True, rng.random() < spec.rate)))
        else:
            rolls.append((spec.test_id, (first,)))
    return tuple(rolls)


def _flaky_for(job_name: str) -> tuple[FlakySpec, ...]:
    return tuple(spec for spec in compute_flaky() if spec.job_name == job_name)


def compute_outcome(
    rng: random.Random,
    *,
    job: JobSpec,
    start: datetime,
    window: Window | None,
    clean: bool = False,
    density: float = 1.0,
) -> Outcome:
    """Roll one build's planted causes; ``clean`` forces success (scripted changes).

    ``density`` multiplies the race-bug and SSH-timeout rates (the small world plants them
    more densely so a few hundred builds show each problem).
    """
    infra = _roll_infra(rng)
    if clean:
        return CLEAN
    if infra is not None:
        return Outcome(result=_INFRA_RESULT[infra], causes=(f"infra:{infra}",), infra=infra)
    if job.kind in (Kind.PLAIN, Kind.LINT, Kind.RALLY):
        return CLEAN
    causes: list[str] = []
    broken = job.voting is False
    if broken:
        causes.append(f"broken-job:{job.name}")
    regression = window is not None and job.name == REGRESSION_JOB and window.contains(start)
    if regression:
        causes.append("regression")
    bug, ssh = (None, False) if broken else _roll_primary(rng, job, density)
    if bug is not None:
        causes.append(f"bug:{bug.bug}")
    if ssh:
        causes.append(f"uncategorized:{SSH_TIMEOUT_ID}")
    flaky = _roll_flaky(rng, job)
    causes += [f"flaky:{test_id}" for test_id, attempts in flaky if attempts[-1]]
    return Outcome(
        result="FAILURE" if causes else "SUCCESS",
        causes=tuple(causes),
        bug=bug,
        ssh_timeout=ssh,
        regression=regression,
        broken=broken,
        flaky=flaky,
    )


__all__ = ["CLEAN", "GRENADE_BROKEN_ID", "Outcome", "Window", "compute_outcome"]
