"""gatewatch.analyse.anomaly."""
