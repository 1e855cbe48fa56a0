"""gatewatch.gate."""
