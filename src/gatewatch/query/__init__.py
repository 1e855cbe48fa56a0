"""gatewatch.query."""
