"""The gate strategies the simulator compares.

All but the oracle are ``gatewatch.gate.plan.step`` with different ``GateOptions``, so the
simulated Zuul pipeline is the very code the real gate runs, not a second model:

* ``serial``: one change at a time on the target (window fixed at 1);
* ``zuul``: Zuul's dependent pipeline with its defaults (window 20, floor 3, +1, halve);
* ``immediate-eject``: a GitHub/GitLab-style merge queue: speculative, but a failing item is
  ejected at once and those behind restart; a fixed build concurrency of 20 items;
* ``bors``: bors-ng: no speculation, every waiting change joins one batch, a failed batch is
  bisected;
* ``gatewatch``: Zuul plus flaky-aware retries, failure confirmation in a side lane, a
  window that shrinks by one instead of halving, and the fast lane (see docs/gate.md for
  why batching is off by default);
* ``gatewatch-batch``: gatewatch with batches of up to 4 changes (joined only while the
  last item still waits for nodes and the queue's recent failure rate is at most 20%);
* ``oracle``: knows every outcome; tests each good change once and never a bad one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gatewatch.domain.gate import GATEWATCH_DEFAULTS, GateOptions, WindowOptions
from gatewatch.errors import GateError


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategySpec:
    """A named strategy; ``options`` None means the oracle."""

    name: str
    options: GateOptions | None
    description: str = ""


STRATEGIES: dict[str, StrategySpec] = {
    s.name: s
    for s in (
        StrategySpec(
            name="serial",
            options=GateOptions(window=WindowOptions(start=1, floor=1, increase=0, ceiling=1)),
            description="one change at a time",
        ),
        StrategySpec(name="zuul", options=GateOptions(), description="Zuul dependent pipeline"),
        StrategySpec(
            name="immediate-eject",
            options=GateOptions(
                defer_ejection=False, window=WindowOptions(start=20, floor=20, increase=0, ceiling=20)
            ),
            description="GitHub/GitLab merge queue",
        ),
        StrategySpec(
            name="bors",
            options=GateOptions(
                batch_max_size=64, window=WindowOptions(start=1, floor=1, increase=0, ceiling=1)
            ),
            description="bors-ng batches + bisection",
        ),
        StrategySpec(
            name="gatewatch",
            options=GATEWATCH_DEFAULTS,
            description="Zuul + flaky retries + confirmation + gentle window",
        ),
        StrategySpec(
            name="gatewatch-batch",
            options=replace(GATEWATCH_DEFAULTS, batch_max_size=4, batch_max_failure_rate=0.2),
            description="gatewatch + batches of 4 while failure rate <= 20%",
        ),
        StrategySpec(name="oracle", options=None, description="knows every outcome"),
    )
}


def strategy(name: str) -> StrategySpec:
    """A named strategy; raises GateError naming the known ones."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise GateError(
            f"unknown gate strategy {name!r}", hint=f"use one of {', '.join(STRATEGIES)}"
        ) from None
