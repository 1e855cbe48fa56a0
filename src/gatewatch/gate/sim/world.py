"""The simulated world: arrivals, bad changes, flaky luck, conflicts, durations, nodes.

Every strategy meets the identical world for a seed. Per-change facts (bad, unmergeable,
urgent, which jobs a bad change breaks) are keyed by change id; per-build luck (flaky
failure, triage's classification, duration) is keyed by (tested set, job, attempt), where
the tested set is the unordered set of changes in the speculative stack and attempt counts
how often this strategy ran that job on that set. Two strategies that test the same set for
the same time face the same dice. Luck comes from a keyed hash (BLAKE2b), so no strategy can
shift another's random stream.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from statistics import NormalDist

from gatewatch.errors import GateError

_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True, kw_only=True)
class WorldSpec:
    """The parameters of a simulated project (times in hours, probabilities in [0, 1]).

    ``p_flaky_per_job``: a job fails with no fault of the tested changes; triage recognises
    such a failure (infra or a known bug) with ``p_classified`` and wrongly calls a real
    failure flaky with ``p_misclassified``. A bad change breaks about half of the jobs.
    An unmergeable change conflicts with the target (its speculative merge fails). A good
    change ejected by the gate is rechecked by its owner after ``recheck_delay_h``, at most
    ``max_rechecks`` times; bad and unmergeable changes are not.
    """

    name: str
    horizon_h: float = 24.0
    arrivals_per_h: float = 8.0
    backlog: int = 0
    p_bad: float = 0.05
    p_unmergeable: float = 0.01
    jobs: int = 8
    job_duration_h: float = 1.0
    duration_cv: float = 0.25
    p_flaky_per_job: float = 0.03
    p_classified: float = 0.8
    p_misclassified: float = 0.05
    nodes: int = 160
    p_urgent: float = 0.0
    recheck_delay_h: float = 1.0
    max_rechecks: int = 2


PRESETS: dict[str, WorldSpec] = {
    # OpenStack's integrated gate around 2013: ~1 h tempest-style jobs, 8 jobs per change,
    # 3% transient failures per job and 5% bad changes, so about a quarter of gate runs
    # fail (1 - 0.97**8 * 0.95 = 25%); more approved changes than the gate can land.
    "openstack-2013": WorldSpec(name="openstack-2013"),
    # A typical GitHub project with a merge queue: 3 jobs of ~15 minutes, 1% flaky jobs,
    # 8% bad changes, a change every 12 minutes, 30 runners.
    "github-typical": WorldSpec(
        name="github-typical",
        arrivals_per_h=5.0,
        p_bad=0.08,
        p_unmergeable=0.02,
        jobs=3,
        job_duration_h=0.25,
        duration_cv=0.3,
        p_flaky_per_job=0.01,
        nodes=30,
        recheck_delay_h=0.5,
    ),
    # A busy project whose gate is bound by nodes, not failures: 10 half-hour jobs per
    # change, 2% bad changes, 0.3% flaky jobs, 12 changes an hour, 40 nodes (8 changes/h).
    "node-bound-green": WorldSpec(
        name="node-bound-green",
        arrivals_per_h=12.0,
        p_bad=0.02,
        p_unmergeable=0.005,
        jobs=10,
        job_duration_h=0.5,
        p_flaky_per_job=0.003,
        nodes=40,
    ),
}


def preset(name: str) -> WorldSpec:
    """A named preset; raises GateError naming the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise GateError(
            f"unknown simulator preset {name!r}", hint=f"use one of {', '.join(PRESETS)}"
        ) from None


def compute_luck(seed: int, *key: object) -> float:
    """A uniform number in [0, 1) fixed by (seed, key)."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrival:
    at_h: float
    change_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildFate:
    """What happens to one build: its result, triage's verdict if it fails, how long it runs."""

    success: bool
    classification: str
    duration_h: float


def plan_arrivals(spec: WorldSpec, seed: int) -> tuple[Arrival, ...]:
    """A backlog at time 0, then Poisson arrivals until the horizon."""
    rng = random.Random(seed)
    arrivals = [Arrival(at_h=0.0, change_id=f"c{i:04d}") for i in range(spec.backlog)]
    at_h = 0.0
    while spec.arrivals_per_h > 0:
        at_h += rng.expovariate(spec.arrivals_per_h)
        if at_h >= spec.horizon_h:
            break
        arrivals.append(Arrival(at_h=at_h, change_id=f"c{len(arrivals):04d}"))
    return tuple(arrivals)


def is_bad(spec: WorldSpec, seed: int, change_id: str) -> bool:
    return compute_luck(seed, "bad", change_id) < spec.p_bad


def is_unmergeable(spec: WorldSpec, seed: int, change_id: str) -> bool:
    return compute_luck(seed, "conflict", change_id) < spec.p_unmergeable


def is_urgent(spec: WorldSpec, seed: int, change_id: str) -> bool:
    return compute_luck(seed, "urgent", change_id) < spec.p_urgent


def breaks_job(spec: WorldSpec, seed: int, change_id: str, job: int) -> bool:
    """Whether a bad change makes job ``job`` fail (half the jobs, and always at least one)."""
    if job == int(compute_luck(seed, "culprit-job", change_id) * spec.jobs):
        return True
    return compute_luck(seed, "breaks", change_id, job) < 0.5


def plan_build_fate(
    spec: WorldSpec, seed: int, *, stack: tuple[str, ...], job: int, attempt: int
) -> BuildFate:
    """The outcome of running ``job`` on the speculative ``stack`` for the ``attempt``-th time."""
    key = ("|".join(sorted(stack)), job, attempt)
    duration_h = compute_duration_h(spec, compute_luck(seed, "duration", *key))
    broken = any(is_bad(spec, seed, c) and breaks_job(spec, seed, c, job) for c in stack)
    if broken:
        wrong = compute_luck(seed, "misclassified", *key) < spec.p_misclassified
        return BuildFate(success=False, classification="known-flaky" if wrong else "", duration_h=duration_h)
    if compute_luck(seed, "flaky", *key) < spec.p_flaky_per_job:
        known = compute_luck(seed, "classified", *key) < spec.p_classified
        cut = 0.3 + 0.7 * compute_luck(seed, "cut", *key)
        return BuildFate(success=False, classification="infra" if known else "", duration_h=duration_h * cut)
    return BuildFate(success=True, classification="", duration_h=duration_h)


def compute_duration_h(spec: WorldSpec, u: float) -> float:
    """A log-normal duration with mean ``job_duration_h`` and coefficient of variation ``duration_cv``."""
    sigma = math.sqrt(math.log1p(spec.duration_cv**2))
    mu = math.log(spec.job_duration_h) - sigma**2 / 2
    z = _NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
    return math.exp(mu + sigma * z)
