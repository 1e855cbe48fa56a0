"""gatewatch.analyse.health."""
