"""Compare strategies over many seeds: means with 95% confidence intervals, and a text table.

The interval is Student's t over per-seed values (each seed is one independent world), from
scipy's t distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from gatewatch.gate.sim.engine import simulate
from gatewatch.gate.sim.result import WASTE_CAUSES, SimResult
from gatewatch.gate.sim.strategies import StrategySpec, strategy
from gatewatch.gate.sim.world import WorldSpec, preset


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """A mean over seeds and the half-width of its 95% confidence interval."""

    mean: float
    half_width: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategySummary:
    strategy: str
    merged_per_h: Estimate
    ttm_p50_h: Estimate
    ttm_p95_h: Estimate
    node_h_per_merge: Estimate
    waste_per_merge: tuple[tuple[str, Estimate], ...]
    good_ejected: Estimate
    bad_merged: Estimate


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    world: WorldSpec
    seeds: tuple[int, ...]
    results: tuple[tuple[str, tuple[SimResult, ...]], ...]
    summaries: tuple[StrategySummary, ...]

    def summary(self, name: str) -> StrategySummary:
        return next(s for s in self.summaries if s.strategy == name)


def compute_estimate(values: Sequence[float]) -> Estimate:
    """Mean and 95% t-interval half-width (0 for fewer than 2 values); NaNs are dropped."""
    clean = [v for v in values if not math.isnan(v)]
    if not clean:
        return Estimate(mean=float("nan"), half_width=float("nan"))
    mean = sum(clean) / len(clean)
    if len(clean) < 2:
        return Estimate(mean=mean, half_width=0.0)
    sd = math.sqrt(sum((v - mean) ** 2 for v in clean) / (len(clean) - 1))
    return Estimate(
        mean=mean, half_width=float(stats.t.ppf(0.975, len(clean) - 1)) * sd / math.sqrt(len(clean))
    )


def compute_quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(name: str, runs: Sequence[SimResult]) -> StrategySummary:
    def per_merge(cause: str) -> Estimate:
        return compute_estimate([r.node_h_of(cause) / r.merged if r.merged else math.nan for r in runs])

    return StrategySummary(
        strategy=name,
        merged_per_h=compute_estimate([r.merged_per_h for r in runs]),
        ttm_p50_h=compute_estimate([compute_quantile(r.time_to_merge_h, 0.5) for r in runs]),
        ttm_p95_h=compute_estimate([compute_quantile(r.time_to_merge_h, 0.95) for r in runs]),
        node_h_per_merge=compute_estimate([r.node_h_per_merge for r in runs]),
        waste_per_merge=tuple((cause, per_merge(cause)) for cause in WASTE_CAUSES),
        good_ejected=compute_estimate([float(r.good_ejected) for r in runs]),
        bad_merged=compute_estimate([float(r.bad_merged) for r in runs]),
    )


def compare(
    world: WorldSpec | str, strategies: Sequence[StrategySpec | str], seeds: int | Sequence[int]
) -> Comparison:
    """Run every strategy on the same worlds (seeds 0..n-1, or the given seeds)."""
    spec = preset(world) if isinstance(world, str) else world
    chosen = [strategy(s) if isinstance(s, str) else s for s in strategies]
    seed_list = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
    results = tuple((s.name, tuple(simulate(spec, s, seed) for seed in seed_list)) for s in chosen)
    return Comparison(
        world=spec,
        seeds=seed_list,
        results=results,
        summaries=tuple(summarise(name, runs) for name, runs in results),
    )


def compute_share(comparison: Comparison, name: str, *, reference: str = "oracle") -> float | None:
    """``name``'s merged/h as a share of ``reference``'s; None when the reference was not run
    (or merged nothing), so no made-up number is shown."""
    ref = next((s for s in comparison.summaries if s.strategy == reference), None)
    if ref is None or not ref.merged_per_h.mean or math.isnan(ref.merged_per_h.mean):
        return None
    return comparison.summary(name).merged_per_h.mean / ref.merged_per_h.mean


def render_comparison_table(comparison: Comparison, *, reference: str = "oracle") -> str:
    """A plain-text table, one row per strategy; "vs oracle" is merged/h as a share of it
    ("n/a" when the reference strategy is not in the comparison)."""
    head = (
        f"{'strategy':<16} {'merged/h':>13} {'vs ' + reference:>10} {'p50 ttm h':>11} {'p95 ttm h':>11} "
        f"{'node-h/merge':>13} {'resets':>7} {'flaky':>6} {'bad':>6} {'wrong':>6} {'bisect':>6} "
        f"{'good eject':>11} {'bad merged':>10}"
    )
    lines = [
        f"world {comparison.world.name}: {len(comparison.seeds)} seeds, {comparison.world.horizon_h:g} h, "
        f"{comparison.world.nodes} nodes; mean ± 95% CI; waste columns are node-hours per merge",
        head,
        "-" * len(head),
    ]
    for s in comparison.summaries:
        share = compute_share(comparison, s.strategy, reference=reference)
        shown = "n/a" if share is None else f"{share:.0%}"
        waste = " ".join(
            f"{e.mean:>{w}.2f}" for (_, e), w in zip(s.waste_per_merge, (7, 6, 6, 6, 6), strict=True)
        )
        lines.append(
            f"{s.strategy:<16} {_pm(s.merged_per_h):>13} {shown:>10} {_pm(s.ttm_p50_h):>11} "
            f"{_pm(s.ttm_p95_h):>11} {_pm(s.node_h_per_merge):>13} {waste} "
            f"{_pm(s.good_ejected, 1):>11} {s.bad_merged.mean:>10.2f}"
        )
    return "\n".join(lines)


def _pm(estimate: Estimate, digits: int = 2) -> str:
    return f"{estimate.mean:.{digits}f}±{estimate.half_width:.{digits}f}"
