"""gatewatch.web."""
