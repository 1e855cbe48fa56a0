"""gatewatch.analyse."""
