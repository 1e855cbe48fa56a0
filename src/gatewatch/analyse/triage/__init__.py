"""gatewatch.analyse.triage."""
