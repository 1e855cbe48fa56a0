"""What one simulation run measured."""

from __future__ import annotations

from dataclasses import dataclass

# Where node time went. "useful": builds of the buildset that merged; "resets": builds
# cancelled or thrown away because the stack under them changed; "flaky_retries": failed
# builds that were retried; "bad_changes": final builds of items rightly ejected;
# "wrong_ejections": final builds of good changes that were ejected; "bisection": builds of
# batches that failed and were split; "in_flight": builds still current at the horizon.
WASTE_CAUSES = ("resets", "flaky_retries", "bad_changes", "wrong_ejections", "bisection")
NODE_TIME_CATEGORIES = ("useful", *WASTE_CAUSES, "in_flight")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimResult:
    strategy: str
    world: str
    seed: int
    horizon_h: float
    arrived: int
    merged: int
    time_to_merge_h: tuple[float, ...]
    node_h: tuple[tuple[str, float], ...]
    good_ejected: int
    bad_merged: int

    @property
    def merged_per_h(self) -> float:
        return self.merged / self.horizon_h

    def node_h_of(self, category: str) -> float:
        return dict(self.node_h).get(category, 0.0)

    @property
    def node_h_total(self) -> float:
        return sum(h for _, h in self.node_h)

    @property
    def node_h_per_merge(self) -> float:
        """Node-hours spent (everything but work still in flight) per merged change."""
        spent = self.node_h_total - self.node_h_of("in_flight")
        return spent / self.merged if self.merged else float("nan")
