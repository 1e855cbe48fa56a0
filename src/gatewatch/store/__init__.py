"""gatewatch.store."""
