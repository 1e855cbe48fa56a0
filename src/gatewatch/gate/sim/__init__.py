"""gatewatch.gate.sim: a pure, seeded discrete-event simulator of gate strategies.

Every strategy but the oracle is ``gatewatch.gate.plan.step`` with different options, run
against the identical generated world for a seed. See docs/gate.md.
"""

from gatewatch.gate.sim.compare import Comparison, Estimate, StrategySummary, compare, render_comparison_table
from gatewatch.gate.sim.engine import simulate
from gatewatch.gate.sim.result import SimResult
from gatewatch.gate.sim.strategies import STRATEGIES, StrategySpec, strategy
from gatewatch.gate.sim.world import PRESETS, WorldSpec, preset

__all__ = [
    "PRESETS",
    "STRATEGIES",
    "Comparison",
    "Estimate",
    "SimResult",
    "StrategySpec",
    "StrategySummary",
    "WorldSpec",
    "compare",
    "preset",
    "render_comparison_table",
    "simulate",
    "strategy",
]
