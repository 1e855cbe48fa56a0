"""gatewatch.analyse.perf."""
