"""gatewatch.services."""
