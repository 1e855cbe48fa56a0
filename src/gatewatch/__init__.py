"""gatewatch: make CI actionable for large projects.

Data flows ingest -> store -> analyse -> report, plus the gate. See docs/ and
ARCHITECTURE.md for the layout; pure packages (domain, ingest parsers, query,
analyse, gate.plan, notify rendering) never do I/O.
"""

__version__ = "0.1.0"
