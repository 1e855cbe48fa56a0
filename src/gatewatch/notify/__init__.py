"""gatewatch.notify."""
