"""Generate a realistic, seeded CI history of a fictional cloud platform (``gatewatch demo``).

The world model (``catalog``, ``world``, ``outcomes``, ``plan``) and the renderers
(``console``, ``failures``, ``results``, ``formats``, ``services``) are pure: they take the
seed and never read the clock. ``write`` is the I/O edge: it writes one directory per build,
day by day, and ``truth.json`` (the planted problems) last.
"""

from __future__ import annotations

from gatewatch.demo.plan import DemoOptions
from gatewatch.demo.truth import DemoTruth, load_truth
from gatewatch.demo.write import TRUTH_FILE, DemoBatch, generate_demo

__all__ = ["TRUTH_FILE", "DemoBatch", "DemoOptions", "DemoTruth", "generate_demo", "load_truth"]
